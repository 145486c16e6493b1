"""Catalogue of canonical student mistakes, as edits to the filled solution notebooks.

Each `Mistake` replaces `find` (occurring exactly once in the solution text of cell `grade_id`) by `replace`.
The grade cell `check_grade_id` must then lose points, with `message_fragment` in the diagnosis of the sub-check
that fails (the fragment never appears in a passing sub-check's label), and every other grade cell keeps its
marks. Apply one with `autograder.notebooks.filled_release(A, edits=mistake.edits())`, or in-process with
`mistake.apply(code)`. Ids are stable: examples, demo and tests refer to them; new ones are appended.
"""
from __future__ import annotations

from dataclasses import dataclass


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


BOTH = ("vae_clase", "vae_tarea")  # the two VAE notebooks (the same exercises)
TAREA = ("vae_tarea",)  # the homework's own exercises (its decoder)

_KL_TERMS = "1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)"
_HEADS = ('z_mean = layers.Dense(latent_dim, name="z_mean")(h)\n'
          '    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)')
_APPLY = ("tape.gradient(total_loss, self.trainable_weights)\n"
          "        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))")

VAE_MISTAKES: tuple[Mistake, ...] = (
    # --- the original twelve -------------------------------------------------------------------------------
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
            "test_sample_images", "datos codificados", "decodes encoded test images instead of z ~ N(0, I)"),
    Mistake("interpolation_pixel_blend", BOTH, "interpolate",
            'return decoder.predict(codes.astype("float32"), verbose=0)',
            'return ((1.0 - t)[:, :, None, None] * x_a + t[:, :, None, None] * x_b).astype("float32")',
            "test_interpolate", "mezclaste píxeles", "blends pixels instead of latent codes"),
    Mistake("interpolation_missing_endpoint", BOTH, "interpolate", "np.linspace(0.0, 1.0, steps)",
            "np.linspace(0.0, 1.0, steps, endpoint=False)", "test_interpolate", "falta el extremo final",
            "t never reaches 1: the last frame is not x_b"),
    Mistake("decoder_without_sigmoid", TAREA, "decoder", 'activation="sigmoid"', "activation=None",
            "test_decoder", "sin activación", "decoder outputs unbounded logits"),
    # --- Sampling ------------------------------------------------------------------------------------------
    Mistake("sampling_noise_per_row", BOTH, "sampling", "ops.shape(z_mean), seed",
            "(ops.shape(z_mean)[0], 1), seed", "test_sampling", "correlacionado",
            "one eps per row, shape (batch, 1), broadcast over the latent dims"),
    Mistake("sampling_numpy_noise", BOTH, "sampling",
            "eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)",
            'eps = np.random.standard_normal(tuple(z_mean.shape)).astype("float32")',
            "test_sampling", "ruido de NumPy",
            "NumPy noise: a constant inside a tf.function (the same eps at every step of fit)"),
    Mistake("sampling_quarter_logvar", BOTH, "sampling", "ops.exp(0.5 * z_log_var)", "ops.exp(0.25 * z_log_var)",
            "test_sampling", "exp(0.25·log σ²)", "std = exp(0.25 log var): the 0.5 of log sigma = 0.5 log var applied twice"),
    # --- kl_divergence -------------------------------------------------------------------------------------
    Mistake("kl_log_sigma_confusion", BOTH, "kl_divergence", _KL_TERMS,
            "1.0 + 2.0 * z_log_var - ops.square(z_mean) - ops.exp(2.0 * z_log_var)",
            "test_kl_divergence", "log σ en vez de log σ²", "z_log_var treated as log sigma (KL of log sigma form)"),
    Mistake("kl_numpy", BOTH, "kl_divergence", f"return -0.5 * ops.sum({_KL_TERMS}, axis=-1)",
            "z_mean, z_log_var = np.asarray(z_mean), np.asarray(z_log_var)\n"
            "    return -0.5 * np.sum(1.0 + z_log_var - np.square(z_mean) - np.exp(z_log_var), axis=-1)",
            "test_kl_divergence", "no tiene gradiente", "KL computed with NumPy: right value, no gradient"),
    Mistake("kl_missing_sum", BOTH, "kl_divergence", f"-0.5 * ops.sum({_KL_TERMS}, axis=-1)",
            f"-0.5 * ({_KL_TERMS})", "test_kl_divergence", "falta sumar",
            "per-dimension KL terms returned, (batch, latent_dim): no sum over the latent dims"),
    # --- build_encoder -------------------------------------------------------------------------------------
    Mistake("encoder_relu_mean_head", BOTH, "encoder", 'layers.Dense(latent_dim, name="z_mean")',
            'layers.Dense(latent_dim, activation="relu", name="z_mean")', "test_encoder",
            "z_mean nunca es negativo", "relu on the z_mean head: the mean cannot be negative"),
    Mistake("encoder_softplus_log_var_head", BOTH, "encoder", 'layers.Dense(latent_dim, name="z_log_var")',
            'layers.Dense(latent_dim, activation="softplus", name="z_log_var")', "test_encoder",
            "z_log_var nunca es negativo", "softplus on z_log_var ('a variance is positive'): sigma >= 1 always"),
    Mistake("encoder_one_head_for_both", BOTH, "encoder", _HEADS,
            'head = layers.Dense(latent_dim, name="z_params")\n    z_mean = head(h)\n    z_log_var = head(h)',
            "test_encoder", "z_mean y z_log_var son iguales", "one Dense layer reused for z_mean and z_log_var"),
    Mistake("encoder_z_is_mean", BOTH, "encoder", "z = Sampling()([z_mean, z_log_var])", "z = z_mean",
            "test_encoder", "z es igual a z_mean", "z = z_mean: no Sampling layer (a plain autoencoder)"),
    Mistake("encoder_sampling_args_swapped", BOTH, "encoder", "Sampling()([z_mean, z_log_var])",
            "Sampling()([z_log_var, z_mean])", "test_encoder", "orden inverso a Sampling",
            "Sampling called with (z_log_var, z_mean)"),
    Mistake("encoder_latent_hardcoded", BOTH, "encoder", _HEADS,
            'z_mean = layers.Dense(10, name="z_mean")(h)\n    z_log_var = layers.Dense(10, name="z_log_var")(h)',
            "test_encoder", "ignora su argumento latent_dim", "latent size 10 hard-coded in the heads"),
    # --- build_decoder (homework) --------------------------------------------------------------------------
    Mistake("decoder_softmax_output", TAREA, "decoder", 'activation="sigmoid"', 'activation="softmax"',
            "test_decoder", "la salida es siempre 1", "softmax over the single channel: every pixel is 1"),
    Mistake("decoder_tanh_output", TAREA, "decoder", 'activation="sigmoid"', 'activation="tanh"',
            "test_decoder", "¿tanh?", "tanh output in [-1, 1]"),
    Mistake("decoder_relu_output", TAREA, "decoder", 'activation="sigmoid"', 'activation="relu"',
            "test_decoder", "¿relu", "relu output: not bounded by 1"),
    Mistake("decoder_latent_hardcoded", TAREA, "decoder", "keras.Input(shape=(latent_dim,))",
            "keras.Input(shape=(10,))", "test_decoder", "ignora su argumento latent_dim",
            "latent size 10 hard-coded in the decoder's Input"),
    # --- VAE.train_step ------------------------------------------------------------------------------------
    Mistake("kl_summed_over_batch", BOTH, "vae_model", "ops.mean(kl_divergence(", "ops.sum(kl_divergence(",
            "test_vae_model", "el KL se suma sobre el batch", "KL summed over the batch instead of averaged"),
    Mistake("kl_divided_by_pixels", BOTH, "vae_model", "self.beta * kl_loss", "self.beta * kl_loss / 784.0",
            "test_vae_model", "dividido por 784", "KL divided by 784 'to match' a per-pixel reconstruction"),
    Mistake("decodes_z_mean", BOTH, "vae_model", "self.decoder(z, training=True)",
            "self.decoder(z_mean, training=True)", "test_vae_model", "decodificas z_mean en lugar de z",
            "reconstruction from z_mean: the noise never reaches the decoder"),
    Mistake("reconstruction_mse", BOTH, "vae_model", "keras.losses.binary_crossentropy(",
            "keras.losses.mean_squared_error(", "test_vae_model", "error cuadrático",
            "squared error instead of binary cross-entropy"),
    Mistake("kl_not_in_loss", BOTH, "vae_model", "total_loss = reconstruction_loss + self.beta * kl_loss",
            "total_loss = reconstruction_loss", "test_vae_model", "no incluye el KL",
            "KL logged but left out of the loss (a plain autoencoder)"),
    Mistake("only_decoder_trained", BOTH, "vae_model", _APPLY,
            _APPLY.replace("self.trainable_weights", "self.decoder.trainable_weights"), "test_vae_model",
            "los pesos del codificador no cambian", "gradients applied to the decoder's weights only"),
    Mistake("kl_args_swapped_in_step", BOTH, "vae_model", "kl_divergence(z_mean, z_log_var)",
            "kl_divergence(z_log_var, z_mean)", "test_vae_model", "argumentos en orden inverso",
            "kl_divergence(z_log_var, z_mean) in the train step"),
    # --- sample_images -------------------------------------------------------------------------------------
    Mistake("samples_uniform_z", BOTH, "sample_images", "rng.standard_normal((n, latent_dim))",
            "rng.random((n, latent_dim))", "test_sample_images", "parecen uniformes", "z ~ U[0, 1) instead of N(0, I)"),
    Mistake("samples_latent_hardcoded", BOTH, "sample_images", "(n, latent_dim)", "(n, 10)",
            "test_sample_images", "tamaño latente fijo", "latent size 10 hard-coded instead of latent_dim"),
    Mistake("samples_seed_ignored", BOTH, "sample_images", "np.random.default_rng(seed)", "np.random.default_rng()",
            "test_sample_images", "con la misma semilla", "the seed argument is ignored"),
    # --- interpolate ---------------------------------------------------------------------------------------
    Mistake("interpolation_smoothstep", BOTH, "interpolate", "t = np.linspace(0.0, 1.0, steps)[:, None]",
            "t = np.linspace(0.0, 1.0, steps)[:, None]\n    t = t * t * (3.0 - 2.0 * t)", "test_interpolate",
            "los pasos no son iguales", "eased (smoothstep) schedule instead of even steps"),
    Mistake("interpolation_sampled_z", BOTH, "interpolate", "z_mean, _, _ = encoder.predict(",
            "_, _, z_mean = encoder.predict(", "test_interpolate", "z muestreado",
            "interpolates the sampled z instead of z_mean"),
    Mistake("interpolation_steps_ignored", BOTH, "interpolate", "np.linspace(0.0, 1.0, steps)",
            "np.linspace(0.0, 1.0, 10)", "test_interpolate", "no sigue steps", "always 10 frames, whatever steps"),
)

