"""The throughput suite runs end to end and writes its JSON and markdown (numbers live in results)."""
import json

from genarena.bench.throughput import gemm_flops, run


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


def test_gemm_flops_is_positive():
    assert gemm_flops(n=256, repeats=2) > 0
