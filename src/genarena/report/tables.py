"""Plain-text and markdown tables of run summaries (compare, quickstart, benchmarks)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence


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


def comparison_rows(run_dirs: Sequence[str | Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per run (name, trainer, data, time, every metric) and the column order."""
    from genarena.run import RunDir
    rows, metric_keys = [], []
    for d in run_dirs:
        summary = RunDir.existing(d).read_summary()
        metrics = summary.get("metrics", {})
        for k in metrics:
            if k not in metric_keys and k != "n_samples":
                metric_keys.append(k)
        rows.append({"run": Path(d).name, "trainer": summary.get("trainer"),
                     "dataset": summary.get("dataset"), "steps": summary.get("steps"),
                     "seconds": summary.get("train_seconds"), **metrics})
    return rows, ["run", "trainer", "dataset", "steps", "seconds", *metric_keys]
