"""Smoke tests on a GPU, one per trainer: train a few steps on CUDA, resume, open, sample and
evaluate, and open the run on the CPU. They skip (with a message) where there is no CUDA, so the
first GPU user's `make test` exercises them."""
import math

import pytest

import genarena

pytestmark = pytest.mark.cuda

SMOKE = {
    "ring8-nsgan": {"steps": 20},
    "ring8-wgan-gp": {"steps": 20},
    "ring8-egan": {"steps": 10},
    "ring8-mspg-dqn": {"steps": 20},
    "ring8-vae": {"steps": 20},
    "ring8-ddpm": {"steps": 20, "diffusion.nfe": 10},
    "ring8-score": {"steps": 20, "diffusion.nfe": 10},
    "moons-dlsm-total": {"steps": 20, "guidance.classifier_steps": 10, "diffusion.nfe": 10},
    "ring8-mustangs": {"steps": 20, "coevolution.batches_per_gen": 10, "coevolution.rows": 2,
                       "coevolution.cols": 2},
    "mnist5k-hinge": {"steps": 10, "data.batch_size": 16},
}


@pytest.mark.parametrize("preset", sorted(SMOKE))
def test_a_trainer_runs_resumes_samples_and_evaluates_on_cuda(preset, tmp_path):
    over = {**SMOKE[preset], "device": "cuda", "eval.n_samples": 200, "log.interval": 5,
            "log.checkpoint_interval": 5}
    run = genarena.train(preset, out=tmp_path / "r", overrides=over)
    assert run.summary["device"].startswith("cuda")
    steps = run.summary["steps"]
    more = genarena.train(resume=run.path, overrides={"steps": steps * 2})
    assert more.summary["steps"] == steps * 2
    assert more.sample(50, seed=1).shape[0] == 50
    metrics = more.evaluate(200)
    assert any(isinstance(v, float) and math.isfinite(v) for v in metrics.values()), metrics
    on_cpu = genarena.load_run(run.path, device="cpu")
    assert on_cpu.sample(50, seed=1).device.type == "cpu"
