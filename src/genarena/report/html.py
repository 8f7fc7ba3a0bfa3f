"""report.html of a run: metric table, configuration, training curves and samples, self-contained."""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from genarena.catalogue import curve_groups as catalogue_groups
from genarena.catalogue import stat_group
from genarena.checkpoint import atomic_write_text
from genarena.report.plots import cell_heatmap_png, curves_png
from genarena.run import RunDir


def curve_groups(rows: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """The catalogue's curve groups, with the per-member statistics these rows log (a loss's
    share of draws, say) added to their family's group. Cell scores have their heat map."""
    groups = [(title, list(keys)) for title, keys in catalogue_groups()]
    logged = sorted({k for r in rows for k in r if not k.startswith("score_cell_")})
    for key in logged:
        group = stat_group(key)
        for title, keys in groups:
            if title == group and key not in keys:
                keys.append(key)
    return groups


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left}th{background:#f3f3f3}pre{background:#f7f7f7;padding:1rem;overflow:auto;
font-size:.8rem}img{max-width:100%;margin:.5rem 0}h2{border-bottom:1px solid #ddd}
"""


def embedded_img(data: bytes, alt: str, width: int | None = None) -> str:
    """An <img> carrying its PNG inline, so pages need no other file and no network."""
    size = f' width="{width}"' if width else ""
    return (f'<img alt="{html.escape(alt)}"{size} '
            f'src="data:image/png;base64,{base64.b64encode(data).decode()}">')


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in rows)
    return f"<table>{body}</table>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return "n/a" if v is None else str(v)


def write_report(run_dir: str | Path) -> Path:
    """Write RUN_DIR/report.html (no network resources: images are embedded) and return its path."""
    run = RunDir.existing(run_dir)
    summary = run.read_summary() if run.summary_file.exists() else {}
    rows = [r for r in run.read_metrics() if "event" not in r]
    evals = [{"step": r["step"], **r["eval"]} for r in rows if isinstance(r.get("eval"), dict)]
    parts = [f"<h1>genarena run: {html.escape(run.path.name)}</h1>"]
    if summary:
        parts.append("<h2>Final metrics</h2>")
        parts.append(_table(list(summary.get("metrics", {}).items())))
        meta = [(k, v) for k, v in summary.items() if k != "metrics"]
        parts.append(_table(meta))
    for title, keys in curve_groups(rows):
        png = curves_png(rows, keys, title)
        if png:
            parts.append(f"<h2>{html.escape(title)}</h2>{embedded_img(png, title)}")
    heat = cell_heatmap_png(rows)
    if heat:
        parts.append(f"<h2>cell scores over generations</h2>{embedded_img(heat, 'cell scores')}")
    if evals:
        keys = [k for k, v in evals[-1].items() if isinstance(v, (int, float))
                and k not in ("step", "elapsed", "n_samples", "modes_total", "reference_samples",
                              "features_test_accuracy")]
        png = curves_png(evals, keys, "evaluation during training")
        if png:
            parts.append(f"<h2>evaluation during training</h2>{embedded_img(png, 'evaluation')}")
    images = sorted(run.samples.glob("*.png")) if run.samples.exists() else []
    if images:
        parts.append("<h2>samples</h2>")
        parts += [f"<figure>{embedded_img(p.read_bytes(), p.stem)}<figcaption>"
                  f"{html.escape(p.stem)}</figcaption></figure>" for p in images[-4:]]
    parts.append(f"<h2>configuration</h2><pre>{html.escape(run.config_file.read_text())}</pre>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(run.path.name)}"
            f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    out = run.path / "report.html"
    atomic_write_text(out, page)
    return out
