"""TensorBoard event files (log.tensorboard=true): the logged scalars and the sample pictures.

The writer is torch.utils.tensorboard's, which needs the `tensorboard` package (the extra
`genarena[tensorboard]`); without it, asking for TensorBoard is a user error, not a crash.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable

import numpy as np
from torch import Tensor

from genarena.data.base import Dataset
from genarena.errors import UserError
from genarena.report.plots import sample_picture_png


def flat_scalars(row: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numbers of a metrics.jsonl row, nested ones as 'eval/fid'; 'step' and non-numbers left out."""
    out: dict[str, float] = {}
    for key, value in row.items():
        if key == "step":
            continue
        if isinstance(value, dict):
            out.update(flat_scalars(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[prefix + key] = float(value)
    return out


class TensorBoard:
    """One run's event files under RUN/tensorboard."""

    def __init__(self, run_path: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("config key 'log.tensorboard': the tensorboard package is not "
                            "installed (pip install 'genarena[tensorboard]')") from None
        self.writer = SummaryWriter(str(run_path / "tensorboard"))

    @classmethod
    def open(cls, run_path: Path, enabled: bool) -> "TensorBoard | None":
        """A writer when log.tensorboard is on, else None."""
        return cls(run_path) if enabled else None

    def scalars(self, row: dict[str, Any]) -> None:
        """Every number of one logged row, at its step."""
        step = int(row["step"])
        for key, value in flat_scalars(row).items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def samples(self, x: Tensor, dataset: Dataset, step: int) -> None:
        """The run's sample picture (grid or scatter plot) as an image, when the data has one."""
        png = sample_picture_png(x, dataset)
        if png is None:
            return
        from PIL import Image
        image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        self.writer.add_image("samples", image, step, dataformats="HWC")
        self.writer.flush()

    def scalars_and_samples(self, dataset: Dataset | None
                            ) -> Callable[[dict[str, Any], Tensor | None], None]:
        """An observer of the loop's rows: their numbers, and the samples an evaluation row drew
        (pictured when there is a data set to picture them with)."""
        def observe(row: dict[str, Any], drawn: Tensor | None) -> None:
            self.scalars(row)
            if drawn is not None and dataset is not None:
                self.samples(drawn, dataset, int(row["step"]))
        return observe

    def close(self) -> None:
        self.writer.close()
