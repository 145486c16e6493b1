"""Catalogue of canonical student mistakes, as edits to the filled solution notebooks.

Each `Mistake` replaces `find` (occurring exactly once in the solution text of cell `grade_id`) by `replace`.
The grade cell `check_grade_id` must then lose points and print a message containing `message_fragment`.
Apply one with `autograder.notebooks.filled_release(A, edits=mistake.edits())`, or in-process with
`mistake.apply(code)`. Ids are stable: examples, demo and tests refer to them.
"""
from __future__ import annotations

from dataclasses import dataclass

from autograder.notebooks import ASSIGNMENTS


@dataclass(frozen=True)
class Mistake:
    id: str
    assignments: tuple[str, ...]
    grade_id: str  # the solution cell edited
    find: str
    replace: str
    check_grade_id: str  # the grade cell that must lose points
    message_fragment: str  # Spanish text the check prints for it
    description: str = ""

    def edits(self) -> dict[str, tuple[str, str]]:
        return {self.grade_id: (self.find, self.replace)}

    def apply(self, code: str) -> str:
        count = code.count(self.find)
        if count != 1:
            raise ValueError(f"{self.id}: {self.find!r} occurs {count} times, expected exactly once")
        return code.replace(self.find, self.replace)


BOTH = ASSIGNMENTS

MISTAKES: tuple[Mistake, ...] = (
    Mistake("kl_sign_flipped", BOTH, "kl_divergence", "-0.5 * ops.sum", "0.5 * ops.sum",
            "test_kl_divergence", "signo invertido", "KL with the sign flipped (negative KL)"),
    Mistake("kl_missing_half", BOTH, "kl_divergence", "-0.5 * ops.sum", "-ops.sum",
            "test_kl_divergence", "falta el factor 0.5", "KL without the 0.5 factor"),
    Mistake("kl_mean_over_latent", BOTH, "kl_divergence", "ops.sum(1.0", "ops.mean(1.0",
            "test_kl_divergence", "promediaste sobre las dimensiones latentes", "KL averaged over latent dims"),
    Mistake("std_is_exp_logvar", BOTH, "sampling", "ops.exp(0.5 * z_log_var)", "ops.exp(z_log_var)",
            "test_sampling", "exp(log σ²) (la varianza)", "std = exp(log var) instead of exp(0.5 log var)"),
    Mistake("sampling_uniform_noise", BOTH, "sampling", "keras.random.normal(", "keras.random.uniform(",
            "test_sampling", "uniforme", "uniform noise instead of Gaussian"),
    Mistake("sampling_fixed_noise", BOTH, "sampling", "seed=self.seed_generator", "seed=42",
            "test_sampling", "el ruido es el mismo en cada llamada", "the same eps on every call (fixed seed)"),
    Mistake("reconstruction_mean_over_pixels", BOTH, "vae_model", "ops.sum(keras.losses.binary_crossentropy",
            "ops.mean(keras.losses.binary_crossentropy", "test_vae_model", "media sobre píxeles",
            "BCE averaged over pixels: KL dominates, posterior collapses"),
    Mistake("beta_not_applied", BOTH, "vae_model", "self.beta * kl_loss", "kl_loss",
            "test_vae_model", "β no se aplica", "loss = reconstruction + KL whatever beta"),
    Mistake("samples_from_encoded_data", BOTH, "sample_images",
            'z = rng.standard_normal((n, latent_dim)).astype("float32")',
            "z = encoder.predict(x_test[:n], verbose=0)[0]",
            "test_sample_images", "N(0, I)", "decodes encoded test images instead of z ~ N(0, I)"),
    Mistake("interpolation_pixel_blend", BOTH, "interpolate",
            'return decoder.predict(codes.astype("float32"), verbose=0)',
            'return ((1.0 - t)[:, :, None, None] * x_a + t[:, :, None, None] * x_b).astype("float32")',
            "test_interpolate", "mezclaste píxeles", "blends pixels instead of latent codes"),
    Mistake("interpolation_missing_endpoint", BOTH, "interpolate", "np.linspace(0.0, 1.0, steps)",
            "np.linspace(0.0, 1.0, steps, endpoint=False)", "test_interpolate", "falta el extremo final",
            "t never reaches 1: the last frame is not x_b"),
    Mistake("decoder_without_sigmoid", ("vae_tarea",), "decoder", 'activation="sigmoid"', "activation=None",
            "test_decoder", "sigmoid", "decoder outputs unbounded logits"),
)


def for_assignment(assignment: str) -> list[Mistake]:
    return [m for m in MISTAKES if assignment in m.assignments]


def by_id(mistake_id: str) -> Mistake:
    for mistake in MISTAKES:
        if mistake.id == mistake_id:
            return mistake
    raise KeyError(mistake_id)
