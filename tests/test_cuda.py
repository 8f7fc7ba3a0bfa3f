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


def test_the_two_moons_oracle_reads_a_model_trained_on_cuda(tmp_path):
    """The DLSM bench's posterior-score error: the oracle on the CPU, the nets on the GPU."""
    from genarena.diffusion.oracle import moons_posterior_errors
    run = genarena.train("moons-dlsm-total", out=tmp_path / "r",
                         overrides={**SMOKE["moons-dlsm-total"], "device": "cuda",
                                    "eval.n_samples": 200})
    errors = moons_posterior_errors(run.model(), run.dataset, oracle_points=200)
    assert all(math.isfinite(v) for v in errors.values()), errors


def test_two_gpus_train_one_model_with_nccl(tmp_path):
    import subprocess
    import sys

    import torch
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices")
    proc = subprocess.run([sys.executable, "-m", "genarena", "train", "ring8-nsgan", "steps=20",
                           "device=cuda", "eval.n_samples=200", "--nproc", "2", "--out",
                           str(tmp_path / "r"), "--quiet"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "r" / "summary.json").exists()


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_trains_on_cuda(tmp_path, amp):
    run = genarena.train("mnist5k-hinge", out=tmp_path / "r",
                         overrides={**SMOKE["mnist5k-hinge"], "device": "cuda", "trainer.amp": amp,
                                    "trainer.cudnn_benchmark": True, "eval.n_samples": 200})
    assert math.isfinite(run.summary["metrics"]["fid"])
