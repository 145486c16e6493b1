"""``vaekit similarity``: the examples' vae_clase submissions (the reference solution, blank, every mistake,
broken and hostile case; no kernel runs) plus two correct solutions written independently here, in different
styles, a copy of one of them with its variables renamed and its answer cells in reverse order, and a hostile
submission whose code and folder name are HTML. The copy must rank first, the independent solutions below the
threshold (against each other and against the reference), and the near-copies of the reference solution (the
mistake examples) must be one group, not N² pairs."""
from __future__ import annotations

import ast
import builtins
import copy
import io
import os
import shutil
import subprocess
import sys
import tokenize

import nbformat
import pytest

from autograder import similarity as sim
from autograder.course import new_course
from autograder.notebooks import REPO_ROOT, cells_by_grade_id, read, release_path

A = "vae_clase"
HOSTILE_NAME = "alu99_<em onmouseover=alert(3)>x"  # a folder name may hold HTML (no slash)
HOSTILE_CODE = ("def sample_images(decoder, n, latent_dim, seed=None):\n"
                "    page = '</pre><script>alert(1)</script>'\n"
                "    for attempt in range(3):\n"
                "        page = page + '<img src=x onerror=alert(2)>' * attempt\n"
                "    while len(page) < 1000:\n"
                "        page += str(len(page)) + page[:10]\n"
                "    return np.zeros((n, 28, 28, 1)) if page else None\n")

INDEP_A = {
"sampling": '''class Sampling(keras.layers.Layer):
    """z = z_mean + exp(0.5 * z_log_var) * eps, con eps ~ N(0, I) nuevo en cada llamada."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        sigma = ops.exp(z_log_var / 2.0)
        ruido = keras.random.normal(shape=ops.shape(z_mean), mean=0.0, stddev=1.0, seed=self.seed_generator)
        z = z_mean + sigma * ruido
        return z
''',
"kl_divergence": '''def kl_divergence(z_mean, z_log_var):
    """KL(q(z|x) || N(0, I)) por ejemplo: (batch, latent_dim) -> (batch,), suma sobre dimensiones latentes."""
    varianza = ops.exp(z_log_var)
    por_dimension = 0.5 * (varianza + z_mean ** 2 - 1.0 - z_log_var)
    return ops.sum(por_dimension, axis=1)
''',
"encoder": '''def build_encoder(latent_dim, input_shape=(28, 28, 1)):
    """Codificador: imagen (28, 28, 1) -> [z_mean, z_log_var, z], cada uno (batch, latent_dim)."""
    x_in = keras.Input(input_shape)
    plano = layers.Reshape((input_shape[0] * input_shape[1] * input_shape[2],))(x_in)
    oculta = layers.Dense(512, activation="relu")(plano)
    oculta = layers.Dense(128, activation="relu")(oculta)
    media = layers.Dense(latent_dim)(oculta)
    log_varianza = layers.Dense(latent_dim)(oculta)
    muestra = Sampling()((media, log_varianza))
    modelo = keras.Model(inputs=x_in, outputs=[media, log_varianza, muestra])
    return modelo
''',
"vae_model": '''class VAE(keras.Model):
    """VAE con pérdida = reconstrucción (BCE sumada sobre píxeles) + beta * KL, ambas medias sobre el batch."""

    def __init__(self, encoder, decoder, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = keras.Variable(beta, trainable=False, dtype="float32", name="beta")
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        return self.decoder(z_mean)

    def train_step(self, data):
        if isinstance(data, tuple):
            data = data[0]
        with tf.GradientTape() as cinta:
            mu, logvar, codigo = self.encoder(data)
            x_rec = self.decoder(codigo)
            eps = 1e-7
            x_rec = ops.clip(x_rec, eps, 1.0 - eps)
            bce = -(data * ops.log(x_rec) + (1.0 - data) * ops.log(1.0 - x_rec))
            rec = ops.mean(ops.sum(ops.reshape(bce, (ops.shape(bce)[0], -1)), axis=1))
            kl = ops.mean(kl_divergence(mu, logvar))
            perdida = rec + self.beta * kl
        variables = self.trainable_variables
        gradientes = cinta.gradient(perdida, variables)
        self.optimizer.apply_gradients(list(zip(gradientes, variables)))
        for tracker, valor in ((self.total_loss_tracker, perdida), (self.reconstruction_loss_tracker, rec),
                               (self.kl_loss_tracker, kl)):
            tracker.update_state(valor)
        return {"loss": self.total_loss_tracker.result(),
                "reconstruction_loss": self.reconstruction_loss_tracker.result(),
                "kl_loss": self.kl_loss_tracker.result()}
''',
"sample_images": '''def sample_images(decoder, n, latent_dim, seed=None):
    """n imágenes (n, 28, 28, 1) en [0, 1] decodificadas de z ~ N(0, I)."""
    generador = np.random.RandomState(seed)
    codigos = generador.normal(size=(n, latent_dim)).astype(np.float32)
    imagenes = decoder(codigos, training=False)
    return np.asarray(imagenes)
''',
"interpolate": '''def interpolate(encoder, decoder, x_a, x_b, steps=10):
    """steps fotogramas (steps, 28, 28, 1): decodificación del segmento z_mean(x_a) -> z_mean(x_b), extremos incluidos."""
    medias = encoder(np.array([x_a, x_b]), training=False)[0]
    medias = np.asarray(medias)
    fotogramas = []
    for paso in range(steps):
        alfa = paso / (steps - 1)
        z = medias[0] + alfa * (medias[1] - medias[0])
        fotogramas.append(z)
    salida = decoder(np.stack(fotogramas).astype("float32"), training=False)
    return np.asarray(salida)
''',
}

