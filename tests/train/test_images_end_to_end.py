"""Image runs for real: a DCGAN and a VAE on MNIST-5k improve FID over their first snapshot."""
import pytest

import genarena

FAST_IMAGES = {"steps": 800, "model__width": 32, "eval__n_samples": 1000, "eval__interval": 0,
               "log__checkpoint_interval": 50, "log__snapshot_interval": 50, "backend__threads": 1}


@pytest.mark.slow
# Measured with these settings (one torch thread, as every pytest worker): DCGAN FID 998 at step
# 50 -> 194 at step 800 (5.1×); VAE 1 166 -> 495 (2.4×). The asserted factors leave room for
# platform differences.
@pytest.mark.parametrize("preset,factor", [("mnist5k-nsgan", 3.0), ("mnist5k-vae", 1.8)])
def test_fid_improves_over_the_first_snapshot(tmp_path, feature_cache, preset, factor):
    run = genarena.train(preset, out=tmp_path / preset, eval__cache_dir=feature_cache, **FAST_IMAGES)
    final = run.summary["metrics"]["fid"]
    first = genarena.load_run(run.path, checkpoint="step-00000050.pt").evaluate(1000)["fid"]
    assert final * factor < first, (first, final)
    assert (run.path / "samples" / "final.png").read_bytes()[:4] == b"\x89PNG"


def test_digits_and_stacked_presets_train_and_report_their_keys(tmp_path, feature_cache):
    small = {"steps": 3, "eval__n_samples": 200, "eval__cache_dir": feature_cache,
             "model__width": 8, "data__batch_size": 16}
    digits = genarena.train("digits-gan", out=tmp_path / "digits", **small).summary["metrics"]
    assert digits["features"].startswith("lenet8x1-digits-") and digits["fid"] > 0
    stacked = genarena.train("stacked-mnist5k-gan", out=tmp_path / "stacked", **small)
    m = stacked.summary["metrics"]
    assert m["modes_total"] == 1000 and 0 < m["modes_captured"] <= 200 and m["reverse_kl"] > 0
    assert stacked.sample(5).shape == (5, 3, 28, 28)