CONDICIONAL = ("vae_condicional",)
_ONE_HOT = 'np.eye(num_classes, dtype="float32")[[class_id] * n]'

# The conditional VAE's own mistakes (numbered after every other example, so the VAE examples keep their ids).
CVAE_MISTAKES: tuple[Mistake, ...] = (
    Mistake("decoder_ignores_label", CONDICIONAL, "cond_decoder", "h = layers.Concatenate()([z, label])", "h = z",
            "test_cond_decoder", "ignora la etiqueta",
            "the decoder never uses the label (the label used only in the encoder)"),
    Mistake("encoder_ignores_label", CONDICIONAL, "cond_encoder",
            "h = layers.Concatenate()([layers.Flatten()(image), label])", "h = layers.Flatten()(image)",
            "test_cond_encoder", "ignora la etiqueta", "the encoder never uses the label"),
    Mistake("label_as_integer", CONDICIONAL, "cond_decoder",
            'label = keras.Input(shape=(num_classes,), name="label")', 'label = keras.Input(shape=(1,), name="label")',
            "test_cond_decoder", "entra como un entero", "the decoder takes the class as an integer, not one-hot"),
    Mistake("wrong_class_index", CONDICIONAL, "sample_class", _ONE_HOT,
            'np.eye(num_classes, dtype="float32")[[(class_id + 1) % num_classes] * n]', "test_sample_class",
            "usa class_id como índice", "the one-hot of the next class (an off-by-one class index)"),
    Mistake("samples_from_class_posterior", CONDICIONAL, "sample_class",
            'z = rng.standard_normal((n, latent_dim)).astype("float32")',
            'images = x_test[y_test == class_id]\n'
            '    picked = images[rng.integers(0, len(images), n)]\n'
            '    z = encoder.predict([picked, ' + _ONE_HOT + '], verbose=0)[2]',
            "test_sample_class", "no siguen N(0, I)", "z drawn from q(z|x, y) of real images of that class, not the prior"),
    Mistake("kl_on_label", CONDICIONAL, "cvae_model", "kl_loss = ops.mean(kl_divergence(z_mean, z_log_var))",
            "kl_loss = ops.mean(kl_divergence(ops.concatenate([z_mean, y], axis=-1),\n"
            "                                               ops.concatenate([z_log_var, ops.zeros_like(y)], axis=-1)))",
            "test_cvae_model", "el juez calcula un KL medio", "the KL also over the one-hot label (a constant 0.5)"),
    Mistake("cvae_decodes_z_mean", CONDICIONAL, "cvae_model", "reconstruction = self.decoder([z, y], training=True)",
            "reconstruction = self.decoder([z_mean, y], training=True)", "test_cvae_model", "decodificas z_mean",
            "reconstructs from z_mean instead of the sampled z"),
)
MISTAKES: tuple[Mistake, ...] = VAE_MISTAKES + CVAE_MISTAKES


def for_assignment(assignment: str) -> list[Mistake]:
    return [m for m in MISTAKES if assignment in m.assignments]


def by_id(mistake_id: str) -> Mistake:
    for mistake in MISTAKES:
        if mistake.id == mistake_id:
            return mistake
    raise KeyError(mistake_id)
