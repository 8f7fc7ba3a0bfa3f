"""The command line (docs/tutorial.md). Exit 0 on success, 2 on bad input (one `error:` line), 1 otherwise."""
from __future__ import annotations

import argparse
import io
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

from genarena.errors import DivergenceError, UserError
from genarena.report.tables import comparison_rows, format_table, format_value


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one `error:` line and exit 2 like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def cmd_train(args: argparse.Namespace) -> int:
    from genarena.api import train
    if args.resume and args.config and "=" in args.config:
        args.overrides, args.config = [args.config, *args.overrides], None
    if args.resume and args.config:
        raise UserError("train --resume RUN_DIR takes no preset (the run's config.yaml is "
                        "used); steps=N extends it")
    if not args.resume and not args.config:
        raise UserError("train: expected PRESET_OR_YAML (see genarena presets) or --resume")
    if args.nproc is not None and args.nproc < 1:
        raise UserError(f"--nproc: expected a positive number of processes, got {args.nproc}")
    if args.nproc is not None and args.nproc > 1:
        return _launch_ranks(args)
    if args.resume:
        run = train(resume=args.resume, quiet=args.quiet, overrides=args.overrides)
    else:
        run = train(args.config, out=args.out, quiet=args.quiet, overrides=args.overrides)
    if run is None:                          # a rank other than 0 of --nproc / torchrun
        return 0
    if not args.quiet:
        rows, cols = comparison_rows([run.path])
        print(format_table(rows, cols))
    print(run.path)
    return 0


def _launch_ranks(args: argparse.Namespace) -> int:
    """train --nproc N: check the run can be split, then run N ranks of it on this machine."""
    from genarena.api import check_trainer_support
    from genarena.config import load_config, parse_override
    from genarena.distributed import launch, requested_size
    from genarena.run import RunDir
    if requested_size() > 1:
        raise UserError("--nproc: this process is already one of several ranks (torchrun); "
                        "give the process count to the launcher only")
    if args.resume:
        cfg = RunDir.existing(args.resume).read_config()
    else:
        cfg = load_config(args.config, dict(parse_override(o) for o in args.overrides))
    check_trainer_support(cfg, args.nproc)
    return launch(rank_argv(args), args.nproc)


def rank_argv(args: argparse.Namespace) -> list[str]:
    """The `genarena` arguments each rank of `train --nproc` runs: the same command, less
    --nproc (its verbosity, output and overrides kept)."""
    return ["train", *([args.config] if args.config else []), *args.overrides,
            *(["--out", args.out] if args.out else []),
            *(["--resume", args.resume] if args.resume else []),
            *(["--quiet"] if args.quiet else []), *(["-v"] * args.verbose)]


def _opened(args: argparse.Namespace) -> Any:
    """The run of `eval` / `sample`, on the device a `device=...` setting names, if any."""
    from genarena.api import load_run
    from genarena.config import parse_override
    settings = dict(parse_override(s) for s in args.settings)
    unknown = [k for k in settings if k != "device"]
    if unknown:
        raise UserError(f"setting '{unknown[0]}': only device=... may be given here")
    device = settings.get("device")
    return load_run(args.run_dir, device=None if device is None else str(device))


def _print_metrics(metrics: dict[str, Any], as_json: bool) -> None:
    """One JSON object, or `key: value` lines (eval and score)."""
    if as_json:
        print(json.dumps(metrics))
    else:
        for k, v in metrics.items():
            print(f"{k}: {format_value(v)}")


def cmd_eval(args: argparse.Namespace) -> int:
    _print_metrics(_opened(args).evaluate(args.n), args.json)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from genarena.scoring import load_image_set, score
    a = load_image_set(args.a, args.n, args.seed)
    b = load_image_set(args.b, args.n, args.seed)
    from genarena.api import resolve_device
    _print_metrics(score(a, b, args.features or ("fid-inception" if args.weights else "lenet"),
                         args.weights or "", args.resize, args.dataset or "",
                         args.cache_dir or "", resolve_device(args.device, "--device")),
                   args.json)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from genarena.checkpoint import atomic_write_bytes
    from genarena.report.plots import save_sample_figure
    out = Path(args.out)
    if out.suffix not in (".png", ".npz"):
        raise UserError(f"--out '{out}': expected a .png or .npz file name")
    run = _opened(args)
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


