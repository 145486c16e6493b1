"""sample_class(decoder, class_id, n, latent_dim, seed=None): n images of class ``class_id`` decoded from
z ~ N(0, I) with the class's one-hot label.

Judged on conditional probe decoders (sigmoid(z·W + y·V + b), known W, V, b): each image inverts exactly to the
code z and the label vector y the student passed. y must be the one-hot of the requested class (another class, an
integer or a vector that is not one-hot fails), the codes N(0, I) of the requested latent size (``generation``'s
test: mean, deviation, correlations and the normal's tails), fixed by the seed and independent across seeds. The
student's own trained decoder is then asked for each class and the judge's reference classifier says which share
of each class's images it recognises as that class (reported, not scored).
"""
from __future__ import annotations

import numpy as np

from autograder.judge import sample_images
from autograder.judge._framework import NOT_MEASURED, Part, SubCheck, array, floats, measures_trained, text
from autograder.judge._probes import LinearCondDecoder

NUM_CLASSES, _OTHER_LATENT, _PER_CLASS = 10, 5, 20
CLASS_NAMES = {"fashion_mnist": ["camiseta", "pantalón", "jersey", "vestido", "abrigo", "sandalia", "camisa",
                                 "zapatilla", "bolso", "botín"]}


def make_probe(config: dict) -> dict:
    latent, classes = config["latent_dim"], config.get("num_classes", NUM_CLASSES)
    other = _OTHER_LATENT if latent != _OTHER_LATENT else _OTHER_LATENT + 2
    return {**LinearCondDecoder(latent, classes, seed=9157).arrays(),
            **LinearCondDecoder(other, classes, seed=9159).arrays("_other"),
            "class_id": np.array(3), "other_class_id": np.array(7), "trained_per_class": np.array(_PER_CLASS),
            "measure_trained": measures_trained(config)}


def _label_problem(labels: np.ndarray, wanted: int) -> str | None:
    """None when every recovered label vector is the one-hot of ``wanted`` (within 1e-3)."""
    target = np.zeros(labels.shape[1])
    target[wanted] = 1.0
    if np.allclose(labels, target, atol=1e-3):
        return None
    typical = np.median(labels, axis=0)
    if np.allclose(typical, np.round(typical), atol=1e-3) and np.isclose(typical.sum(), 1.0) and np.isclose(typical.max(), 1.0):
        return (f"se pidió la clase {wanted} y el decodificador recibe la etiqueta one-hot de la clase "
                f"{int(np.argmax(typical))}: usa class_id como índice de la etiqueta")
    return (f"la etiqueta que recibe el decodificador no es el one-hot de la clase {wanted} (la fila de "
            f"np.eye(num_classes) de class_id, repetida n veces)")


def subchecks(ev, probe, config) -> list[SubCheck]:
    main = LinearCondDecoder.from_arrays(probe)
    wanted, other_wanted = int(probe["class_id"]), int(probe["other_class_id"])
    recovered: dict[str, tuple] = {}

    def recover(key):
        """(codes, label weights, residual) of evidence ``key``'s images on the main probe decoder (once each)."""
        if key not in recovered:
            recovered[key] = main.recover(floats(ev[key]))
        return recovered[key]

    def label():
        for key, target, n in (("prior", wanted, 1000), ("other_class", other_wanted, 200)):
            images = floats(ev[key])
            if images.shape != (n, 28, 28, 1):
                return f"se pidieron {n} muestras (n, 28, 28, 1) y devolvió forma {images.shape}"
            _, labels, residual = recover(key)
            if np.max(residual) > 1e-2:
                return "las imágenes no son salidas del decodificador: decodifica [z, etiqueta] con decoder"
            problem = _label_problem(labels, target)
            if problem:
                return problem

    def from_prior():
        codes, _, residual = recover("prior")
        if np.max(residual) > 1e-2:
            return "las imágenes no son salidas del decodificador para z ~ N(0, I)"
        return sample_images._prior_problem(codes)

    def follows_latent_dim():
        other = probe["W_other"].shape[0]
        images, problem = sample_images.other_latent_images(ev, probe, 300)
        if problem:
            return problem
        codes, _, residual = LinearCondDecoder.from_arrays(probe, "_other").recover(images)
        if np.max(residual) > 1e-2:
            return f"con otro decodificador (latent_dim = {other}) las imágenes no son sus salidas"
        if from_prior() is None and sample_images._prior_problem(codes):
            return f"con latent_dim = {other} los códigos no siguen N(0, I) (¿tamaño latente fijo?)"

    return [
        SubCheck("array (n, 28, 28, 1) en [0, 1]", 1, lambda: sample_images.array_problem(ev), "sample_class falla"),
        SubCheck("el decodificador recibe el one-hot de la clase pedida", 2, label,
                 "la etiqueta no es el one-hot de class_id"),
        SubCheck("z ~ N(0, I) decodificado", 2, from_prior, "las muestras no vienen de z ~ N(0, I)"),
        SubCheck("z de tamaño latent_dim (probado con otro tamaño)", 1, follows_latent_dim, "no usa latent_dim"),
        SubCheck("la semilla fija las muestras", 1,
                 lambda: sample_images.seed_problem(ev, lambda images: main.recover(images)[0]),
                 "la semilla no se respeta"),
    ]


def conditional_accuracy(images: np.ndarray, classes: int, dataset: str) -> np.ndarray:
    """Per class, the share of its images (``images``: classes × n, class-major) that the reference classifier
    assigns to it."""
    import vae_lib
    from vae_runtime.generation import model_outputs

    images = np.clip(np.asarray(images, "float32"), 0.0, 1.0)
    probs = model_outputs(vae_lib.load_classifier(dataset), images)
    predicted = probs.argmax(axis=1).reshape(classes, -1)
    return (predicted == np.arange(classes)[:, None]).mean(axis=1)


def notes(ev, probe, config) -> list[str]:
    """The student's trained decoder, class by class (informative)."""
    classes, per_class = int(probe["V"].shape[0]), int(probe["trained_per_class"])
    if config.get("trained") != "full":
        return [NOT_MEASURED]
    source = "pesos del entrenamiento completo entregados"
    images = floats(ev.get("trained_samples", np.zeros(0)))
    if images.shape != (classes * per_class, 28, 28, 1):
        return [f"modelo entrenado (informativo, no puntúa): no se pudo generar cada clase con tu decoder "
                f"({ev.error('trained_samples') or 'decoder o LATENT_DIM no están definidos'})"]
    shares = conditional_accuracy(images, classes, config["dataset"])
    names = CLASS_NAMES.get(config["dataset"], [str(c) for c in range(classes)])
    table = ", ".join(f"{names[c]} {shares[c]:.0%}" for c in range(classes))
    return [f"modelo entrenado ({source}; informativo, no puntúa): el clasificador de referencia asigna a la clase "
            f"pedida el {shares.mean():.0%} de {classes}×{per_class} muestras de sample_class ({table})"]


EVIDENCE = {"type_name": text(), "small": array(16, 28, 28, 1), "prior": array(1000, 28, 28, 1, headroom=1),
            "other_class": array(200, 28, 28, 1, headroom=2), "seed3_a": array(8, 28, 28, 1),
            "seed3_b": array(8, 28, 28, 1), "seed4": array(8, 28, 28, 1),
            "other_latent": array(300, 28, 28, 1, headroom=2),
            "trained_samples": array(NUM_CLASSES * _PER_CLASS, 28, 28, 1, optional=True)}
PART = Part("test_sample_class", "sample_class", make_probe, subchecks, notes, evidence=EVIDENCE)
