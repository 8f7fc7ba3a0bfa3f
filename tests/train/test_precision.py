"""Mixed precision (trainer.amp) and the speed switches: opt-in, checkpointed, and restored."""
import json
import math

import pytest
import torch

import genarena
from genarena.config import TrainerConfig
from genarena.errors import UserError
from genarena.train.optim import optimizer_step
from genarena.train.precision import FULL, precision_for, switches

SHORT = {"steps": 30, "eval.n_samples": 300, "log.interval": 10, "log.checkpoint_interval": 10}


def test_full_precision_adds_no_context_and_no_scaler():
    assert FULL.dtype is None and FULL.scaler is None and FULL.state_dict() is None
    with FULL.autocast():
        assert not torch.is_autocast_enabled("cpu")


def test_bf16_autocasts_the_forward_and_fp16_scales_the_loss():
    bf16, fp16 = precision_for("bf16", torch.device("cpu")), precision_for("fp16", torch.device("cpu"))
    net = torch.nn.Linear(4, 1)
    with bf16.autocast():
        assert net(torch.randn(8, 4)).dtype == torch.bfloat16
    assert bf16.scaler is None and fp16.scaler is not None
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    before = net.weight.detach().clone()
    with fp16.autocast():
        loss = net(torch.randn(8, 4)).float().pow(2).mean()
    optimizer_step(opt, loss, net, grad_clip=1.0, scaler=fp16.scaler)
    assert not torch.equal(net.weight, before)               # unscaled, clipped, stepped
    assert fp16.state_dict()["scale"] > 0


def _losses(run) -> dict[int, tuple[float, float]]:
    rows = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: (r["loss_g"], r["loss_d"]) for r in rows if "loss_g" in r}


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
@pytest.mark.slow
def test_a_mixed_precision_run_trains_near_fp32_and_resumes_exactly(tmp_path, amp):
    over = {**SHORT, "loss.r1_gamma": 1.0, "loss.r1_interval": 4}
    run = genarena.train("ring8-nsgan", out=tmp_path / "r", overrides={**over, "trainer.amp": amp})
    fp32 = genarena.train("ring8-nsgan", out=tmp_path / "f", overrides=over)
    losses, reference = _losses(run), _losses(fp32)
    assert list(losses) == [10, 20, 30] and run.summary["divergence_retries"] == 0
    # the same run in fp32: each logged mean loss within 0.05 (bf16 keeps 8 bits of mantissa)
    for step, pair in losses.items():
        assert all(math.isfinite(v) and abs(v - r) < 0.05 for v, r in zip(pair, reference[step]))
    # extended to 40 steps from its checkpoint, it logs what a straight 40-step run logs (the
    # scaler's state is checkpointed with the rest)
    more = genarena.train(resume=run.path, overrides={"steps": 40})
    straight = genarena.train("ring8-nsgan", out=tmp_path / "s",
                              overrides={**over, "trainer.amp": amp, "steps": 40})
    assert more.summary["steps"] == 40 and _losses(more) == _losses(straight)


def test_trainers_without_mixed_precision_refuse_it(tmp_path):
    with pytest.raises(UserError, match="config key 'trainer.amp'"):
        genarena.train("ring8-vae", out=tmp_path / "r", overrides={**SHORT, "trainer.amp": "bf16"})
    assert not (tmp_path / "r").exists()


def test_switches_hold_for_the_block_and_come_back():
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark,
              torch.backends.cuda.matmul.allow_tf32)
    with switches(TrainerConfig(deterministic=True, tf32=True)):
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cuda.matmul.allow_tf32
    assert (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark,
            torch.backends.cuda.matmul.allow_tf32) == before
