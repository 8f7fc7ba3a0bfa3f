"""A training step's statistics: floats, or on a GPU 0-dim tensors left on the device.

Reading a GPU value waits for the device, so a GPU step does not read its losses (`statistic`);
`genarena.train.meter.Meter` sums them on the device and reads them all at once when a log line,
a checkpoint or a decision needs them.
"""
from __future__ import annotations

import math
from typing import Mapping, Union

import torch
from torch import Tensor

Stat = Union[float, Tensor]
Stats = Mapping[str, Stat]          # what a step returns (built as a dict[str, Stat])


def statistic(value: Tensor) -> Stat:
    """A step's 0-dim statistic: a float on the CPU (reading it costs nothing there), the
    detached tensor on another device (read later, with the others, by a `Meter`)."""
    return value.item() if value.device.type == "cpu" else value.detach()


def as_floats(stats: Stats) -> dict[str, float]:
    """The statistics as floats, the device ones read in one transfer."""
    keys = [k for k, v in stats.items() if isinstance(v, Tensor)]
    floats = {k: v for k, v in stats.items() if not isinstance(v, Tensor)}
    if not keys:
        return floats
    read = dict(zip(keys, torch.stack([torch.as_tensor(stats[k]).double() for k in keys]).tolist()))
    return {k: floats[k] if k in floats else read[k] for k in stats}


def all_finite(stats: Stats) -> bool:
    """Whether every statistic is finite (one read of the device values, if there are any)."""
    return all(math.isfinite(v) for v in as_floats(stats).values())