INDEP_B = {
"sampling": '''class Sampling(keras.layers.Layer):
    """z = z_mean + exp(0.5 * z_log_var) * eps, con eps ~ N(0, I) nuevo en cada llamada."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs[0], inputs[1]
        batch = ops.shape(mean)[0]
        dim = ops.shape(mean)[1]
        epsilon = keras.random.normal((batch, dim), seed=self.seed_generator)
        return ops.add(mean, ops.multiply(ops.exp(ops.multiply(0.5, log_var)), epsilon))
''',
"kl_divergence": '''def kl_divergence(z_mean, z_log_var):
    """KL(q(z|x) || N(0, I)) por ejemplo: (batch, latent_dim) -> (batch,), suma sobre dimensiones latentes."""
    terms = 1 + z_log_var - ops.power(z_mean, 2) - ops.exp(z_log_var)
    kl = ops.multiply(-0.5, ops.sum(terms, axis=-1))
    return kl
''',
"encoder": '''def build_encoder(latent_dim, input_shape=(28, 28, 1)):
    """Codificador: imagen (28, 28, 1) -> [z_mean, z_log_var, z], cada uno (batch, latent_dim)."""
    body = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Flatten(),
        layers.Dense(400),
        layers.LeakyReLU(),
    ], name="body")
    image = keras.Input(shape=input_shape, name="image")
    features = body(image)
    mu = layers.Dense(latent_dim, name="mu")(features)
    lv = layers.Dense(latent_dim, name="lv")(features)
    return keras.Model(image, [mu, lv, Sampling(seed=1)([mu, lv])])
''',
"vae_model": '''class VAE(keras.Model):
    """VAE con pérdida = reconstrucción (BCE sumada sobre píxeles) + beta * KL, ambas medias sobre el batch."""

    def __init__(self, encoder, decoder, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = keras.Variable(beta, trainable=False, dtype="float32", name="beta")
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        return self.decoder(z_mean)

    def train_step(self, data):
        x = data
        with tf.GradientTape() as g:
            outs = self.encoder(x, training=True)
            x_hat = self.decoder(outs[2], training=True)
            per_pixel = keras.ops.binary_crossentropy(x, x_hat)
            recon = keras.ops.mean(keras.ops.sum(per_pixel, axis=[1, 2, 3]))
            kl_term = keras.ops.mean(kl_divergence(outs[0], outs[1]))
            loss = recon + self.beta * kl_term
        weights = self.trainable_weights
        self.optimizer.apply(g.gradient(loss, weights), weights)
        self.total_loss_tracker.update_state(loss)
        self.reconstruction_loss_tracker.update_state(recon)
        self.kl_loss_tracker.update_state(kl_term)
        out = {}
        for metric in self.metrics:
            out[metric.name] = metric.result()
        return out
''',
"sample_images": '''def sample_images(decoder, n, latent_dim, seed=None):
    """n imágenes (n, 28, 28, 1) en [0, 1] decodificadas de z ~ N(0, I)."""
    z = keras.random.normal((n, latent_dim), seed=seed)
    return keras.ops.convert_to_numpy(decoder.predict(z, batch_size=256, verbose=0))
''',
"interpolate": '''def interpolate(encoder, decoder, x_a, x_b, steps=10):
    """steps fotogramas (steps, 28, 28, 1): decodificación del segmento z_mean(x_a) -> z_mean(x_b), extremos incluidos."""
    za = encoder.predict(x_a[None, ...], verbose=0)[0][0]
    zb = encoder.predict(x_b[None, ...], verbose=0)[0][0]
    weights = np.linspace(0, 1, num=steps).reshape(-1, 1)
    path = za[None, :] * (1 - weights) + zb[None, :] * weights
    return decoder.predict(path, verbose=0)
''',
}


