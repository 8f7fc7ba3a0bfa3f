"""The command line (SPEC 1.2). Exit 0 on success, 2 on bad input (one `error:` line), 1 otherwise."""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Sequence

from genarena.errors import DivergenceError, UserError
from genarena.report.tables import comparison_rows, format_table


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one `error:` line and exit 2 like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def cmd_train(args: argparse.Namespace) -> int:
    from genarena.api import train
    if args.resume:
        if args.config or args.overrides:
            raise UserError("train --resume RUN_DIR takes no preset or overrides "
                            "(the run's config.yaml is used)")
        run = train(resume=args.resume, quiet=args.quiet)
    else:
        if not args.config:
            raise UserError("train: expected PRESET_OR_YAML (see genarena presets) or --resume")
        run = train(args.config, out=args.out, quiet=args.quiet, overrides=args.overrides)
    if not args.quiet:
        rows, cols = comparison_rows([run.path])
        print(format_table(rows, cols))
    print(run.path)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from genarena.api import load_run
    metrics = load_run(args.run_dir).evaluate(args.n)
    if args.json:
        print(json.dumps(metrics))
    else:
        for k, v in metrics.items():
            print(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np
    from genarena.api import load_run
    from genarena.checkpoint import atomic_write_bytes
    from genarena.report.plots import save_sample_figure
    out = Path(args.out)
    if out.suffix not in (".png", ".npz"):
        raise UserError(f"--out '{out}': expected a .png or .npz file name")
    run = load_run(args.run_dir)
    x = run.sample(args.n, label=args.label)
    if out.suffix == ".npz":
        buf = io.BytesIO()
        np.savez(buf, x=x.numpy())
        atomic_write_bytes(out, buf.getvalue())
    elif not save_sample_figure(x, run.dataset, out, f"{run.path.name}: {args.n} samples"):
        raise UserError(f"--out '{out}': no picture for samples of shape "
                        f"{tuple(x.shape[1:])}; use .npz")
    print(out)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    rows, cols = comparison_rows(args.run_dirs)
    print(format_table(rows, cols, markdown=args.markdown))
    if args.html:
        from genarena.report import leaderboard
        out = Path(args.html)
        if out.suffix != ".html":
            raise UserError(f"--html '{out}': expected a path ending in .html")
        board = leaderboard.aggregate(leaderboard.entries_from_runs(args.run_dirs))
        paths = leaderboard.write(out.parent, out.stem, "genarena leaderboard", board,
                                  [f"{len(args.run_dirs)} runs; runs named NAME-sN are seeds "
                                   "of one method."])
        print("\n".join(str(p) for p in paths))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from genarena.report.html import write_report
    print(write_report(args.run_dir))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from genarena.bench import SEEDED, SUITES, run_suites
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        raise UserError(f"bench: unknown suite '{unknown[0]}' (expected: {', '.join(SUITES)})")
    if args.seeds is not None and not set(args.suites) & set(SEEDED):
        raise UserError(f"bench: --seeds applies to the suites {', '.join(SEEDED)}")
    for path in run_suites(args.suites or list(SUITES), Path(args.out), quick=args.quick,
                           seeds=args.seeds):
        print(path)
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from genarena.config import load_raw, preset_names
    for name in preset_names():
        print(f"{name:<20} {load_raw(name).get('description', '')}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from genarena.data import describe_datasets
    for name, text in describe_datasets():
        print(f"{name:<20} {text}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="genarena", description="Train generative models that do not collapse, "
                                             "and compare methods side by side.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a preset or YAML config")
    t.add_argument("config", nargs="?", help="preset name (genarena presets) or YAML file")
    t.add_argument("overrides", nargs="*", help="dotted overrides, e.g. optim.lr_g=2e-4")
    t.add_argument("--out", help="run directory (default: runs/NAME-TIME)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue a killed run")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="metrics of a run's final model")
    e.add_argument("run_dir")
    e.add_argument("--n", type=int, default=None, help="generated samples (default eval.n_samples)")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_eval)

    s = sub.add_parser("sample", help="draw samples of a run's final model")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--out", required=True, help="FILE.png or FILE.npz")
    s.add_argument("--label", type=int, default=None)
    s.set_defaults(func=cmd_sample)

    c = sub.add_parser("compare", help="table of several runs' final metrics")
    c.add_argument("run_dirs", nargs="+")
    c.add_argument("--markdown", action="store_true")
    c.add_argument("--html", metavar="FILE.html", help="also write a leaderboard page (and .md): "
                   "runs grouped by data set and method (NAME-sN: seeds), ranked, with samples")
    c.set_defaults(func=cmd_compare)

    r = sub.add_parser("report", help="write RUN_DIR/report.html")
    r.add_argument("run_dir")
    r.set_defaults(func=cmd_report)

    b = sub.add_parser("bench", help="benchmark suites (results as JSON + markdown)")
    b.add_argument("suites", nargs="*")
    b.add_argument("--out", default="benchmarks/results")
    b.add_argument("--quick", action="store_true", help="short repeats, for a smoke test")
    b.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="modes: seeds 0..N-1 (default 5; finished runs are reused, so a larger "
                        "N adds seeds)")
    b.set_defaults(func=cmd_bench)

    sub.add_parser("presets", help="list presets").set_defaults(func=cmd_presets)
    sub.add_parser("datasets", help="list built-in datasets").set_defaults(func=cmd_datasets)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `genarena` command."""
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra:
            # Overrides may follow options (train PRESET --out DIR key=value); nothing else may.
            if args.command != "train" or any("=" not in e or e.startswith("-") for e in extra):
                raise UserError(f"genarena: unrecognized arguments: {' '.join(extra)}")
            args.overrides = list(args.overrides) + extra
        if getattr(args, "n", 1) is not None and getattr(args, "n", 1) < 1:
            raise UserError(f"--n: expected a positive number of samples, got {args.n}")
        return int(args.func(args))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DivergenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted (resume with genarena train --resume RUN_DIR)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
