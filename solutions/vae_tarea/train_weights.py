"""Reproduce `vae_tarea.weights.h5`: the homework solution's networks, 30 epochs on Fashion-MNIST, via `vae_lib.VAE`.

Backend-neutral (vae_lib.VAE has TensorFlow, PyTorch and JAX training steps), so it runs on a GPU machine with only
PyTorch: `KERAS_BACKEND=torch VAE_DATA_DIR=... python solutions/vae_tarea/train_weights.py` (205 s on an H100).
It writes encoder/decoder weights, then (on TensorFlow, where the notebook's `VAE` class runs)
`python solutions/vae_tarea/train_weights.py --assemble` packs them into the notebook's `VAE` weight file.
"""
import json
import os
import sys
from pathlib import Path

import keras

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from autograder.notebooks import solutions_of  # noqa: E402


def student_parts(names):
    ns = {}
    exec("import numpy as np\nimport keras\nfrom keras import layers, ops\nimport tensorflow as tf\n"
         if keras.backend.backend() == "tensorflow" else "import numpy as np\nimport keras\nfrom keras import layers, ops\n", ns)
    solutions = solutions_of("vae_tarea")
    for name in names:
        exec(solutions[name], ns)
    return ns


def train():
    import vae_lib

    ns = student_parts(["sampling", "encoder", "decoder"])
    x, _ = vae_lib.load_dataset("fashion_mnist", split="train")
    keras.utils.set_random_seed(157)
    encoder, decoder = ns["build_encoder"](10), ns["build_decoder"](10)
    vae = vae_lib.VAE(encoder, decoder, beta=1.0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vae.fit(x, epochs=30, batch_size=128, verbose=2)
    encoder.save_weights(HERE / "encoder.weights.h5")
    decoder.save_weights(HERE / "decoder.weights.h5")
    (HERE / "training_history.json").write_text(json.dumps(
        {k: [float(v) for v in values] for k, values in history.history.items()}))


def assemble():
    ns = student_parts(["sampling", "kl_divergence", "encoder", "decoder", "vae_model"])
    encoder, decoder = ns["build_encoder"](10), ns["build_decoder"](10)
    encoder.load_weights(HERE / "encoder.weights.h5")
    decoder.load_weights(HERE / "decoder.weights.h5")
    vae = ns["VAE"](encoder, decoder, beta=1.0)
    vae(keras.ops.zeros((1, 28, 28, 1)))
    vae.save_weights(HERE / "vae_tarea.weights.h5")


if __name__ == "__main__":
    assemble() if "--assemble" in sys.argv else train()
