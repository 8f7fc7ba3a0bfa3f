"""Leaderboards: runs grouped by (data set, method), seeds aggregated (mean ± sd and a 95%
bootstrap interval), ranked by mean with overlapping intervals marked as ties, beside published
rows; written as markdown and as a self-contained HTML page with bar charts (interval whiskers)
and each method's samples. `genarena compare --html` and `genarena bench modes` both write one."""
from __future__ import annotations

import html
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from genarena.catalogue import RANKING, better
from genarena.checkpoint import atomic_write_text
from genarena.metrics.modes import ranked_value
from genarena.report.curves import band, run_curve
from genarena.report.html import STYLE, embedded_img
from genarena.report.plots import bands_png, bars_png
from genarena.stats import Estimate, estimate, mean_sd

# Ranking keys in priority order, with the better direction: the first two a board has decide.
RANK_KEYS = tuple((k, "max" if better(k) == "higher" else "min") for k in RANKING)
SHOWN = ("modes_captured", "high_quality_fraction", "reverse_kl", "swd", "fid", "fid_logits",
         "precision", "recall", "coverage", "classes_covered")


@dataclass
class Entry:
    """One finished run: which method on which data, its seed, metrics, time and samples."""
    method: str
    dataset: str
    seed: int
    metrics: dict[str, float]
    seconds: float
    thumbnail: bytes | None = None
    path: Path | None = None          # the run directory, whose evaluations make the curve


@dataclass
class Row:
    """A method on a data set over seeds (or a published row: `published` names the source)."""
    method: str
    dataset: str
    seeds: list[int] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    thumbnail: bytes | None = None
    published: str = ""
    paths: list[Path] = field(default_factory=list)
    scored_on: list[str] = field(default_factory=list)   # what each seed's scores compared

    def curve(self, key: str) -> list[tuple[int, float, float, float]]:
        """The convergence curve of `key` over the seeds: (step, mean, lo, hi) at each
        evaluation every seed made (empty for a published row or runs evaluated once)."""
        curves = [run_curve(p, key) for p in self.paths]
        pts = band([c for c in curves if c]) if curves and all(curves) else []
        return pts if len(pts) > 1 else []

    def mean(self, key: str) -> float | None:
        vals = [v for v in self.values.get(key, []) if not math.isnan(v)]
        return statistics.fmean(vals) if vals else None

    def cell(self, key: str) -> str:
        """mean ± sd [interval] over seeds, to the decimals the mean's size calls for."""
        return mean_sd(self.values.get(key, []))

    def estimate(self, key: str) -> Estimate | None:
        vals = [v for v in self.values.get(key, []) if not math.isnan(v)]
        return estimate(vals) if vals else None