def renamed(source: str) -> str:
    """``source`` with every local name (arguments, assigned names) renamed, as a copier hiding a copy would."""
    keep = set(dir(builtins)) | {"self", "keras", "ops", "np", "tf", "layers", "kl_divergence", "Sampling", "VAE"}
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    mapping = {n: f"v{i}_{n[::-1]}" for i, n in enumerate(sorted(names - keep))}
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    out = []
    for i, t in enumerate(tokens):
        before = tokens[i - 1].string if i else ""
        after = tokens[i + 1].string if i + 1 < len(tokens) else ""
        keyword_argument = after == "=" and before in ("(", ",")
        if t.type == tokenize.NAME and t.string in mapping and before != "." and not keyword_argument:
            t = t._replace(string=mapping[t.string])
        out.append(t)
    return tokenize.untokenize(out)


def submission(cells: dict[str, str], reverse: bool = False):
    """The release notebook with ``cells`` (grade_id -> source) filled in; ``reverse``: answer cells reordered."""
    nb = copy.deepcopy(read(release_path(A)))
    for gid, cell in cells_by_grade_id(nb).items():
        if gid in cells:
            cell.source = cells[gid]
    if reverse:
        at = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and
              c.get("metadata", {}).get("nbgrader", {}).get("solution")]
        for i, cell in zip(at, [nb.cells[i] for i in at][::-1]):
            nb.cells[i] = cell
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("similitud"), (A,))
    course.release_notebook(A).parent.mkdir(parents=True)
    shutil.copy(release_path(A), course.release_notebook(A))
    for folder in sorted((REPO_ROOT / "examples" / "submitted").glob(f"*/{A}")):
        shutil.copytree(folder, course.submitted / folder.parent.name / A, symlinks=True)
    solution = {gid: c.source for gid, c in cells_by_grade_id(read(course.submitted_notebook("alu01_correcta", A))).items()
                if c.cell_type == "code" and c.metadata["nbgrader"].get("solution")}
    made = {
        "alu90_independiente_a": submission(INDEP_A),
        "alu91_independiente_b": submission(INDEP_B),
        "alu92_copia_de_a": submission({gid: renamed(src) for gid, src in INDEP_A.items()}, reverse=True),
        "alu93_copia_de_la_solucion": submission({gid: renamed(src) for gid, src in solution.items()}, reverse=True),
        # copies two of B's answers, and its own code and folder name are HTML
        HOSTILE_NAME: submission({"encoder": INDEP_B["encoder"], "vae_model": INDEP_B["vae_model"],
                                  "sample_images": HOSTILE_CODE}),
    }
    for student, nb in made.items():
        path = course.submitted_notebook(student, A)
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    # a notebook that is a link to the instructor's solution, and one that is a named pipe: neither is read
    for student in ("alu94_enlace", "alu95_tuberia"):
        course.submitted_notebook(student, A).parent.mkdir(parents=True)
    course.submitted_notebook("alu94_enlace", A).symlink_to(course.root / "source" / A / f"{A}.ipynb")
    os.mkfifo(course.submitted_notebook("alu95_tuberia", A))
    return course


