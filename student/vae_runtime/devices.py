"""What the backend will run on; GPU memory growth so several grading workers can share one GPU."""
from __future__ import annotations

import os

import keras


def configure_devices():
    """Turn on memory growth for every visible GPU (TensorFlow backend). Returns the GPU names (maybe [])."""
    if keras.backend.backend() != "tensorflow":
        return []
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised: growth cannot change any more
            pass
    return [gpu.name for gpu in gpus]


def device_summary() -> str:
    """One line naming the backend and the devices it will use, e.g.
    'Keras 3.15.1, backend tensorflow 2.21.0: CPU (2 cores); no GPU'."""
    backend = keras.backend.backend()
    cores = os.cpu_count() or 1
    gpus = []
    version = ""
    if backend == "tensorflow":
        import tensorflow as tf

        version = tf.__version__
        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        version = jax.__version__
        gpus = [str(d) for d in jax.devices() if d.platform != "cpu"]
    elif backend == "torch":
        import torch

        version = torch.__version__
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    gpu_text = f"GPU: {', '.join(gpus)}" if gpus else "no GPU"
    return f"Keras {keras.__version__}, backend {backend} {version}: CPU ({cores} cores); {gpu_text}"
