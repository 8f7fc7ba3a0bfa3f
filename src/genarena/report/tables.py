"""Plain-text and markdown tables of run summaries (compare, quickstart, benchmarks)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from genarena.catalogue import METRICS


def format_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "n/a" if v is None else str(v)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], markdown: bool = False) -> str:
    """Rows of dicts as aligned text or a markdown table; missing values print as n/a."""
    cells = [[format_value(r.get(c)) for c in columns] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(out)


def _running_row(run: Any) -> dict[str, Any]:
    """An unfinished run: its latest logged step, training seconds and in-training evaluation."""
    rows = run.read_metrics()
    last: dict[str, Any] = max((r for r in rows if "event" not in r),
                               key=lambda r: r.get("step", 0), default={})
    evals = [r for r in rows if isinstance(r.get("eval"), dict)]
    cfg = run.read_config()
    name = cfg.data.name if not cfg.data.path else Path(cfg.data.path).stem
    return {"status": f"running {last.get('step', 0)}/{cfg.steps}", "trainer": cfg.trainer.name,
            "dataset": name, "steps": last.get("step", 0), "seconds": last.get("elapsed"),
            "metrics": evals[-1]["eval"] if evals else {}}


def comparison_rows(run_dirs: Sequence[str | Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per run (name, trainer, data, time, every metric) and the column order.

    A run without summary.json shows its latest logged metrics and the status `running N/TOTAL`
    (a status column appears only when some run is unfinished)."""
    from genarena.run import RunDir
    rows, metric_keys = [], []
    for d in run_dirs:
        run = RunDir.existing(d)
        if run.summary_file.exists():
            summary = run.read_summary()
            info = {"status": "done", "trainer": summary.get("trainer"),
                    "dataset": summary.get("dataset"), "steps": summary.get("steps"),
                    "seconds": summary.get("train_seconds"), "metrics": summary.get("metrics", {})}
        else:
            info = _running_row(run)
        metrics = info.pop("metrics")
        for k in metrics:
            if k not in metric_keys and k != "n_samples":
                metric_keys.append(k)
        rows.append({"run": Path(d).name, **info, **metrics})
    status = ["status"] if any(r["status"] != "done" for r in rows) else []
    order = list(METRICS)                      # the catalogue's order; unknown keys last
    metric_keys.sort(key=lambda k: order.index(k) if k in order else len(order))
    return rows, ["run", *status, "trainer", "dataset", "steps", "seconds", *metric_keys]
