"""The homework's build_decoder(latent_dim): z (batch, latent_dim) → images (batch, 28, 28, 1) in [0, 1].

Judged on behaviour: shape, and it follows latent_dim (built for another latent size too); output in [0, 1] also
for codes far from the prior (a sigmoid output); the output depends on z and on the pixel (a one-channel softmax
is a constant 1, a softmax over pixels sums to 1); transposed convolutions somewhere in the model. The other size's
images must decode its codes (codes a, b, a, b: the same code, the same image; not constant when the main images are
not); "is a keras.Model" needs the model to have run on the judge's codes.
"""
from __future__ import annotations

import numpy as np

from autograder.judge._framework import FLAG, Part, SubCheck, array, floats, model_problem, scalar, text

TRANSPOSED = {"Conv2DTranspose", "BaseConvTranspose", "Conv3DTranspose", "Conv1DTranspose"}


def make_probe(config: dict) -> dict:
    rng = np.random.default_rng(6157)
    k = config["latent_dim"]
    return {"latent_dim": np.array(k), "z": rng.normal(0.0, 1.0, (16, k)).astype("float32"),
            "z_other": np.tile(rng.normal(0.0, 1.0, (2, k + 3)), (2, 1)).astype("float32")}  # codes a, b, a, b


def subchecks(ev, probe, config, builder: str = "build_decoder", transposed_layers: bool = True) -> list[SubCheck]:
    """The decoder's sub-checks; ``builder`` names the student's function in the diagnoses; ``transposed_layers``:
    whether Conv2DTranspose is required (the homework's)."""
    def output_shape():
        shape = floats(ev["images"]).shape
        if shape != (16, 28, 28, 1):
            return f"la salida tiene forma {shape}; debe ser (batch, 28, 28, 1)"
        if "other_latent_images" not in ev or floats(ev["other_latent_images"]).shape != (4, 28, 28, 1):
            return (f"{builder} ignora su argumento latent_dim (¿un tamaño latente fijo en keras.Input?): "
                    f"{builder}({probe['z_other'].shape[1]}) no decodifica códigos de ese tamaño"
                    + (f" ({ev.error('other_latent_images')})" if "other_latent_images" not in ev else ""))
        # the other size's images behave like the main ones: a function of the code (codes a, b, a, b), and not
        # constant when the main decoder's images are not
        other, main = floats(ev["other_latent_images"]), floats(ev["images"])
        varies = not np.allclose(main, main[:1], atol=1e-5)
        if not (np.allclose(other[:2], other[2:], rtol=1e-3, atol=1e-4)
                and (not varies or not np.allclose(other[0], other[1], atol=1e-5))):
            return (f"las imágenes de {builder}({probe['z_other'].shape[1]}) no dependen de z como las de "
                    f"{builder}(latent_dim): el mismo código debe dar la misma imagen, y códigos distintos otras")

    def output_range():
        images = np.concatenate([floats(ev[key]).ravel() for key in ("images", "images_far")])
        if not np.all(np.isfinite(images)):
            return "la salida tiene NaN o infinitos: la última capa debe usar activación sigmoid"
        low, high = float(images.min()), float(images.max())
        if low >= 0.0 and high <= 1.0:
            return None
        if low < 0.0 and low >= -1.0 and high <= 1.0:
            return "la salida toma valores negativos, en [-1, 1]: ¿tanh? la última capa debe usar activación sigmoid"
        if low >= 0.0:
            return (f"la salida llega a {high:.3g} > 1 sin valores negativos: ¿relu? la última capa debe usar "
                    "activación sigmoid (valores en [0, 1])")
        return (f"la salida no está acotada (de {low:.3g} a {high:.3g}): la última capa está sin activación "
                "(logits); usa activación sigmoid para tener valores en [0, 1]")

    def informative():
        images = floats(ev["images"])
        flat = images.reshape(len(images), -1)
        if np.allclose(flat, 1.0, atol=1e-4):
            return "la salida es siempre 1: ¿softmax sobre un solo canal? usa sigmoid en la última capa"
        if np.allclose(flat.sum(axis=1), 1.0, rtol=1e-3):
            return "los píxeles de cada imagen suman 1: ¿softmax sobre los píxeles? usa sigmoid (un valor por píxel)"
        if np.allclose(flat.std(axis=0), 0.0, atol=1e-5):
            return "la salida no depende de z: todas las imágenes son iguales"

    def transposed():
        classes = {c for entry in np.asarray(ev["layers"]).tolist() for c in str(entry).split(":")}
        if not classes & TRANSPOSED:
            return "el decodificador debe usar convoluciones transpuestas (Conv2DTranspose), simétrico al codificador"

    checks = [
        SubCheck("es un keras.Model", 1, lambda: model_problem(ev, builder, "images", "códigos z"),
                 f"{builder} falla al construir el modelo"),
        SubCheck("salida (batch, 28, 28, 1) para cualquier latent_dim", 1, output_shape,
                 "la forma de la salida no es correcta"),
        SubCheck("salida en [0, 1] (sigmoid)", 1, output_range, "la salida no está en [0, 1]"),
        SubCheck("la salida depende de z y de cada píxel", 1, informative, "la salida no es una imagen"),
    ]
    if transposed_layers:
        checks.append(SubCheck("usa Conv2DTranspose", 1, transposed, "no hay Conv2DTranspose"))
    return checks


EVIDENCE = {"is_model": scalar(FLAG), "images": array(16, 28, 28, 1), "images_far": array(16, 28, 28, 1),
            "other_latent_images": array(4, 28, 28, 1), "layers": text(500)}
PART = Part("test_decoder", "build_decoder", make_probe, subchecks, evidence=EVIDENCE)
