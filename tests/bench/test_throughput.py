"""The throughput suite runs end to end and writes its JSON and markdown (numbers live in results)."""
import json

import pytest

from genarena.bench.throughput import gemm_flops, run

pytestmark = pytest.mark.slow            # end to end: `make test-fast` leaves it out


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
