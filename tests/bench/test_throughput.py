"""The throughput suite runs end to end and writes its JSON and markdown (numbers live in results)."""
import json

import pytest

from genarena.bench.throughput import gemm_flops, run


@pytest.mark.slow                          # end to end: `make test-fast` leaves it out
def test_quick_suite_writes_results(tmp_path):
    paths = run(tmp_path, quick=True)
    assert sorted(p.name for p in paths) == ["throughput.json", "throughput.md"]
    result = json.loads((tmp_path / "throughput.json").read_text())
    assert result["command"] == "genarena bench throughput --quick"
    assert len(result["cases"]) == 2
    for case in result["cases"]:
        assert case["trainer_steps_per_s"] > 0 and case["minimal_steps_per_s"] > 0
        assert case["flops_per_step"] > 0 and 0 < case["fraction_of_gemm"] < 1.5
    assert "| ratio |" in (tmp_path / "throughput.md").read_text()
    assert len(result["workloads"]) == 6 and result["core_gemm_gflops"] > 0
    for workload in result["workloads"]:
        for neighbour in ("alone", "beside a busy process"):
            assert all(workload[neighbour][v]["ms"] > 0 for v in ("before", "after", "opt-in"))
    assert {next(iter(w["opt_in"])) for w in result["workloads"]} == {"optim.fused",
                                                                      "marl.fast_update"}


def test_gemm_flops_is_two_n_cubed_over_the_best_time(monkeypatch):
    # A clock whose successive calls are 0.5 s apart, except one 0.25 s product: best = 0.25 s.
    ticks = iter([0.0, 0.5, 1.0, 1.25, 2.0, 2.5])
    monkeypatch.setattr("genarena.bench.common.time.perf_counter", lambda: next(ticks))
    assert gemm_flops(n=64, repeats=3) == pytest.approx(2 * 64 ** 3 / 0.25)


def test_a_timer_waits_for_the_gpu_before_it_reads_the_clock(monkeypatch):
    """CUDA kernels are queued: reading the clock without waiting times the launches only."""
    import torch

    from genarena.bench.common import clock
    waited = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: waited.append(device))
    clock(torch.device("cpu"))
    assert waited == []
    clock(torch.device("cuda:1"))
    assert waited == [torch.device("cuda:1")]


@pytest.mark.parametrize("name", ["PacGAN toy", "Lipizzaner"])
def test_the_speed_work_left_the_arithmetic_as_it_was(name):
    """The default update and the update as it was before the speed work (per-parameter optimizer
    loops, amax maxout) give the same statistics and weights, bit for bit, over 20 updates."""
    import torch

    from genarena.bench.workloads import WORKLOADS, build
    workload = next(w for w in WORKLOADS if w.name.startswith(name))
    (before, step_before), (after, step_after) = build(workload, "before"), build(workload, "after")
    for _ in range(20):
        assert step_before() == step_after()
    assert all(torch.equal(a, b) for a, b in zip(before.state_dict()["g"].values(),
                                                  after.state_dict()["g"].values()))


@pytest.mark.parametrize("method", ["QMIX", "DMIX"])
def test_the_marl_learners_default_update_is_the_old_one_and_fast_update_within_rounding(method):
    """The learner's update as before the speed work (Adam's per-parameter loop) and today's
    default give the same TD losses and weights bit for bit; marl.fast_update (the GRU as one
    sequence, the team's quantile fractions embedded once) stays within float32 rounding over 5
    updates of the same sampled batches."""
    import torch

    from genarena.bench.workloads import WORKLOADS, build
    workload = next(w for w in WORKLOADS if w.name.startswith(f"{method} learner"))
    (before, learn_before), (after, learn_after), (fast, learn_fast) = (
        build(workload, v) for v in ("before", "after", "opt-in"))
    assert fast.learner.agents.fast and not after.learner.agents.fast
    for _ in range(5):
        loss = learn_after()
        assert learn_before() == loss and learn_fast() == pytest.approx(loss, rel=1e-4)
    for a, b, c in zip(before.learner.online.parameters(), after.learner.online.parameters(),
                       fast.learner.online.parameters()):
        assert torch.equal(a, b)
        torch.testing.assert_close(c, b, rtol=1e-4, atol=1e-6)
