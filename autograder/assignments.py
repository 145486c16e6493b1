"""The one table of assignments: each row is what its notebook sets up (the judge's probes follow it) and the
grade cells the judge grades. Everything that lists assignments (the CLI, the examples, the solutions runner,
the bundle, the judge, the tests) reads this table; adding a session is one row here (``docs/new_assignment.md``)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

VAE_GRADE_IDS = ("test_sampling", "test_kl_divergence", "test_encoder", "test_decoder", "test_vae_model",
                 "test_sample_images", "test_interpolate")
CVAE_GRADE_IDS = ("test_cond_encoder", "test_cond_decoder", "test_cvae_model", "test_sample_class")


@dataclass(frozen=True)
class Assignment:
    """``dataset``: the notebook's data set (``vae_runtime.load_dataset`` name); ``latent_dim``: its LATENT_DIM;
    ``convolutional``: its encoder is convolutional; ``num_classes``: labels the conditional models take (0: none);
    ``grade_ids``: the grade cells the judge grades (``judge.GRADE_CELLS``)."""
    name: str
    dataset: str
    latent_dim: int
    convolutional: bool
    grade_ids: tuple[str, ...]
    num_classes: int = 0

    def probe_config(self) -> dict:
        """What the judge's probes read: every field but the name and the grade ids (``num_classes`` when set)."""
        return {k: v for k, v in asdict(self).items()
                if k not in ("name", "grade_ids") and not (k == "num_classes" and not v)}


ASSIGNMENTS: dict[str, Assignment] = {a.name: a for a in (
    Assignment("vae_clase", "mnist", 10, False, VAE_GRADE_IDS),
    Assignment("vae_tarea", "fashion_mnist", 10, True, VAE_GRADE_IDS),
    Assignment("vae_condicional", "fashion_mnist", 8, False, CVAE_GRADE_IDS, num_classes=10),
)}