def _run_dirs(args: list[str]) -> list[str]:
    """The arguments, with a folder of runs (a sweep's --out) standing for the runs in it."""
    from genarena.run import RunDir
    out: list[str] = []
    for arg in args:
        path = Path(arg)
        inner = sorted(str(p) for p in path.iterdir() if RunDir(p).config_file.is_file()) \
            if path.is_dir() and not RunDir(path).config_file.is_file() else []
        out += inner or [arg]
    return out


def cmd_compare(args: argparse.Namespace) -> int:
    from genarena.run import RunDir
    candidates = _run_dirs(args.run_dirs)
    runs = [d for d in candidates if RunDir(d).config_file.is_file()]
    skipped = [d for d in candidates if d not in runs]
    if not runs:
        raise UserError("compare: none of the arguments is a run directory (one with config.yaml)")
    if skipped:
        print(f"note: skipped {len(skipped)} argument(s) that are not runs: {', '.join(skipped)}",
              file=sys.stderr)
    if args.html and Path(args.html).suffix != ".html":
        raise UserError(f"--html '{args.html}': expected a path ending in .html")
    rows, cols = comparison_rows(runs)
    print(format_table(rows, cols, markdown=args.markdown))
    if args.html:
        from genarena.report import leaderboard
        out = Path(args.html)
        finished = [d for d in runs if RunDir(d).summary_file.is_file()]
        board = leaderboard.aggregate(leaderboard.entries_from_runs(finished))
        paths = leaderboard.write(out.parent, out.stem, "genarena leaderboard", board,
                                  [f"{len(finished)} finished runs; runs named NAME-sN are seeds "
                                   "of one method."])
        print("\n".join(str(p) for p in paths))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from genarena.report.html import write_report
    print(write_report(args.run_dir))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from genarena.bench import QUICK_OUT, RESULTS_OUT, SUITES, Launch, run_suites, suite_table, suites_that
    from genarena.bench.evidence import check_budget, estimate_minutes
    if not args.suites:
        print("genarena bench SUITE [SUITE ...]: runs the named suites; each writes "
              f"{RESULTS_OUT}/SUITE.{{json,md}}\n")
        print(suite_table())
        return 0
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        raise UserError(f"bench: unknown suite '{unknown[0]}' (expected: {', '.join(SUITES)})")
    seeded, parallel, evidence, timed = (suites_that(f)
                                         for f in ("seeded", "parallel", "study", "timed"))
    if args.device is not None and not set(args.suites) <= set(timed):
        raise UserError(f"bench: --device applies to the suites {', '.join(timed)}")
    if args.seeds is not None and not set(args.suites) & set(seeded):
        raise UserError(f"bench: --seeds applies to the suites {', '.join(seeded)}")
    out = Path(args.out or (QUICK_OUT if args.quick else RESULTS_OUT))
    for flag, value in (("--workers", args.workers), ("--address", args.address)):
        if value and not set(args.suites) & set(parallel):
            raise UserError(f"bench: {flag} applies to the suites {', '.join(parallel)}")
    if args.workers is not None and args.workers < 0:
        raise UserError(f"--workers: expected 0 (in this process) or more, got {args.workers}")
    for flag, value in (("--budget", args.budget), ("--estimate", args.estimate),
                        ("--status", args.status), ("--uncalibrated", args.uncalibrated)):
        if value and not set(args.suites) <= set(evidence):
            raise UserError(f"bench: {flag} applies to the suites {', '.join(evidence)}")
    studies = [SUITES[s].study for s in args.suites if SUITES[s].study]
    if args.budget is not None:
        for study in studies:
            check_budget(study, args.budget)
    if args.estimate:
        for study in studies:
            print("\n".join(estimate_minutes(study, args.budget, args.workers or 2)))
        return 0
    if args.status:
        from genarena.bench.status import status_lines
        for study in studies:
            print("\n".join(status_lines(study, args.budget, out)))
        return 0
    for path in run_suites(args.suites, out, quick=args.quick, seeds=args.seeds,
                           launch=Launch(args.workers, args.address, args.replace),
                           budget=args.budget, device=args.device,
                           uncalibrated=args.uncalibrated):
        print(path)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from genarena.sweep import parse_seeds, run_sweep
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers: expected a positive number, got {args.workers}")
    paths = run_sweep(args.config, args.overrides, parse_seeds(args.seeds), args.vary,
                      args.workers, Path(args.out), address=args.address, replace=args.replace)
    rows, cols = comparison_rows(paths)
    print(format_table(rows, cols))
    print(args.out)
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from genarena.config import load_raw, preset_file, preset_names
    if args.name:
        path = preset_file(args.name)
        print(f"# {path}")
        print(path.read_text().rstrip())
        print(f"# full resolved configuration: genarena config {args.name}")
        return 0
    for name in preset_names():
        print(f"{name:<24} {load_raw(name).get('description', '')}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from genarena.config import load_config
    from genarena.trainers import config_yaml
    print(config_yaml(load_config(args.config, args.overrides)), end="")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from genarena.data import describe_datasets
    for name, text in describe_datasets():
        print(f"{name:<20} {text}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from genarena import __version__
    p = _Parser(prog="genarena", description="Train generative models that do not collapse, "
                                             "and compare methods side by side.")
    p.add_argument("--version", action="version", version=f"genarena {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="diagnostics on stderr through Python logging (-vv: debug)")
    # -v also after the command (genarena train PRESET -v); SUPPRESS keeps the top-level count.
    verbose = _Parser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                         help="diagnostics on stderr through Python logging (-vv: debug)")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    def add(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[verbose], **kwargs)

    t = add("train", help="train a preset or YAML config")
    t.add_argument("config", nargs="?", help="preset name (genarena presets) or YAML file")
    t.add_argument("overrides", nargs="*", help="dotted overrides, e.g. optim.lr_g=2e-4; with "
                   "--resume only steps=N, which extends the run")
    t.add_argument("--out", help="run directory (default: runs/NAME-TIME in this directory)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run, or extend a "
                   "finished one with steps=N")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.add_argument("--nproc", type=int, default=None, metavar="N",
                   help="train one model on N processes of this machine (data parallel: gloo "
                   "on the CPU, NCCL on GPUs; pair and mspg trainers)")
    t.set_defaults(func=cmd_train)

    c = add("config", help="print the resolved configuration (what config.yaml holds)")
    c.add_argument("config", help="preset name or YAML file")
    c.add_argument("overrides", nargs="*", help="dotted overrides, e.g. steps=500")
    c.set_defaults(func=cmd_config)

    w = add("sweep", help="many runs of a preset (seeds × varied keys) in parallel processes")
    w.add_argument("config", help="preset name or YAML file")
    w.add_argument("overrides", nargs="*", help="dotted overrides shared by every run")
    w.add_argument("--seeds", default="0", help="A-B or a comma-separated list (default 0)")
    w.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2",
                   help="one run per value (repeat for a grid of combinations)")
    w.add_argument("--workers", type=int, default=None, help="parallel runs, one torch "
                   "thread each (default: one per core, or per CPU of the Ray cluster)")
    w.add_argument("--address", default="", metavar="local|auto|HOST:PORT",
                   help="run each run as a Ray task: on a local Ray kept on 127.0.0.1 (local), "
                   "or on the cluster of `ray start --head` (auto or its address); its nodes "
                   "must see --out")
    w.add_argument("--out", required=True, help="folder of the run directories")
    w.add_argument("--replace", action="store_true", help="delete and retrain a run there of "
                   "another configuration (by default refused; a larger steps extends it)")
    w.set_defaults(func=cmd_sweep)

    e = add("eval", help="metrics of a run's final model")
    e.add_argument("run_dir", help="a run directory")
    e.add_argument("settings", nargs="*", metavar="device=DEV",
                   help="open the run on another device than it was trained on (e.g. device=cpu)")
    e.add_argument("--n", type=int, default=None, help="generated samples (default eval.n_samples)")
    e.add_argument("--json", action="store_true", help="one JSON object instead of key: value lines")
    e.set_defaults(func=cmd_eval)

    s = add("sample", help="draw samples of a run's final model")
    s.add_argument("run_dir", help="a run directory")
    s.add_argument("settings", nargs="*", metavar="device=DEV",
                   help="open the run on another device than it was trained on (e.g. device=cpu)")
    s.add_argument("--n", type=int, required=True, help="number of samples")
    s.add_argument("--out", required=True, help="FILE.png (a picture) or FILE.npz (array x)")
    s.add_argument("--label", type=int, default=None, help="class to sample (guided models)")
    s.set_defaults(func=cmd_sample)

    sc = add("score", help="FID, KID, IS and precision/recall/density/coverage of image set A "
             "against reference B (folders, .npz, runs or dataset names)")
    sc.add_argument("a", help="the images judged: a folder (root/*.png or root/CLASS/*.png), an "
                    ".npz (x: float N×C×H×W in [-1, 1] or uint8 N×H×W×C), a run directory "
                    "(sampled now) or a dataset name (its test split)")
    sc.add_argument("b", help="the reference, in any of the same forms (its features are cached)")
    sc.add_argument("--features", choices=("lenet", "fid-inception"), default=None,
                    help="LeNet of the dataset (fast, offline; default without --weights) or the "
                    "FID Inception network (comparable with papers; default with --weights)")
    sc.add_argument("--weights", metavar="PATH", help="the pt_inception-2015-12-05 state dict "
                    "(pytorch-fid / torch-fidelity layout); its SHA-256 is printed with the scores")
    sc.add_argument("--resize", choices=("torch-fidelity", "clean-fid"), default="torch-fidelity",
                    help="how images reach 299×299 for the Inception network (docs/images.md)")
    sc.add_argument("--dataset", metavar="NAME", help="whose LeNet scores folders and .npz files "
                    "(default: the dataset of a run or dataset given as A or B)")
    sc.add_argument("--n", type=int, default=None, help="samples drawn from a run (default its "
                    "eval.n_samples); for other inputs, the first N images")
    sc.add_argument("--seed", type=int, default=None, help="seed of a run's samples (default "
                    "its evaluation seed) and of a dataset's subset (default 0)")
    sc.add_argument("--cache-dir", default=None, help="feature and reference cache (default "
                    "$XDG_CACHE_HOME/genarena or ~/.cache/genarena)")
    sc.add_argument("--device", default="auto", help="where the feature network and the k-NN "
                    "distances run: auto (CUDA when present), cpu, cuda or cuda:N")
    sc.add_argument("--json", action="store_true", help="one JSON object instead of key: value lines")
    sc.set_defaults(func=cmd_score)

    c = add("compare", help="table of several runs' metrics (unfinished ones marked)")
    c.add_argument("run_dirs", nargs="+", help="run directories, or folders of them (a sweep's "
                   "--out); other paths are skipped")
    c.add_argument("--markdown", action="store_true", help="a markdown table")
    c.add_argument("--html", metavar="FILE.html", help="also write a leaderboard page (and .md): "
                   "finished runs grouped by data set and method (NAME-sN: seeds), ranked")
    c.set_defaults(func=cmd_compare)

    r = add("report", help="write RUN_DIR/report.html")
    r.add_argument("run_dir", help="a run directory")
    r.set_defaults(func=cmd_report)

    b = add("bench", help="benchmark suites (no suite: list them with their durations)")
    b.add_argument("suites", nargs="*", help="suite names (genarena bench lists them)")
    b.add_argument("--out", default=None, help="results folder (default benchmarks/results; "
                   "with --quick runs/bench-quick); modes, evidence-* and marl keep a record of "
                   "each finished run in OUT/records/ and reuse it when runs/bench/ is gone")
    b.add_argument("--quick", action="store_true", help="short repeats, for a smoke test")
    b.add_argument("--workers", type=int, default=None, metavar="N",
                   help="training runs at once, one torch thread each (default: one per core; "
                        "0: in this process, one after another); for the suites that train "
                        "many runs")
    b.add_argument("--address", default="", metavar="local|auto|HOST:PORT",
                   help="train those runs as Ray tasks (as `genarena sweep --address`)")
    b.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="modes, evidence-* and marl: seeds 0..N-1 (default: 5 for modes, the "
                        "study's for evidence; finished runs are reused, so a larger N adds "
                        "seeds)")
    b.add_argument("--budget", type=float, default=None, metavar="F",
                   help="evidence-* and marl: train F × the published budget (default: the study's; a "
                        "larger F extends the finished runs)")
    b.add_argument("--replace", action="store_true",
                   help="delete and retrain runs whose configuration differs from the suite's "
                        "(by default they are refused: a larger budget extends, nothing else is "
                        "thrown away)")
    b.add_argument("--uncalibrated", action="store_true",
                   help="evidence-* and marl: train the compared arms even when the calibration "
                        "arms miss their published figures (by default the study stops after "
                        "them: no verdict of an uncalibrated study counts)")
    b.add_argument("--estimate", action="store_true",
                   help="evidence-* and marl: time a short run of every method and print what the "
                        "study would cost, without running it")
    b.add_argument("--status", action="store_true",
                   help="evidence-* and marl: which runs are done, under way (and how far) or "
                        "to start, and the hours left at the pace of the study's own runs; "
                        "reads only")
    b.add_argument("--device", default=None, metavar="DEV",
                   help="throughput and mspg: the device their timings run on (default cpu; "
                        "cuda waits for the GPU before reading each clock)")
    b.set_defaults(func=cmd_bench)

    ps = add("presets", help="list presets, or show one")
    ps.add_argument("name", nargs="?", help="a preset to show (its file and description)")
    ps.set_defaults(func=cmd_presets)
    add("datasets", help="list built-in datasets").set_defaults(func=cmd_datasets)
    return p


