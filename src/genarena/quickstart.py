"""`make run`: train a configuration and a plain baseline on embedded data, print how they compare.

The pair lives in QUICKSTART so that it moves with the project (MNIST-5k once images land).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from genarena.api import train
from genarena.report.tables import comparison_rows, format_table

QUICKSTART = (
    ("ring8-nsgan", "non-saturating GAN: the loss that keeps G's gradient alive"),
    ("ring8-bce", "plain minimax GAN (Goodfellow 2014): the baseline"),
)


def main(root: str = "runs/quickstart") -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs = []
    for preset, what in QUICKSTART:
        print(f"== training {preset}: {what}", flush=True)
        runs.append(train(preset, out=Path(root) / f"{preset}-{stamp}", quiet=False))
    rows, cols = comparison_rows([r.path for r in runs])
    print()
    print(format_table(rows, cols))
    print()
    for r in runs:
        print(f"{r.path.name}: report {r.path / 'report.html'}, samples {r.path / 'samples'}")
    print(f"outputs: {Path(root).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
