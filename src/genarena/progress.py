"""Progress of long work: a tqdm bar on a TTY, plain lines otherwise (one per log interval, and
at most every `plain_every_s` seconds between them), nothing if quiet."""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO


def _fmt(metrics: dict[str, Any]) -> str:
    parts = []
    for k, v in metrics.items():
        parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)


class Progress:
    """Report `update(done, metrics)` calls for a task of `total` units."""

    def __init__(self, total: int, desc: str, quiet: bool = False, initial: int = 0,
                 stream: TextIO | None = None, plain_every_s: float = 10.0) -> None:
        self.total, self.desc, self.quiet = total, desc, quiet
        self.stream = stream or sys.stderr
        self.plain_every_s = plain_every_s
        self.start = time.monotonic()
        self.initial = initial
        self.last_plain = -1e9
        self.bar = None
        if not quiet and self.stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=initial, desc=desc, file=self.stream,
                            dynamic_ncols=True, leave=True)
        self.done = initial

    def note(self, text: str) -> None:
        """One line about a phase that is not counted in units (evaluation, a classifier trained
        on first use), so that a long silence is never unexplained."""
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(f"{self.desc}: {text}", file=self.stream)
        else:
            print(f"{self.desc}: {text}", file=self.stream, flush=True)

    def update(self, done: int, metrics: dict[str, Any] | None = None, log: bool = False) -> None:
        """`done` units finished; `log` marks a logging step, which always gets a plain line."""
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(done - self.done)
            if metrics:
                self.bar.set_postfix_str(_fmt(metrics), refresh=False)
        else:
            now = time.monotonic()
            if log or now - self.last_plain >= self.plain_every_s or done >= self.total:
                self.last_plain = now
                rate = (done - self.initial) / max(now - self.start, 1e-9)
                eta = f"{(self.total - done) / rate:.0f}s" if rate > 0 else "?"
                line = f"{self.desc}: {done}/{self.total} ({100 * done / self.total:.0f}%) eta {eta}"
                if metrics:
                    line += " " + _fmt(metrics)
                print(line, file=self.stream, flush=True)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
