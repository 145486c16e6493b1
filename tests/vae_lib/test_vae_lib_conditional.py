"""vae_lib's conditional VAE (the reference of the third assignment) against the judge: its networks, train step and
sampler pass the judge's checks of the matching parts (in-process, on trusted code), and its logits path is the
sigmoid path's loss. Its own closed-form checks are in test_conditional_lib.py."""
from __future__ import annotations

import numpy as np
import pytest

import vae_lib
from autograder import judge
from vae_runtime import load_dataset

ASSIGNMENT = "vae_condicional"


def reference_namespace() -> dict:
    return {"build_cond_encoder": vae_lib.build_cond_encoder, "build_cond_decoder": vae_lib.build_cond_decoder,
            "CVAE": vae_lib.CVAE, "sample_class": vae_lib.sample_class, "Sampling": vae_lib.Sampling,
            "kl_divergence": vae_lib.kl_divergence}


@pytest.mark.parametrize("grade_id", judge.ASSIGNMENTS[ASSIGNMENT].grade_ids)
def test_reference_passes_the_judge(grade_id):
    verdict = judge.judge_in_process(grade_id, reference_namespace(), ASSIGNMENT, points=2.0, folder="/nonexistent")
    assert verdict.score == verdict.points, verdict.report()


def test_logits_path_is_the_sigmoid_path():
    """CVAE trains on the decoder's logits (stable BCE): the same loss as BCE on its sigmoid images."""
    x, y = load_dataset("fashion_mnist", split="test", limit=32)
    encoder, decoder = vae_lib.build_cond_encoder(4, seed=1), vae_lib.build_cond_decoder(4)
    model = vae_lib.CVAE(encoder, decoder, beta=2.0)
    ops = vae_lib.conditional.ops
    x, labels = ops.convert_to_tensor(x), ops.convert_to_tensor(vae_lib.one_hot(y))  # one kind in each call
    z_mean = encoder([x, labels])[0]
    # decode z_mean on both paths: the encoder's own noise is then irrelevant
    expected_recon = np.mean(np.asarray(vae_lib.reconstruction_loss(x, decoder([z_mean, labels]))))
    logits_recon = np.mean(np.asarray(vae_lib.bce_from_logits(x, model._logits([z_mean, labels]))))
    assert logits_recon == pytest.approx(expected_recon, rel=1e-4)
    total, recon, kl = (float(v) for v in model.losses_of(x, labels))
    assert total == pytest.approx(recon + 2.0 * kl, rel=1e-6) and recon > 0 and kl >= 0
