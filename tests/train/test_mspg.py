"""trainer=mspg end to end: the toy variant with the balancer, the image nets, and state."""
import copy
import json
import math

import torch
from helpers import FAST, as_kwargs

import genarena
from genarena.config import load_config
from genarena.data import build_dataset
from genarena.train.mspg import MSPGTrainer

TOY = {**FAST, "steps": 60, "controller.interval": 10, "data.batch_size": 64}


def _trainer(preset, **extra):
    cfg = load_config(preset, {**TOY, **extra})
    torch.manual_seed(0)
    return MSPGTrainer(cfg, build_dataset(cfg.data), torch.device("cpu"))


def test_toy_run_logs_losses_knobs_and_balancer_decisions(tmp_path):
    run = genarena.train("ring8-mspg-dqn", out=tmp_path / "r", **as_kwargs(TOY))
    rows = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    last = rows[-1]
    for key in ("loss_aux_d", "loss_fm", "loss_con", "diversity", "w_aux", "w_fm", "bal_action",
                "bal_reward", "bal_q_max", "bal_epsilon"):
        assert key in last, key
    assert {"modes_captured", "swd"} <= set(run.summary["metrics"])
    html = (run.path / "report.html").read_text()
    assert "controller decisions" in html and "MSPG-SEN losses" in html


def test_parts_switch_off():
    t = _trainer("ring8-mspg", **{"mspg.aux_weight": 0, "mspg.fm_weight": 0, "mspg.con_weight": 0})
    stats = t.train_step()
    assert t.aux is None and not {"loss_aux_d", "loss_fm", "loss_con"} & set(stats)


def test_image_variant_trains_on_digits_with_fade_in(tmp_path):
    cfg = {**TOY, "steps": 6, "log.interval": 2, "data.batch_size": 16, "mspg.progressive_steps": 4,
           "eval.n_samples": 64, "controller.name": "apfl", "controller.interval": 2}
    run = genarena.train("mnist5k-mspg", out=tmp_path / "r", data__name="digits", **as_kwargs(cfg))
    rows = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    progress = [r["progress"] for r in rows if "progress" in r]
    assert progress == sorted(progress) and progress[0] < 1.0 == progress[-1]
    assert "apfl_u" in rows[-1]
    assert run.sample(4).shape == (4, 1, 8, 8)


def test_state_round_trip_with_the_iqn_balancer_continues_exactly():
    a = _trainer("ring8-mspg-iqn")
    for _ in range(25):
        a.train_step()
    b = _trainer("ring8-mspg-iqn")
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    for _ in range(15):
        sa, sb = a.train_step(), b.train_step()
        assert sa == sb


def test_each_rank_takes_its_slice_of_the_contrastive_noise():
    """N ranks = 1 process: rank r's ε is rows r·B/N.. of the ε one process draws, not a copy
    of rank 0's."""
    from genarena.distributed import World
    cfg = load_config("ring8-mspg", {"data.batch_size": 8})
    one, ranks = MSPGTrainer(cfg, build_dataset(cfg.data), torch.device("cpu")), []
    whole = one._contrastive_noise()
    for r in range(2):
        t = MSPGTrainer(cfg, build_dataset(cfg.data), torch.device("cpu"))
        t.world = World(rank=r, size=2)
        ranks.append(t._contrastive_noise())
    assert whole.shape == (8, cfg.model.z_dim)
    assert torch.equal(torch.cat(ranks), whole) and not torch.equal(ranks[0], ranks[1])


def test_mspg_trains_under_bf16_autocast_near_fp32():
    """Mixed precision on the CPU (bfloat16 autocast): the step runs (the diversity term's pdist
    has no half kernel, so it runs in fp32) and its first steps stay within 0.05 of fp32."""
    steps = {}
    for amp in ("none", "bf16"):
        torch.manual_seed(0)
        cfg = load_config("ring8-mspg", {"trainer.amp": amp, "data.batch_size": 64})
        t = MSPGTrainer(cfg, build_dataset(cfg.data), torch.device("cpu"))
        steps[amp] = [t.train_step() for _ in range(10)]
    assert all(math.isfinite(v) for s in steps["bf16"] for v in s.values())
    for fp32, bf16 in zip(steps["none"][:3], steps["bf16"][:3]):
        for key in ("loss_g", "loss_d", "diversity"):
            assert abs(fp32[key] - bf16[key]) < 0.05, key


def test_a_step_the_fp16_scaler_skips_is_not_a_divergence():
    """An overflow under fp16 makes the gradient scaler skip the step and lower its scale; the
    step's statistics stay finite (the skip is counted), so the loop does not roll back."""
    cfg = load_config("ring8-mspg", {"trainer.amp": "fp16", "data.batch_size": 64})
    t = MSPGTrainer(cfg, build_dataset(cfg.data), torch.device("cpu"))
    t.train_step()                                       # the scaler has its state now
    scaler = t.precision.scaler
    scaler.update(new_scale=2.0 ** 60)                  # scaled gradients overflow in fp16
    stats = t.train_step()
    assert all(math.isfinite(v) for v in stats.values()), stats
    assert stats.get("amp_skipped_d") == 1.0 or stats.get("amp_skipped_g") == 1.0
    assert scaler.get_scale() < 2.0 ** 60                # it backed off, as it should
