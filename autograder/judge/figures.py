"""Small figures for the feedback page, drawn from the evidence the judge already holds (no extra kernel work).

Each figure puts the student's own result on the judge's probe (left or top panel) next to the reference computed
the same way (right or bottom panel), with a Spanish alt text that says what both show in numbers. A figure shows
arrays only: the student's outputs and the reference's output on the probe, never code or hidden-test text.

``for_part(grade_id, evidence, probe, config)`` → list of dicts (JSON-ready, stored in the verdict):
``png`` (base64 PNG, a few KB), ``alt`` (Spanish), ``caption`` (Spanish, one line), ``panels`` (pixel boxes
[x0, y0, x1, y1], top-left origin, of the student's and the reference's panels, for tests and readers), ``matches``
(bool: the student's result agrees with the reference's). Any failure (missing or malformed evidence) gives no
figure; grading never depends on it.
"""
from __future__ import annotations

import base64
import io
import warnings

import numpy as np

DPI = 80
COLOURS = 32  # palette PNG: a few KB per figure
STUDENT, REFERENCE = "#1f5fa6", "#b34700"  # titles: blue / dark orange, ≥ 4.5:1 on white
INK = "#1f5fa6"  # the data, drawn alike in both panels: equal results give equal panels


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _axes_pair(fig, left: int, right: int, top: int, bottom: int, gap: int, vertical: bool = False) -> list:
    """Two axes of the same size at whole-pixel positions (margins in pixels), side by side or one above the other:
    the same data draws the same pixels in both panels."""
    width, height = (int(round(v * DPI)) for v in fig.get_size_inches())
    if vertical:
        w, h = width - left - right, (height - top - bottom - gap) // 2
        rects = [(left, bottom + h + gap, w, h), (left, bottom, w, h)]
    else:
        w, h = (width - left - right - gap) // 2, height - top - bottom
        rects = [(left, bottom, w, h), (left + w + gap, bottom, w, h)]
    return [fig.add_axes([x / width, y / height, w / width, h / height]) for x, y, w, h in rects]


def _encode(fig, axes_pair, alt: str, caption: str, matches: bool) -> dict:
    """The figure as a palette PNG (deterministic bytes) with its two panels' pixel boxes."""
    canvas = fig.canvas
    canvas.draw()
    height = canvas.get_width_height()[1]
    panels = []
    for ax in axes_pair:
        box = ax.get_window_extent()
        panels.append([int(round(box.x0)), int(round(height - box.y1)), int(round(box.x1)),
                       int(round(height - box.y0))])
    from PIL import Image

    rgba = np.asarray(canvas.buffer_rgba())
    image = Image.fromarray(rgba[..., :3]).quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT, dither=0)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)  # a small palette PNG; no timestamp: the same bytes every time
    return {"png": base64.b64encode(buf.getvalue()).decode("ascii"), "alt": alt, "caption": caption,
            "panels": panels, "matches": bool(matches)}


