"""The one catalogue of what genarena measures: every evaluation metric and every training
statistic, with its better direction, the curve group it is drawn in, whether progress lines
show it.

Progress bars, report curves, the leaderboard's ranking, `compare`, the quickstart table and the
bench tables read it; a test fails when a trainer logs a statistic it lacks. It imports nothing
of genarena, so every layer may read it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Measure:
    """One named quantity: `better` is "higher", "lower" or "" (neither, e.g. a count of samples
    or a knob); `group` the report section whose curves show it ("" for evaluation metrics)."""
    name: str
    better: str = ""
    group: str = ""
    on_progress: bool = False


def _stats(group: str, *names: str, progress: Sequence[str] = ()) -> list[Measure]:
    return [Measure(n, "", group, n in progress) for n in names]


# Evaluation metrics in the order tables show them, each with its better direction.
_UP, _DOWN = "higher", "lower"
METRICS: dict[str, Measure] = {name: Measure(name, better) for name, better in (
    ("modes_captured", _UP), ("modes_total", ""), ("modes_confident", _UP),
    ("confident_fraction", _UP), ("high_quality_fraction", _UP),
    ("reverse_kl", _DOWN), ("swd", _DOWN), ("fid", _DOWN), ("kid", _DOWN), ("kid_sd", ""),
    ("fid_logits", _DOWN), ("fid_inception", _DOWN), ("kid_inception", _DOWN),
    ("kid_inception_sd", ""), ("inception_score_inception", _UP), ("inception_network", ""),
    ("inception_weights_sha256", ""), ("inception_score", _UP), ("tvd", _DOWN),
    ("classes_covered", _UP),
    ("precision", _UP), ("recall", _UP), ("density", _UP), ("coverage", _UP), ("cas", _UP),
    ("classwise_precision", _UP), ("classwise_recall", _UP), ("classwise_density", _UP),
    ("classwise_coverage", _UP), ("classwise_fid", _DOWN), ("classwise_samples", ""),
    ("n_samples", ""), ("reference_samples", ""), ("reference_split", ""), ("prdc_samples", ""),
    ("features", ""),
    ("features_test_accuracy", _UP),
    # the marl trainer's evaluation: greedy test episodes
    ("test_return", _UP), ("test_return_sd", ""), ("test_terminated", _UP), ("test_episodes", ""))}

STATS: dict[str, Measure] = {m.name: m for m in [
    *_stats("losses", "loss_d", "loss_g", "gp", "r1", "loss_vae", "recon", "kl", "loss_dsm",
            "loss_clf", "ce", "dlsm",
            progress=("loss_d", "loss_g", "loss_vae", "loss_dsm", "loss_clf")),
    *_stats("discriminator accuracy", "d_acc_real", "d_acc_fake",
            progress=("d_acc_real", "d_acc_fake")),
    *_stats("knobs", "lr_g", "lr_d", "d_steps", "lr", "lr_clf"),
    *_stats("MSPG-SEN losses", "loss_g_adv", "loss_aux_d", "loss_aux_g", "aux_acc", "loss_fm",
            "loss_con", "diversity", "grad_norm_g", "grad_norm_d", "amp_skipped_g",
            "amp_skipped_d", "progress"),
    *_stats("controller decisions", "w_aux", "w_fm", "w_con", "apfl_acc", "apfl_u", "bal_action",
            "bal_reward", "bal_q_max", "bal_q_mean", "bal_epsilon", "bal_quality", "bal_loss",
            "dfac_reward", "dfac_loss", "dfac_epsilon", "dfac_noop_fraction", "knob_lr_g",
            "knob_lr_d", "knob_d_steps"),
    *_stats("coevolution", "score_best", "replaced_g", "fitness", "bytes_exchanged"),
    *_stats("multi-agent RL", "train_return", "loss_td", "marl_epsilon",
            progress=("train_return", "loss_td")),
]}

# Families of statistics named per member: a cell's score, a loss's share of draws or of E-GAN's
# survivors. Their curves go to the family's group.
FAMILIES = ((re.compile(r"score_cell_\d+"), "coevolution"),
            (re.compile(r"draw_[a-z-]+"), "coevolution"),
            (re.compile(r"chosen_[a-z-]+"), "coevolution"))

# What a metrics.jsonl row holds besides statistics.
ROW_FIELDS = frozenset({"step", "elapsed", "eval", "event", "non_finite", "retry", "from_steps",
                        "to_steps"})

# The leaderboard ranks by these, in priority order (a board uses the first two it has).
RANKING = ("modes_captured", "reverse_kl", "fid", "fid_logits", "swd", "high_quality_fraction",
           "test_return")


def stat_group(name: str) -> str | None:
    """The curve group of a logged statistic; None when the catalogue does not know it."""
    if name in STATS:
        return STATS[name].group
    return next((group for pattern, group in FAMILIES if pattern.fullmatch(name)), None)


def curve_groups() -> list[tuple[str, list[str]]]:
    """(group, statistic names) in catalogue order: the report's curve sections."""
    groups: dict[str, list[str]] = {}
    for m in STATS.values():
        groups.setdefault(m.group, []).append(m.name)
    return list(groups.items())


def progress_keys() -> tuple[str, ...]:
    """The statistics progress lines show."""
    return tuple(m.name for m in STATS.values() if m.on_progress)


def better(name: str) -> str:
    """"higher", "lower" or "" for a metric (a KeyError for a name the catalogue lacks)."""
    return METRICS[name].better


def unknown_stats(names: Iterable[str]) -> list[str]:
    """The names of a metrics row that are neither row fields nor catalogued statistics."""
    return sorted(n for n in names if n not in ROW_FIELDS and stat_group(n) is None)


