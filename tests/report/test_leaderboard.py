"""Leaderboards: seeds aggregated, rows ranked by the board's keys, published rows beside them,
markdown and a self-contained page; `genarena compare --html` writes one from run directories."""
from helpers import FAST, as_kwargs

import genarena
from genarena.report import leaderboard
from genarena.report.leaderboard import Entry


def _entries():
    return [Entry("A", "ring8", 0, {"modes_captured": 8, "reverse_kl": 0.2}, 10.0),
            Entry("A", "ring8", 1, {"modes_captured": 6, "reverse_kl": 0.4}, 12.0),
            Entry("B", "ring8", 0, {"modes_captured": 7, "reverse_kl": 0.1}, 5.0),
            Entry("C", "ring8", 0, {"modes_captured": 7, "reverse_kl": 0.05}, 5.0),
            Entry("D", "mnist5k", 0, {"fid": 30.0, "fid_logits": 3.0}, 5.0),
            Entry("E", "mnist5k", 0, {"fid": 20.0, "fid_logits": 4.0}, 5.0)]


def test_seeds_are_aggregated_and_rows_ranked_by_the_boards_keys():
    rows = leaderboard.aggregate(_entries())
    a = next(r for r in rows if r.method == "A")
    assert a.seeds == [0, 1] and a.mean("modes_captured") == 7.0 and a.cell("reverse_kl") == \
        "0.300 ± 0.141 [0.200, 0.400]"
    ring = [r for r in rows if r.dataset == "ring8"]
    assert leaderboard.rank_keys(ring) == [("modes_captured", "max"), ("reverse_kl", "min")]
    # A, B, C tie on 7 modes: reverse KL breaks the tie
    assert [r.method for r in leaderboard.ranked(ring)] == ["C", "B", "A"]
    images = [r for r in rows if r.dataset == "mnist5k"]
    assert [r.method for r in leaderboard.ranked(images)] == ["E", "D"]


def test_published_rows_are_shown_but_not_ranked():
    rows = leaderboard.aggregate(_entries())
    rows.append(leaderboard.published_row("PacGAN4", "ring8", "published", modes_captured=7.8))
    md = "\n".join(leaderboard.markdown(rows))
    assert "| 1= | C | 1 |" in md and "|  | PacGAN4 | published | 7.80 |" in md   # 7 modes each
    assert [r.method for r in leaderboard.ranked([r for r in rows if r.dataset == "ring8"])][-1] \
        == "PacGAN4"


def test_rows_whose_intervals_overlap_are_marked_tied():
    entries = [Entry(m, "ring8", s, {"modes_captured": v}, 1.0) for m, values in
               (("top", (8.0, 8.0, 8.0)), ("near", (7.0, 8.0, 8.0)), ("low", (2.0, 3.0, 2.0)))
               for s, v in enumerate(values)]
    order = leaderboard.ranked(leaderboard.aggregate(entries))
    assert [r.method for r in order] == ["top", "near", "low"]
    # top's interval [8, 8] lies inside near's [7.33.., 8]: a tie; low is clearly below
    assert leaderboard.rank_labels(order, leaderboard.rank_keys(order)) == ["1=", "1=", "3"]


def test_page_is_self_contained_with_a_chart_per_board(tmp_path):
    paths = leaderboard.write(tmp_path, "board", "test board", leaderboard.aggregate(_entries()))
    page = paths[1].read_text()
    assert page.count("data:image/png;base64,") == 2 and 'src="http' not in page
    assert page.count("<table>") == 2


