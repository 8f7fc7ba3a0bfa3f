"""Step statistics as floats or device scalars, and the meter that averages them."""
import math

import torch

from genarena.scalars import all_finite, as_floats, statistic
from genarena.train.meter import Meter


def test_a_statistic_is_read_on_the_cpu_and_left_unread_elsewhere():
    assert statistic(torch.tensor(0.25)) == 0.25
    on_meta = torch.tensor(0.25, device="meta")          # reading it would raise
    kept = statistic(on_meta * torch.ones((), device="meta", requires_grad=True))
    assert kept.device.type == "meta" and not kept.requires_grad       # detached from the graph


def test_device_scalars_are_read_together_and_floats_pass_through():
    stats = {"a": 1.5, "b": torch.tensor(2.5, dtype=torch.float64), "c": torch.tensor(-1.0)}
    assert as_floats(stats) == {"a": 1.5, "b": 2.5, "c": -1.0}
    assert list(as_floats(stats)) == ["a", "b", "c"]
    assert all_finite(stats) and not all_finite({**stats, "c": torch.tensor(math.inf)})


def test_a_meter_of_tensors_gives_the_means_of_a_meter_of_floats():
    values = [0.1, 0.7, 1e-8, 3.3]
    floats, tensors = Meter(), Meter()
    for v in values:
        floats.add({"loss": v, "sparse": v} if v > 1 else {"loss": v})
        tensors.add({"loss": torch.tensor(v, dtype=torch.float64)} |
                    ({"sparse": torch.tensor(v, dtype=torch.float64)} if v > 1 else {}))
    assert tensors.mean() == floats.mean() and tensors.state_dict() == floats.state_dict()
    assert tensors.finite() and tensors.non_finite() == []
    tensors.add({"loss": torch.tensor(math.nan)})
    assert not tensors.finite() and tensors.non_finite() == ["loss"]
    resumed = Meter()
    resumed.load_state_dict(floats.state_dict())
    resumed.add({"loss": torch.tensor(1.0, dtype=torch.float64)})
    floats.add({"loss": 1.0})
    assert resumed.mean() == floats.mean()
