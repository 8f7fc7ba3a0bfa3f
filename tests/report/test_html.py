"""report.html: self-contained, with the metric table, curves and samples."""
from helpers import FAST

import genarena
from genarena.report.html import write_report
from genarena.report.plots import curves_png, scatter_png


def test_report_contains_metrics_curves_and_samples(tmp_path):
    run = genarena.train("grid25-hinge", out=tmp_path / "r",
                         **{k.replace(".", "__"): v for k, v in {**FAST, "eval.interval": 20}.items()})
    page = write_report(run.path).read_text()
    assert page.count("data:image/png;base64,") >= 4      # losses, accuracy, knobs, eval, samples
    assert "high_quality_fraction" in page and "evaluation during training" in page
    assert "<table>" in page and "src=\"http" not in page


def test_plots_are_png():
    import torch
    assert scatter_png(torch.randn(50, 2))[:4] == b"\x89PNG"
    assert curves_png([{"step": 1, "a": 1.0}, {"step": 2, "a": 0.5}], ["a"])[:4] == b"\x89PNG"
    assert curves_png([{"step": 1}], ["a"]) is None