def test_compare_html_writes_a_leaderboard_of_runs(tmp_path, cli):
    for seed in (0, 1):
        genarena.train("ring8-nsgan", out=tmp_path / f"ns-s{seed}", **as_kwargs({**FAST, "seed": seed}))
    code, out, _ = cli("compare", str(tmp_path / "ns-s0"), str(tmp_path / "ns-s1"),
                       "--html", str(tmp_path / "lb" / "board.html"))
    assert code == 0 and "board.html" in out
    md = (tmp_path / "lb" / "board.md").read_text()
    assert "| 1 | ns | 2 |" in md                                  # two seeds, one method
    assert "data:image/png;base64," in (tmp_path / "lb" / "board.html").read_text()
    code, _, err = cli("compare", str(tmp_path / "ns-s0"), "--html", str(tmp_path / "x.txt"))
    assert code == 2 and "expected a path ending in .html" in err


def test_boards_of_runs_draw_and_tabulate_each_methods_convergence_curve(tmp_path):
    import json
    entries = []
    for method, slope in (("fast", 2.0), ("slow", 0.5)):
        for seed in (0, 1):
            d = tmp_path / f"{method}-s{seed}"
            d.mkdir()
            rows = [{"step": 100 * i, "eval": {"modes_captured": slope * i + seed}}
                    for i in range(1, 4)]
            (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            (d / "summary.json").write_text(json.dumps(
                {"steps": 400, "metrics": {"modes_captured": slope * 4 + seed}}))
            entries.append(Entry(method, "ring8", seed, {"modes_captured": slope * 4 + seed},
                                 1.0, path=d))
    rows = leaderboard.aggregate(entries)
    fast = next(r for r in rows if r.method == "fast")
    assert [p[0] for p in fast.curve("modes_captured")] == [100, 200, 300, 400]
    assert fast.curve("modes_captured")[-1][1] == 8.5                       # mean of 8 and 9
    md = "\n".join(leaderboard.markdown(rows))
    assert "modes_captured ½ → end" in md and "| 6.5 → 8.5 |" in md     # half-way, then final
    page = leaderboard.page("t", rows)
    assert page.count("data:image/png;base64,") == 2                    # bars, then curves


def test_a_collapsed_run_counts_at_log_k_in_the_reverse_kl_cell_and_curve(tmp_path):
    """A seed that captured no mode must not vanish from its method's reverse KL (log K)."""
    import json
    import math

    from genarena.report.curves import run_curve
    d = tmp_path / "gan-s1"
    d.mkdir()
    collapsed = {"modes_captured": 0, "modes_total": 8, "reverse_kl": None}
    (d / "metrics.jsonl").write_text(json.dumps({"step": 100, "eval": collapsed}) + "\n")
    (d / "summary.json").write_text(json.dumps({"steps": 200, "metrics": collapsed}))
    assert run_curve(d, "reverse_kl") == [(100, math.log(8)), (200, math.log(8))]
    rows = leaderboard.aggregate([
        Entry("gan", "ring8", 0, {"modes_captured": 8, "modes_total": 8, "reverse_kl": 0.1}, 1.0),
        Entry("gan", "ring8", 1, collapsed, 1.0, path=d)])
    assert rows[0].values["reverse_kl"] == [0.1, math.log(8)]


def test_each_board_says_what_sample_counts_its_scores_compare(tmp_path):
    counts = {"n_samples": 5000, "reference_samples": 500, "reference_split": "test"}
    rows = leaderboard.aggregate([Entry("D", "mnist5k", 0, {"fid": 30.0, **counts}, 5.0),
                                  Entry("D", "mnist5k", 1, {"fid": 31.0, **counts}, 5.0),
                                  Entry("E", "mnist5k", 0, {"fid": 20.0, **counts,
                                                            "n_samples": 1000}, 5.0),
                                  Entry("A", "ring8", 0, {"modes_captured": 8}, 1.0)])
    text = "\n".join(leaderboard.markdown(rows))
    assert "Scores on 5000 generated vs 500 reference (test); 1000 generated vs 500 reference " \
           "(test) samples." in text
    assert text.count("Scores on") == 1                     # the ring8 board recorded no counts
    assert "5000 generated vs 500 reference (test)" in leaderboard.page("board", rows)
