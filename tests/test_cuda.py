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


# The defects found by reading (#35), each where only a GPU shows it -------------------------------

def _logged(run_dir, key: str) -> dict[int, float]:
    return {r["step"]: r[key] for r in _rows(run_dir) if key in r}


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
@pytest.mark.parametrize("preset", ["ring8-mspg-dqn", "ring8-vae", "ring8-score", "ring8-egan"])
def test_every_mixed_precision_trainer_trains_on_cuda(tmp_path, preset, amp):
    """MSPG-SEN's pdist under autocast (it crashed on the first G step) and the scaler's skipped
    steps (taken for divergences) included: no rollback, finite losses."""
    run = genarena.train(preset, out=tmp_path / "r",
                         overrides={**SMOKE[preset], "steps": 40, "device": "cuda",
                                    "trainer.amp": amp, "eval.n_samples": 200})
    assert run.summary["divergence_retries"] == 0
    assert all(math.isfinite(v) for row in _rows(run.path) for k, v in row.items()
               if k.startswith("loss") and isinstance(v, float))


def _rows(run_dir) -> list[dict]:
    import json
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_batches_for_a_gpu_come_from_pinned_memory():
    import torch

    from genarena.config import load_config
    from genarena.data import build_dataset
    from genarena.train.pair import PairTrainer
    for preset in ("ring8-nsgan", "mnist5k-hinge"):               # a sampler and an array
        cfg = load_config(preset, {"device": "cuda"})
        dataset = build_dataset(cfg.data)
        x, y = dataset.stream(64, seed=0, pin_memory=True).next()
        plain_x, plain_y = dataset.stream(64, seed=0).next()
        assert x.is_pinned() and torch.equal(x, plain_x) and torch.equal(y, plain_y)
        trainer = PairTrainer(cfg, dataset, torch.device("cuda"))
        assert trainer.stream.pin_memory and trainer._real().device.type == "cuda"


def test_metrics_on_cuda_match_the_cpu(tmp_path):
    """The feature net and PRDC's k-NN search on the GPU give the CPU's numbers (to rounding)."""
    import torch

    from genarena.config import DataConfig, EvalConfig
    from genarena.data import build_dataset
    from genarena.metrics import evaluate
    mnist = build_dataset(DataConfig(name="mnist5k"))
    fake = mnist.test_x[:500] + 0.3 * torch.randn(500, 1, 28, 28)
    cfg = EvalConfig(cache_dir=str(tmp_path), n_samples=500)
    cpu = evaluate(lambda n: fake[:n], mnist, cfg, seed=0)
    gpu = evaluate(lambda n: fake[:n], mnist, cfg, seed=0, device=torch.device("cuda"))
    for key, value in cpu.items():
        if isinstance(value, float):
            assert gpu[key] == pytest.approx(value, rel=1e-3, abs=1e-3), key


def test_a_ray_grid_with_fractional_gpus_schedules_every_actor(tmp_path):
    """0.25 GPU per actor: four actors share one GPU, the grid finishes (it hung with 16)."""
    from genarena.cluster import start_ray
    started = start_ray("", num_cpus=4)
    try:
        run = genarena.train("ring8-mustangs", out=tmp_path / "r", overrides={
            **SMOKE["ring8-mustangs"], "device": "cuda", "backend.name": "ray",
            "backend.gpus_per_actor": 0.25, "eval.n_samples": 200})
        assert run.summary["steps"] == 20
    finally:
        if started:
            import ray
            ray.shutdown()


def test_a_sweep_puts_its_runs_on_different_gpus(tmp_path):
    import json
    import subprocess
    import sys

    import torch
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices")
    proc = subprocess.run([sys.executable, "-m", "genarena", "sweep", "ring8-nsgan", "--seeds", "2",
                           "--workers", "2", "--out", str(tmp_path), "steps=200", "device=cuda",
                           "eval.n_samples=200"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    uuids = {json.loads(p.read_text())["device_uuid"] for p in tmp_path.glob("*/summary.json")}
    assert len(uuids) == 2


def _nproc(tmp_path, name: str, nproc: int, *overrides: str):
    import subprocess
    import sys
    out = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "genarena", "train", "ring8-nsgan", "steps=20",
                           "device=cuda", "log.interval=1", "eval.n_samples=200",
                           "data.batch_size=256", *overrides, "--nproc", str(nproc), "--out",
                           str(out), "--quiet"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_two_gpus_give_the_losses_of_one(tmp_path):
    import torch
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices")
    one, two = _nproc(tmp_path, "one", 1), _nproc(tmp_path, "two", 2)
    for key in ("loss_g", "loss_d"):
        single, ranks = _logged(one, key), _logged(two, key)
        assert sorted(ranks) == list(range(1, 21))
        for step in ranks:
            assert ranks[step] == pytest.approx(single[step], rel=1e-3, abs=1e-4), (key, step)


def test_a_batchnorm_d_with_r1_trains_on_two_gpus(tmp_path):
    """SyncBatchNorm has no double backward: R1 through a BatchNorm D crashed under --nproc."""
    import torch
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices")
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "genarena", "train", "mnist5k-hinge",
                           "steps=10", "device=cuda", "data.batch_size=32", "model.d_norm=batch",
                           "loss.r1_gamma=1", "loss.r1_interval=2", "eval.n_samples=200",
                           "--nproc", "2", "--out", str(tmp_path / "r"), "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