def _mosaic(images: np.ndarray, columns: int) -> np.ndarray:
    """(n, 28, 28[, 1]) → one (rows·28, columns·28) image, clipped to [0, 1]; blank cells when n < rows·columns."""
    images = np.clip(np.asarray(images, "float64").reshape(len(images), 28, 28), 0.0, 1.0)
    rows = max(1, -(-len(images) // columns))
    out = np.ones((rows * 28, columns * 28))
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28] = image
    return out


def _images_pair(student: np.ndarray, reference: np.ndarray, columns: int, titles: tuple[str, str],
                 vertical: bool) -> tuple:
    fig = _figure(3.6, 1.9) if vertical else _figure(4.2, 1.45)  # about one screen pixel per image pixel
    axes = _axes_pair(fig, 6, 6, 20, 4, 22, vertical=True) if vertical else _axes_pair(fig, 6, 6, 22, 4, 10)
    for ax, images, title, colour in zip(axes, (student, reference), titles, (STUDENT, REFERENCE)):
        ax.imshow(_mosaic(images, columns), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(title, fontsize=8, color=colour, loc="left")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def _bars_pair(student: np.ndarray, reference: np.ndarray, xlabel: str, ylabel: str, titles: tuple[str, str]) -> tuple:
    fig = _figure(5.6, 2.1)
    axes = _axes_pair(fig, 46, 4, 24, 34, 20)
    values = np.concatenate([np.ravel(student), np.ravel(reference)])
    low, high = float(min(0.0, values.min())), float(max(0.0, values.max()))
    pad = 0.08 * (high - low or 1.0)
    for ax, data, title, colour in zip(axes, (student, reference), titles, (STUDENT, REFERENCE)):
        data = np.ravel(data)
        ax.bar(np.arange(len(data)), data, color=INK, width=0.7)
        ax.axhline(0.0, color="#333", linewidth=0.6)
        ax.set_ylim(low - pad, high + pad)
        ax.set_title(title, fontsize=8, color=colour, loc="left")
        ax.set_xlabel(xlabel, fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_xticks(np.arange(len(data)))
        ax.set_xticklabels([str(j) for j in range(len(data))], fontsize=5)
    axes[0].set_ylabel(ylabel, fontsize=7)
    return fig, axes


def _histograms_pair(student: np.ndarray, reference: np.ndarray, bins: np.ndarray, xlabel: str,
                     titles: tuple[str, str], curve=None, band: tuple[float, float] | None = None) -> tuple:
    fig = _figure(5.6, 2.0)
    axes = _axes_pair(fig, 8, 4, 22, 34, 16)
    counts = [np.histogram(np.clip(np.ravel(d), bins[0], bins[-1]), bins=bins, density=True)[0]
              for d in (student, reference)]
    top = max(float(max(c.max() for c in counts)), float(curve[1].max()) if curve is not None else 0.0) * 1.1 or 1.0
    for ax, count, title, colour in zip(axes, counts, titles, (STUDENT, REFERENCE)):
        if band is not None:
            ax.axvspan(*band, color="#e8e8e8", zorder=0)
        ax.stairs(count, bins, fill=True, color=INK, alpha=0.85)
        if curve is not None:
            ax.plot(curve[0], curve[1], color="#222", linewidth=1.0, linestyle="--")
        ax.set_xlim(bins[0], bins[-1])
        ax.set_ylim(0, top)
        ax.set_title(title, fontsize=8, color=colour, loc="left")
        ax.set_xlabel(xlabel, fontsize=7)
        ax.set_yticks([])
        ax.tick_params(labelsize=6)
    return fig, axes


def _fmt(x) -> str:
    return np.format_float_positional(float(x), precision=2, trim="-")


def _vector(values) -> str:
    return "[" + ", ".join(_fmt(v) for v in np.ravel(values)) + "]"


# one function per part ------------------------------------------------------------------------------------------
def sample_images(ev, probe, config) -> list[dict]:
    from autograder.judge.sample_images import _decoder, _prior_problem

    decoder = _decoder(probe)
    k = probe["W"].shape[0]
    out = []
    codes_student = decoder.recover_codes(np.asarray(ev["prior"], "float64"))[0] if "prior" in ev else None
    codes_reference = np.random.default_rng(1).standard_normal((2000, k))
    matches = codes_student is not None and _prior_problem(codes_student) is None
    if "small" in ev and np.asarray(ev["small"]).size and np.asarray(ev["small"]).size % 784 == 0:
        student = np.asarray(ev["small"], "float64").reshape(-1, 28, 28)[:8]
        reference = decoder.decode(np.random.default_rng(0).standard_normal((16, k)))[:8]
        fig, axes = _images_pair(student, reference, 4, ("tu sample_images", "referencia"), vertical=False)
        same = student.shape == reference.shape and np.allclose(student, reference, atol=1e-3)
        alt = ("Dos mosaicos de 8 imágenes de 28×28 píxeles generadas con el decodificador de prueba del juez "
               f"(latent_dim = {k}, semilla 0). Izquierda: las de tu sample_images; derecha: las de la referencia, "
               "que decodifica z ~ N(0, I). " + ("Son iguales píxel a píxel. " if same else
                                                 "No tienen por qué ser iguales píxel a píxel si usas otro generador "
                                                 "aleatorio; lo que cuenta es que z siga N(0, I) (figura siguiente). ")
               + ("Sus códigos siguen N(0, I)." if matches else "Sus códigos no siguen N(0, I)."))
        out.append(_encode(fig, axes, alt, "Muestras con el decodificador de prueba: las tuyas y las de la referencia",
                           matches))
    if codes_student is not None:
        xs = np.linspace(-4, 4, 161)
        density = np.exp(-0.5 * xs ** 2) / np.sqrt(2 * np.pi)
        fig, axes = _histograms_pair(codes_student, codes_reference, np.linspace(-4, 4, 33),
                                     "valor de z (todas las dimensiones)", ("tus códigos z", "referencia: N(0, I)"),
                                     curve=(xs, density))
        alt = ("Dos histogramas de los códigos z de 2000 muestras, recuperados de las imágenes con el decodificador "
               "de prueba; la línea discontinua es la densidad de N(0, 1). Tus códigos: media "
               f"{_fmt(codes_student.mean())}, desviación típica {_fmt(codes_student.std())}. Referencia: media "
               f"{_fmt(codes_reference.mean())}, desviación típica {_fmt(codes_reference.std())}. "
               + ("Tus códigos siguen N(0, I)." if matches else "Tus códigos no siguen N(0, I)."))
        out.append(_encode(fig, axes, alt, "Los códigos z de tus muestras frente a N(0, I)", matches))
    return out


def interpolate(ev, probe, config) -> list[dict]:
    from autograder.judge.interpolate import _STEPS
    from autograder.judge._probes import LinearDecoder, LinearEncoder

    frames = np.asarray(ev["frames"], "float64")
    if frames.ndim < 1 or frames.size == 0 or frames.size % 784:
        return []
    frames = frames.reshape(-1, 28, 28)[:10]
    encoder = LinearEncoder.__new__(LinearEncoder)
    encoder.A = probe["A"]
    decoder = LinearDecoder.__new__(LinearDecoder)
    decoder.W, decoder.b = probe["W"], probe["b"]
    z_a, z_b = encoder.z_mean(probe["x_a"][None])[0], encoder.z_mean(probe["x_b"][None])[0]
    t = np.linspace(0.0, 1.0, _STEPS)[:, None]
    reference = decoder.decode((1 - t) * z_a + t * z_b).reshape(-1, 28, 28)
    matches = frames.shape == reference.shape and np.max(np.abs(frames - reference)) < 5e-3
    columns = max(len(frames), _STEPS)
    fig, axes = _images_pair(frames, reference, columns, (f"tu interpolate (steps={_STEPS})", "referencia"),
                             vertical=True)
    gap = float(np.max(np.abs(frames - reference))) if frames.shape == reference.shape else None
    alt = (f"Dos tiras de fotogramas de 28×28 píxeles entre dos imágenes de prueba, con el codificador y el "
           f"decodificador de prueba del juez y steps = {_STEPS}. Arriba: los {len(frames)} fotogramas de tu "
           f"interpolate; abajo: los {_STEPS} de la referencia, que decodifica el segmento entre z_mean(x_a) y "
           "z_mean(x_b) en pasos iguales. "
           + ("Coinciden." if matches else
              f"No coinciden (diferencia máxima por píxel {_fmt(gap)})." if gap is not None else
              "No coinciden: tu interpolate devolvió otro número de fotogramas."))
    return [_encode(fig, axes, alt, "Tu interpolación y la de la referencia, fotograma a fotograma", matches)]


def kl(ev, probe, config) -> list[dict]:
    import vae_lib

    student = np.asarray(ev["kl"], "float64")
    if student.size == 0 or not np.all(np.isfinite(student)):
        return []
    reference = np.asarray(vae_lib.kl_divergence(probe["z_mean"], probe["z_log_var"]), "float64")
    shown = np.ravel(student)[:len(reference)]
    matches = student.shape == reference.shape and np.allclose(student, reference, rtol=1e-4, atol=1e-4)
    fig, axes = _bars_pair(shown, reference, "ejemplo de prueba", "KL", ("tu kl_divergence", "forma cerrada"))
    shape_note = "" if student.shape == reference.shape else (
        f" Tu función devolvió forma {student.shape} en lugar de {reference.shape}; se muestran sus primeros "
        f"{len(shown)} valores.")
    alt = (f"Dos diagramas de barras con el KL de {len(reference)} ejemplos de prueba (μ y log σ² fijados por el "
           f"juez). Izquierda, tu kl_divergence: de {_fmt(shown.min())} a {_fmt(shown.max())}. Derecha, la forma "
           f"cerrada −0.5·Σ(1 + log σ² − μ² − σ²): de {_fmt(reference.min())} a {_fmt(reference.max())}. "
           + ("Coinciden." if matches else "No coinciden.") + shape_note)
    return [_encode(fig, axes, alt, "Tu KL y la forma cerrada sobre los ejemplos de prueba", matches)]


def sampling(ev, probe, config) -> list[dict]:
    from autograder.judge.sampling import _LOG_VAR, _MU

    z = np.asarray(ev["z"], "float64")
    if z.ndim != 2 or z.shape[1] != len(_MU) or not np.all(np.isfinite(z)):
        return []
    mean, std = z.mean(axis=0), z.std(axis=0)
    sigma = np.exp(0.5 * _LOG_VAR.astype("float64"))
    matches = bool(np.all(np.abs(mean - _MU) < 0.08 * np.maximum(1.0, sigma)) and np.allclose(std, sigma, rtol=0.06))
    fig, axes = _bars_pair(std, sigma, "dimensión latente", "desviación típica de z",
                           ("tu Sampling: desviación típica de z", "referencia: σ = exp(0.5·log σ²)"))
    alt = (f"Dos diagramas de barras, una por dimensión latente ({len(_MU)}), con la desviación típica de z sobre "
           f"{len(z)} filas con los mismos μ y log σ². Tu Sampling: medias "
           f"{_vector(mean)}, desviaciones {_vector(std)}. Referencia: μ = {_vector(_MU)}, σ = exp(0.5·log σ²) = "
           f"{_vector(sigma)}. " + ("Coinciden." if matches else "No coinciden."))
    return [_encode(fig, axes, alt, "La dispersión de tus z frente a σ", matches)]


def decoder(ev, probe, config) -> list[dict]:
    from autograder.judge._probes import LinearDecoder

    parts = [np.asarray(ev[key], "float64") for key in ("images", "images_far") if key in ev]
    parts = [p for p in parts if p.size and p.size % 784 == 0]  # images, whatever their layout
    if not parts:
        return []
    student = np.concatenate([p.ravel() for p in parts])
    student = student[np.isfinite(student)]
    if student.size == 0:
        return []
    z = np.asarray(probe["z"], "float64")
    reference_decoder = LinearDecoder(z.shape[1], seed=6158)
    reference = np.concatenate([reference_decoder.decode(z).ravel(), reference_decoder.decode(30.0 * z).ravel()])
    low, high = float(min(-0.1, np.percentile(student, 0.5))), float(max(1.1, np.percentile(student, 99.5)))
    spread = float(np.asarray(ev["images"], "float64").reshape(len(z), -1).std(axis=0).mean()) \
        if "images" in ev and np.asarray(ev["images"]).size == len(z) * 784 else None
    inside = float(np.mean((student >= 0.0) & (student <= 1.0)))
    matches = inside == 1.0 and (spread is None or spread > 1e-5)
    fig, axes = _histograms_pair(student, reference, np.linspace(low, high, 41), "valor de salida (píxel)",
                                 ("tu build_decoder", "referencia: salida sigmoid"), band=(0.0, 1.0))
    alt = (f"Dos histogramas de los valores de salida por píxel para {len(z)} códigos z ~ N(0, I) y los mismos "
           "multiplicados por 30; la franja gris marca el intervalo [0, 1]. Tu build_decoder: de "
           f"{_fmt(student.min())} a {_fmt(student.max())}, {100 * inside:.0f} % dentro de [0, 1]"
           + (f", desviación media entre códigos {_fmt(spread)}" if spread is not None else "")
           + ". Referencia (un decodificador con salida sigmoid del juez): siempre dentro de [0, 1]. "
           + ("Tu salida está en [0, 1] y depende de z." if matches else "Tu salida no es la de una sigmoid."))
    return [_encode(fig, axes, alt, "Los valores que produce tu decodificador frente a una salida sigmoid", matches)]


def sample_class(ev, probe, config) -> list[dict]:
    """The label vector the student's sample_class gave the judge's conditional probe decoder (recovered from its
    images, mean over the 1000 images of the requested class) next to the one-hot of that class."""
    from autograder.judge._probes import LinearCondDecoder

    images = np.asarray(ev["prior"], "float64")
    if images.size == 0 or images.size % 784:
        return []
    _, labels, _ = LinearCondDecoder.from_arrays(probe).recover(images.reshape(-1, 28, 28, 1))
    wanted = int(probe["class_id"])
    student, reference = labels.mean(axis=0), np.eye(labels.shape[1])[wanted]
    if not np.all(np.isfinite(student)):
        return []
    matches = bool(np.allclose(labels, reference, atol=1e-3))
    fig, axes = _bars_pair(student, reference, "clase", "peso en la etiqueta",
                           ("tu etiqueta (sample_class)", f"referencia: one-hot de {wanted}"))
    alt = (f"Dos diagramas de barras, una barra por clase (0 a {labels.shape[1] - 1}): la etiqueta que recibió el "
           "decodificador de prueba del juez, recuperada de las 1000 imágenes que tu sample_class generó al pedirle "
           f"la clase {wanted}. Tu etiqueta: la barra más alta es la de la clase {int(np.argmax(student))} "
           f"({_fmt(student.max())}). Referencia: el one-hot de la clase {wanted}, 1 en su barra y 0 en las demás. "
           + ("Coinciden." if matches else "No coinciden."))
    return [_encode(fig, axes, alt, "La etiqueta que recibe el decodificador frente al one-hot de la clase pedida",
                    matches)]


MAKERS = {"test_sample_images": sample_images, "test_interpolate": interpolate, "test_kl_divergence": kl,
          "test_sampling": sampling, "test_decoder": decoder, "test_sample_class": sample_class}  # by grade id


def for_part(grade_id: str, evidence, probe: dict, config: dict) -> list[dict]:
    """The part's figures (see the module doc); [] when it has none or its evidence cannot be drawn."""
    maker = MAKERS.get(grade_id)
    if maker is None:
        return []
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return maker(evidence, probe, config)
    except Exception:  # noqa: BLE001 (a figure is a courtesy: malformed evidence just means no figure)
        return []
