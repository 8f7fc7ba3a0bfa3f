"""Matplotlib figures written as PNG: sample scatter plots over true modes, training curves."""
from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from torch import Tensor

from genarena.checkpoint import atomic_write_bytes
from genarena.data.base import Dataset
from genarena.report.grids import grid_png

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _png(fig: "Figure") -> bytes:
    """A Figure as PNG bytes. Figures are made without pyplot, so drawing here neither needs
    nor changes matplotlib's backend (a notebook's inline plots keep working)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def _subplots(figsize: tuple[float, float], rows: int = 1, cols: int = 1,
              squeeze: bool = True) -> tuple["Figure", Any]:
    """A new Figure and its axes, as pyplot.subplots would make them, without pyplot's state
    (matplotlib is imported here, on first drawing: importing genarena does not load it)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, cols, squeeze=squeeze)


def scatter_png(samples: Tensor, dataset: Dataset | None = None, title: str = "") -> bytes:
    """2-D samples as dots, with the dataset's true mode centres as crosses when known."""
    x = samples.detach().cpu().flatten(1).numpy()
    fig, ax = _subplots((4.5, 4.5))
    ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.4, color="tab:blue", label="generated")
    if dataset is not None and dataset.modes is not None:
        c = dataset.modes.centres.numpy()
        ax.scatter(c[:, 0], c[:, 1], marker="x", s=40, color="tab:red", label="true modes")
        pad = 1.0 + 10 * dataset.modes.std
        ax.set_xlim(c[:, 0].min() - pad, c[:, 0].max() + pad)
        ax.set_ylim(c[:, 1].min() - pad, c[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title, fontsize=9)
    return _png(fig)


def sample_picture_png(samples: Tensor, dataset: Dataset, title: str = "") -> bytes | None:
    """The picture of `samples` that fits the data: an image grid (first 100) or a 2-D scatter
    plot over the true modes; None when there is none (e.g. 5-D vectors)."""
    if samples.dim() == 4 and samples.shape[1] in (1, 3):
        return grid_png(samples[:100], cols=10)
    if samples.flatten(1).shape[1] != 2:
        return None
    return scatter_png(samples, dataset, title)


def save_sample_figure(samples: Tensor, dataset: Dataset, path: str | Path, title: str = "") -> bool:
    """Write sample_picture_png to `path`; False when the data has no picture."""
    png = sample_picture_png(samples, dataset, title)
    if png is None:
        return False
    atomic_write_bytes(path, png)
    return True


def curves_png(rows: Sequence[dict[str, Any]], keys: Sequence[str], title: str = "") -> bytes | None:
    """Training curves of the given metrics.jsonl keys against step; None if none are logged."""
    series = {k: [(r["step"], r[k]) for r in rows if isinstance(r.get(k), (int, float))]
              for k in keys}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    cols = min(4, len(series))
    rows_n = -(-len(series) // cols)
    fig, axes = _subplots((3.6 * cols, 3 * rows_n), rows_n, cols, squeeze=False)
    for ax in axes.flat[len(series):]:
        ax.set_visible(False)
    for ax, (key, pts) in zip(axes.flat, series.items()):
        ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def lines_png(series: Mapping[str, Sequence[tuple[float, float]]], xlabel: str, ylabel: str,
              title: str = "") -> bytes:
    """Several named (x, y) curves on one pair of axes."""
    fig, ax = _subplots((6.5, 4))
    for name, pts in series.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, lw=1.2, label=name)
    _label(ax, xlabel, ylabel, title, legend_size=8)
    return _png(fig)


def _label(ax: Any, xlabel: str, ylabel: str, title: str, legend_size: int) -> None:
    """Axis labels, title, legend and a light grid: what every line chart here carries."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=legend_size)
    ax.grid(alpha=0.3)


def bands_png(series: Mapping[str, Sequence[tuple[float, float, float, float]]], xlabel: str,
              ylabel: str, title: str = "", references: Mapping[str, float] | None = None
              ) -> bytes:
    """Named curves of (x, mean, lo, hi): each mean a line, its interval a shaded band; each
    reference (a published endpoint) a dashed horizontal line in the colour of the same name."""
    fig, ax = _subplots((6.5, 4))
    colours: dict[str, Any] = {}
    for name, pts in series.items():
        line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=2.5, lw=1.2,
                        label=name)
        ax.fill_between([p[0] for p in pts], [p[2] for p in pts], [p[3] for p in pts],
                        color=line.get_color(), alpha=0.18, lw=0)
        colours[name] = line.get_color()
    for name, value in (references or {}).items():
        ax.axhline(value, ls="--", lw=1, color=colours.get(name, "#555"),
                   label=f"{name}: published")
    _label(ax, xlabel, ylabel, title, legend_size=7)
    return _png(fig)


def bars_png(series: Sequence[tuple], ylabel: str, title: str = "") -> bytes:
    """Horizontal bars (name, mean, per-seed values[, (lo, hi) interval or None]): each seed a
    dot on its method's bar, the interval of the mean a whisker."""
    fig, ax = _subplots((6.5, 0.45 * len(series) + 1.2))
    names = [s[0] for s in series]
    ys = list(range(len(series)))[::-1]
    ax.barh(ys, [s[1] for s in series], color="#7aa6d6")
    for y, (_, mean, values, *rest) in zip(ys, series):
        ax.plot(list(values), [y] * len(values), "k.", ms=4)
        interval = rest[0] if rest else None
        if interval is not None:
            lo, hi = interval
            ax.errorbar([mean], [y], xerr=[[mean - lo], [hi - mean]], fmt="none", ecolor="#333",
                        capsize=3, lw=1)
    ax.set_yticks(ys, names, fontsize=8)
    ax.set_xlabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def cell_heatmap_png(rows: Sequence[dict[str, Any]], prefix: str = "score_cell_",
                     title: str = "cell mixture scores (lower is better)") -> bytes | None:
    """Coevolution: each cell's score (columns: cells) over generations (rows), as a heat map."""
    cells = sorted({int(k[len(prefix):]) for r in rows for k in r if k.startswith(prefix)})
    steps = [r for r in rows if any(k.startswith(prefix) for k in r)]
    if not cells or not steps:
        return None
    import numpy as np
    data = np.array([[r.get(f"{prefix}{c}", np.nan) for c in cells] for r in steps], dtype=float)
    data[~np.isfinite(data)] = np.nan
    fig, ax = _subplots((max(4.0, 0.45 * len(cells) + 2), 4))
    image = ax.imshow(data, aspect="auto", cmap="viridis_r", interpolation="nearest",
                      extent=(-0.5, len(cells) - 0.5, steps[-1]["step"] + 0.5, steps[0]["step"] - 0.5))
    ax.set_xticks(range(len(cells)), [str(c) for c in cells], fontsize=7)
    ax.set_xlabel("cell")
    ax.set_ylabel("generation")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax)
    return _png(fig)