@pytest.fixture(scope="module")
def report(course):
    path, rep = sim.write_similarity(course, A)
    print("\n" + sim.summary(rep, path))
    return path, rep


def score(rep, a, b) -> float:
    """The pair's score whether it is listed or not (recomputed the same way)."""
    listed = rep.pair(a, b)
    if listed:
        return listed.score
    pairs, _, _ = sim.compare({s: rep.answers[s] for s in (a, b)},
                              sim.boilerplate_texts(read(release_path(A))), None, threshold=0.0)
    return pairs[0].score if pairs else 0.0


def test_the_renamed_reordered_copy_ranks_first(report):
    _, rep = report
    top = rep.pairs[0]
    assert {top.a, top.b} == {"alu90_independiente_a", "alu92_copia_de_a"}, rep.pairs[:3]
    assert top.score >= 0.9 and min(top.share_a, top.share_b) >= 0.9
    assert "kl_divergence" in sim._cells_touched(rep.answers[top.a], top.slices_a)


def test_independent_solutions_score_below_the_threshold(report):
    _, rep = report
    a, b = "alu90_independiente_a", "alu91_independiente_b"
    for x, y in ((a, b), (a, "alu01_correcta"), (b, "alu01_correcta")):
        value = score(rep, x, y)
        print(f"{x} — {y}: {value:.2f}")
        assert value < sim.THRESHOLD - 0.2, (x, y, value)
        assert rep.pair(x, y) is None
    ref = rep.reference_group
    assert a not in ref.members and b not in ref.members


def test_the_reference_solution_is_one_group_not_n_squared_pairs(report):
    _, rep = report
    ref = rep.reference_group
    mistakes = [s for s in rep.compared if s.startswith("alu") and s[3:5].isdigit() and int(s[3:5]) < 50]
    assert "alu01_correcta" in ref.members and "alu93_copia_de_la_solucion" in ref.members
    assert set(mistakes) - {"alu02_en_blanco"} <= set(ref.members), set(mistakes) - set(ref.members)
    assert len(ref.members) >= 40
    # near-copies of the solution are not listed pair by pair: only code of their own beyond it could make a pair
    inside = [p for p in rep.pairs if p.a in ref.members and p.b in ref.members]
    assert all(p.own_code and p.tokens >= sim.MIN_SHARED_TOKENS for p in inside)
    assert len(rep.pairs) < 10
    # each member says which of its cells differ from the solution: a mistake example differs in its one cell
    assert ref.differing["alu01_correcta"] == []
    assert ref.differing["alu03_kl_sign_flipped"] == ["kl_divergence"]


def test_blank_corrupt_linked_and_pipe_submissions_are_listed_apart(report):
    _, rep = report
    assert "alu02_en_blanco" in rep.empty and "alu02_en_blanco" not in rep.compared
    assert "alu52_json_corrupto" in rep.unreadable
    for student in ("alu94_enlace", "alu95_tuberia"):  # read through the intake gate: never followed, never blocks
        assert student in rep.unreadable and "no se leyó" in rep.unreadable[student], rep.unreadable.get(student)


def test_the_page_escapes_student_text_and_highlights_matches(report):
    path, rep = report
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="es">' in page
    assert "Content-Security-Policy" in page and "<script" not in page.replace("&lt;script", "")
    assert "<em onmouseover" not in page and "alu99_&lt;em onmouseover=alert(3)&gt;x" in page
    hostile = rep.pair(HOSTILE_NAME, "alu91_independiente_b")
    assert hostile is not None and hostile.score >= sim.THRESHOLD  # listed, code shown side by side
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<img src=x" not in page
    top = rep.pairs[0]
    assert page.index(top.a) < page.index("Grupo 1")  # pairs (sorted) come before the groups
    assert page.count("<mark>") >= 10
    assert "solución de referencia" in page


def test_vaekit_similarity_command(course, report):
    run = subprocess.run([sys.executable, "-m", "autograder.cli", "--course", str(course.root), "similarity", A,
                          "--threshold", "0.6"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "alu92_copia_de_a" in run.stdout and "similitud.html" in run.stdout
    assert run.stderr.strip() == ""  # quiet: no library warnings
