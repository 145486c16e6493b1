"""Real images for the probes (loaded once per grading process with ``vae_lib.load_dataset``)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=8)
def images(dataset: str, split: str, start: int, count: int) -> np.ndarray:
    """``count`` images (count, 28, 28, 1) float32 in [0, 1] from ``split``, starting at index ``start``."""
    import vae_lib

    x, _ = vae_lib.load_dataset(dataset, split=split, limit=start + count)
    return np.asarray(x[start:start + count], "float32")


@lru_cache(maxsize=8)
def labelled(dataset: str, split: str, count: int):
    import vae_lib

    x, y = vae_lib.load_dataset(dataset, split=split, limit=count)
    return np.asarray(x, "float32"), np.asarray(y)
