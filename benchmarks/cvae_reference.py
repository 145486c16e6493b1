"""How well the reference conditional VAE generates the class asked for, per latent size: vae_lib's CVAE trained on
all of Fashion-MNIST, then the share of `sample_class` images (z ~ N(0, I)) the reference classifier assigns to the
requested class (`vae_lib.class_accuracy`). Prints a per-class table per setting.

    python benchmarks/cvae_reference.py [--latent 2 4 8] [--epochs 20] [--beta 1.0] [--per-class 100]
"""
from __future__ import annotations

import argparse
import time

import keras
import numpy as np

import vae_lib

CLASS_NAMES = ["camiseta", "pantalón", "jersey", "vestido", "abrigo", "sandalia", "camisa", "zapatilla", "bolso",
               "botín"]


def measure(latent: int, epochs: int, beta: float, per_class: int, seed: int = 157) -> dict:
    x, y = vae_lib.load_dataset("fashion_mnist", split="train")
    keras.utils.set_random_seed(seed)
    model = vae_lib.CVAE(vae_lib.build_cond_encoder(latent), vae_lib.build_cond_decoder(latent), beta=beta)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    start = time.perf_counter()
    history = model.fit(x, vae_lib.one_hot(y), epochs=epochs, batch_size=128, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = vae_lib.class_accuracy(model.decoder, latent, n_per_class=per_class, seed=seed)
    return {"latent": latent, "beta": beta, "epochs": epochs, "train_s": round(seconds, 1),
            "loss": round(float(history.history["loss"][-1]), 2), **accuracy}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latent", type=int, nargs="+", default=[2, 4, 8])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--per-class", type=int, default=100)
    args = p.parse_args()
    for latent in args.latent:
        r = measure(latent, args.epochs, args.beta, args.per_class)
        print(f"latent {r['latent']}, β {r['beta']:g}, {r['epochs']} épocas ({r['train_s']} s), pérdida {r['loss']}: "
              f"media {r['mean']:.1%}", flush=True)
        print("  " + ", ".join(f"{n} {v:.0%}" for n, v in zip(CLASS_NAMES, r["per_class"])), flush=True)


if __name__ == "__main__":
    main()