class _CommandLog(logging.StreamHandler):
    """The command's own handler on the `genarena` logger (replaced on every call of main)."""


def _configure_logging(verbose: int, quiet: bool) -> None:
    """Phases the library reports through logging (a classifier trained on first use, long
    sampling) reach stderr: INFO by default, DEBUG with -vv, warnings only with --quiet."""
    logger = logging.getLogger("genarena")
    for handler in [h for h in logger.handlers if isinstance(h, _CommandLog)]:
        logger.removeHandler(handler)
    handler = _CommandLog(sys.stderr)
    fmt = "%(levelname)s %(name)s: %(message)s" if verbose else "genarena: %(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet and not verbose else
                    logging.DEBUG if verbose > 1 else logging.INFO)


def _interrupted(exc: Any) -> int:
    """The one line after SIGINT/SIGTERM: where the checkpoint is and the exact resume command."""
    path = shlex.quote(str(exc.run.path.resolve()))
    print(f"error: interrupted at step {exc.step}; checkpoint saved. Resume with: "
          f"genarena train --resume {path}", file=sys.stderr)
    return 128 + exc.signum


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `genarena` command."""
    from genarena.train.loop import Interrupted
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        _configure_logging(args.verbose, getattr(args, "quiet", False))
        if extra:
            # Overrides may follow options (train PRESET --out DIR key=value), and so may the
            # device=... of eval and sample; nothing else may.
            takes = "overrides" if args.command in ("train", "config", "sweep") else \
                "settings" if args.command in ("eval", "sample") else None
            if takes is None or any("=" not in e or e.startswith("-") for e in extra):
                raise UserError(f"genarena: unrecognized arguments: {' '.join(extra)}")
            setattr(args, takes, list(getattr(args, takes)) + extra)
        if getattr(args, "n", 1) is not None and getattr(args, "n", 1) < 1:
            raise UserError(f"--n: expected a positive number of samples, got {args.n}")
        return int(args.func(args))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DivergenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Interrupted as exc:
        return _interrupted(exc)
    except BrokenPipeError:                 # genarena presets | head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("error: interrupted (a run resumes from its last checkpoint with "
              "genarena train --resume RUN_DIR)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
