"""The controller interface: knob bounds, the static controller, knob state round trips."""
import pytest

from genarena.config import ControllerConfig
from genarena.control import Knobs, StaticController, build_controller


def test_knobs_are_clamped_to_a_factor_of_ten_of_their_start():
    k = Knobs(lr_g=1e-3, lr_d=2e-3, d_steps=1, weights={"fm": 1.0})
    k.lr_g, k.lr_d, k.d_steps, k.weights["fm"] = 1.0, 1e-9, 50, 0.0
    k.clamp()
    assert k.lr_g == pytest.approx(1e-2) and k.lr_d == pytest.approx(2e-4)
    assert k.d_steps == 10 and k.weights["fm"] == pytest.approx(0.1)


def test_back_off_moves_the_bounds_too():
    k = Knobs(lr_g=1e-3, lr_d=1e-3, d_steps=1)
    k.scale_learning_rates(0.5)
    k.lr_g = 1e-9
    k.clamp()
    assert k.lr_g == pytest.approx(0.5e-4)


def test_state_round_trip_and_log():
    k = Knobs(lr_g=1e-3, lr_d=2e-3, d_steps=3, weights={"aux": 0.5})
    again = Knobs.from_state(k.state_dict())
    assert again == k
    assert k.as_log() == {"lr_g": 1e-3, "lr_d": 2e-3, "d_steps": 3, "w_aux": 0.5}


def test_static_controller_changes_nothing():
    c = build_controller(ControllerConfig(name="static", interval=7))
    assert isinstance(c, StaticController) and c.interval == 7
    k = Knobs(lr_g=1e-3, lr_d=1e-3, d_steps=1)
    assert c.decide({"d_acc_real": 1.0}, k) == Knobs(lr_g=1e-3, lr_d=1e-3, d_steps=1)
