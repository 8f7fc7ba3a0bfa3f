"""APFL on synthetic statistics: it moves the knobs toward the D-accuracy band, within bounds."""
import pytest

from genarena.control import APFLController, Knobs


def _knobs():
    return Knobs(lr_g=1e-3, lr_d=1e-3, d_steps=1, weights={"fm": 1.0, "aux": 0.5})


def _stats(acc):
    return {"d_acc_real": acc, "d_acc_fake": acc, "loss_d": 1.0, "loss_g": 1.0}


def test_too_strong_d_lowers_lr_d_and_raises_lr_g_and_feature_matching():
    apfl = APFLController(10, 0.6, 0.8, eta=0.1)
    k = apfl.decide(_stats(0.95), _knobs()).clamp()
    assert k.lr_d < 1e-3 < k.lr_g and k.weights["fm"] > 1.0
    assert k.lr_d >= 1e-3 * 0.9 - 1e-12 and k.lr_g <= 1e-3 * 1.1 + 1e-12      # at most (1 ± η)
    assert apfl.log()["apfl_u"] == pytest.approx(0.75)


def test_too_weak_d_does_the_reverse():
    k = APFLController(10, 0.6, 0.8, eta=0.1).decide(_stats(0.3), _knobs()).clamp()
    assert k.lr_d > 1e-3 > k.lr_g and k.weights["fm"] < 1.0


def test_inside_the_band_nothing_changes():
    k = APFLController(10, 0.6, 0.8, eta=0.1).decide(_stats(0.7), _knobs()).clamp()
    assert (k.lr_g, k.lr_d, k.weights["fm"]) == (1e-3, 1e-3, 1.0)


def test_a_persistent_error_saturates_at_the_knob_bounds():
    apfl, k = APFLController(10, 0.6, 0.8, eta=0.5), _knobs()
    for _ in range(100):
        k = apfl.decide(_stats(1.0), k).clamp()
    assert k.lr_d == pytest.approx(1e-4) and k.lr_g == pytest.approx(1e-2)
    assert k.weights["fm"] == pytest.approx(10.0) and k.weights["aux"] == 0.5


def test_state_round_trip():
    a = APFLController(10, 0.6, 0.8, 0.1)
    a.decide(_stats(0.9), _knobs())
    b = APFLController(10, 0.6, 0.8, 0.1)
    b.load_state_dict(a.state_dict())
    assert b.decide(_stats(0.9), _knobs()).lr_d == a.decide(_stats(0.9), _knobs()).lr_d