def aggregate(entries: Sequence[Entry]) -> list[Row]:
    """Group entries by (data set, method), in first-seen order."""
    rows: dict[tuple[str, str], Row] = {}
    for e in entries:
        row = rows.setdefault((e.dataset, e.method), Row(e.method, e.dataset))
        row.seeds.append(e.seed)
        row.seconds.append(e.seconds)
        for k in e.metrics:
            v = ranked_value(e.metrics, k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                row.values.setdefault(k, []).append(float(v))
        row.thumbnail = row.thumbnail or e.thumbnail
        counts = scored_on(e.metrics)
        if counts and counts not in row.scored_on:
            row.scored_on.append(counts)
        if e.path is not None:
            row.paths.append(e.path)
    return list(rows.values())


def scored_on(metrics: dict[str, Any]) -> str:
    """"N generated vs M reference (split)": the sample counts behind a run's scores (sample-count
    biased scores such as FID compare only at equal counts)."""
    if "n_samples" not in metrics or "reference_samples" not in metrics:
        return ""
    split = f" ({metrics['reference_split']})" if metrics.get("reference_split") else ""
    return f"{metrics['n_samples']} generated vs {metrics['reference_samples']} reference{split}"


def scored_on_line(group: Sequence[Row]) -> str:
    """One sentence naming the sample counts of a data set's board (empty when none recorded)."""
    counts = list(dict.fromkeys(c for r in group for c in r.scored_on))
    return f"Scores on {'; '.join(counts)} samples." if counts else ""


def rank_keys(rows: Sequence[Row]) -> list[tuple[str, str]]:
    """The (up to two) ranking keys every measured row of a board has."""
    measured = [r for r in rows if not r.published]
    present = [(k, d) for k, d in RANK_KEYS if measured and all(r.values.get(k) for r in measured)]
    return present[:2]


def ranked(rows: Sequence[Row]) -> list[Row]:
    """Measured rows best first by the board's ranking keys; published rows after them."""
    keys = rank_keys(rows)

    def key(r: Row) -> tuple[float, ...]:
        out = []
        for k, direction in keys:
            m = r.mean(k)
            m = math.inf if m is None else (-m if direction == "max" else m)
            out.append(m)
        return tuple(out)
    measured = sorted((r for r in rows if not r.published), key=key)
    return measured + [r for r in rows if r.published]


def rank_labels(order: Sequence[Row], keys: Sequence[tuple[str, str]]) -> list[str]:
    """Ranks of rows in ranked order; a row whose interval on the first ranking key overlaps the
    interval of the row that opened its group shares that row's rank, marked "=" (a tie: the
    seeds cannot order them). Published rows get no rank."""
    labels: list[str] = []
    opener: tuple[int, Estimate] | None = None
    tied: set[int] = set()
    measured = [r for r in order if not r.published]
    first = keys[0][0] if keys else None
    for i, r in enumerate(measured):
        e = r.estimate(first) if first else None
        o = opener[1] if opener else None
        if opener is not None and e is not None and o is not None and e.overlaps(o):
            labels.append(labels[opener[0]].rstrip("="))
            tied |= {opener[0], i}
        else:
            labels.append(str(i + 1))
            opener = (i, e) if e is not None else None
    labels = [f"{label}=" if i in tied else label for i, label in enumerate(labels)]
    return labels + [""] * (len(order) - len(measured))


def columns(rows: Sequence[Row]) -> list[str]:
    return [k for k in SHOWN if any(r.values.get(k) for r in rows)]


def by_dataset(rows: Sequence[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for r in rows:
        out.setdefault(r.dataset, []).append(r)
    return out


def markdown(rows: Sequence[Row]) -> list[str]:
    """One ranked table per data set."""
    lines: list[str] = []
    for dataset, group in by_dataset(rows).items():
        cols = columns(group)
        keys = ", ".join(f"{k} ({'higher' if d == 'max' else 'lower'} is better)"
                         for k, d in rank_keys(group))
        first = rank_keys(group)[0][0] if rank_keys(group) else ""
        lines += [f"### {dataset}", "", f"Ranked by the mean of {keys}; cells are mean ± sd "
                  "[95% bootstrap interval] over seeds; \"=\" marks ranks whose intervals on the "
                  "first key overlap (tied). The last column is the mean of the first key "
                  "half-way through training and at its end: has the method plateaued? (The "
                  "curves, with their bands: the HTML page.)",
                  *([scored_on_line(group)] if scored_on_line(group) else []), "",
                  "| rank | method | seeds | " + " | ".join(cols) + " | train s | "
                  f"{first} ½ → end |", "|---|---|---|" + "---|" * len(cols) + "---|---|"]
        order = ranked(group)
        for r, rank in zip(order, rank_labels(order, rank_keys(group))):
            seeds = r.published if r.published else str(len(r.seeds))
            secs = f"{statistics.fmean(r.seconds):.0f}" if r.seconds else "–"
            lines.append(f"| {rank} | {r.method} | {seeds} | " +
                         " | ".join(r.cell(c) for c in cols) + f" | {secs} | "
                         f"{_trend(r.curve(first)) if first else '–'} |")
        lines.append("")
    return lines


def page(title: str, rows: Sequence[Row], preamble: Sequence[str] = (),
         notes: Sequence[str] = ()) -> str:
    """A self-contained HTML leaderboard: per data set a ranked table, a bar chart of the first
    ranking key, and every method's samples."""
    parts = [f"<h1>{html.escape(title)}</h1>"] + [f"<p>{html.escape(p)}</p>" for p in preamble]
    for dataset, group in by_dataset(rows).items():
        cols, keys = columns(group), rank_keys(group)
        order = ranked(group)
        parts.append(f"<h2>{html.escape(dataset)}</h2>")
        if scored_on_line(group):
            parts.append(f"<p>{html.escape(scored_on_line(group))}</p>")
        head = "".join(f"<th>{html.escape(c)}</th>" for c in ["rank", "method", "seeds", *cols,
                                                              "train s"])
        body = []
        for r, rank in zip(order, rank_labels(order, keys)):
            cells = [rank, r.method,
                     r.published or str(len(r.seeds)), *(r.cell(c) for c in cols),
                     f"{statistics.fmean(r.seconds):.0f}" if r.seconds else "–"]
            cls = ' class="published"' if r.published else ""
            body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                        + "</tr>")
        parts.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")
        if keys:
            k = keys[0][0]
            series = [(r.method, r.mean(k) or 0.0, r.values.get(k, []),
                       _interval(r.estimate(k))) for r in order if r.mean(k) is not None]
            png = bars_png(series, k, f"{dataset}: {k}")
            parts.append(embedded_img(png, f"{dataset} {k}"))
            curves = {r.method: r.curve(k) for r in order if not r.published}
            curves = {m: c for m, c in curves.items() if c}
            if curves:
                refs = {r.method: m for r in order if r.published and (m := r.mean(k)) is not None}
                parts.append(embedded_img(bands_png(
                    curves, "generator updates", k, f"{dataset}: {k} over training (mean, 95% "
                    "band over seeds; dashed: published endpoints)", refs), f"{dataset} curves"))
        thumbs = [(r.method, r.thumbnail) for r in order if r.thumbnail]
        if thumbs:
            figures = [f"<figure>{embedded_img(t, m, 220)}<figcaption>{html.escape(m)}"
                       "</figcaption></figure>" for m, t in thumbs]
            parts.append(f"<div class='thumbs'>{''.join(figures)}</div>")
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    style = STYLE + (".thumbs{display:flex;flex-wrap:wrap;gap:.5rem}figure{margin:0}"
                     "tr.published td{color:#666;font-style:italic}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>")


def write(out: Path, name: str, title: str, rows: Sequence[Row], preamble: Sequence[str] = (),
          notes: Sequence[str] = ()) -> list[Path]:
    """out/name.md and out/name.html, written atomically."""
    out.mkdir(parents=True, exist_ok=True)
    md = [f"# {title}", "", *preamble, "", *markdown(rows), *notes, ""]
    atomic_write_text(out / f"{name}.md", "\n".join(md))
    atomic_write_text(out / f"{name}.html", page(title, rows, preamble, notes))
    return [out / f"{name}.md", out / f"{name}.html"]


def _trend(pts: Sequence[tuple[int, float, float, float]]) -> str:
    """"half-way mean → final mean" of a curve (– without one)."""
    if not pts:
        return "–"
    return f"{pts[len(pts) // 2][1]:.3g} → {pts[-1][1]:.3g}"


def _interval(e: Estimate | None) -> tuple[float, float] | None:
    return (e.lo, e.hi) if e is not None and e.n > 1 else None


SEED_SUFFIX = re.compile(r"-s\d+$")


def entries_from_runs(run_dirs: Sequence[str | Path]) -> list[Entry]:
    """Entries of finished run directories; a method is the directory name less any '-sN'."""
    from genarena.run import RunDir
    out = []
    for d in run_dirs:
        run = RunDir.existing(d)
        summary = run.read_summary()
        final = run.samples / "final.png"
        out.append(Entry(method=SEED_SUFFIX.sub("", run.path.name),
                         dataset=str(summary.get("dataset")), seed=int(summary.get("seed", 0)),
                         metrics=dict(summary.get("metrics", {})),
                         seconds=float(summary.get("train_seconds", 0.0)),
                         thumbnail=final.read_bytes() if final.exists() else None,
                         path=run.path))
    return out


def published_row(method: str, dataset: str, source: str, **values: float) -> Row:
    """A row of a published table (shown, never ranked)."""
    return Row(method, dataset, values={k: [v] for k, v in values.items()}, published=source)


def summary_of(rows: Sequence[Row]) -> dict[str, Any]:
    """Plain data of a board for JSON results."""
    return {f"{r.dataset}/{r.method}": {"seeds": r.seeds, "published": r.published,
                                        "values": r.values, "seconds": r.seconds} for r in rows}
