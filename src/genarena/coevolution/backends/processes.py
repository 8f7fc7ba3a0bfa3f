"""Cells in local worker processes with one torch thread each: every core of one machine, without
Ray (two single-threaded processes beat one two-threaded process for these small nets).

Each worker is a `python -m genarena.coevolution.backends.processes FD` child (not a
multiprocessing child, so the caller's main module is never imported again, and a script without
a `__main__` guard is safe), talking over a socket pair. It builds a CellContext once (its dataset
from the config, the scorer's reference statistics sent by the driver) and then serves
generations: it receives
its cells and the before-states of their neighbourhoods, and returns the cells' new states.
States cross the pipes as ordinary pickles (tensors copied, no shared-memory handles to leak).
A cell's generation is a pure function of those states and of (seed, cell, generation), so the
result equals the sequential backend's bit for bit. If a worker dies, all are started again and
the generation is recomputed from the same before-states.
"""
from __future__ import annotations

import logging
import os
import pickle
import socket
import subprocess
import sys
from multiprocessing.connection import Connection

import torch

from genarena.cluster import cores
from genarena.coevolution.backends import state_bytes, worker_processes
from genarena.coevolution.cell import CellContext, CellState, evolve_cell
from genarena.config import Config, from_dict, to_dict
from genarena.data import build_dataset
from genarena.metrics.proxy import TrainingDistance
from genarena.train.precision import switches

log = logging.getLogger(__name__)
RESTARTS = 3                   # times a generation is retried after a worker died


def serve(conn: Connection) -> None:
    """A worker's life: build the context from the first message, then answer (cells,
    generation, states) requests until the driver closes the connection."""
    config, scorer, device = pickle.loads(conn.recv_bytes())
    torch.set_num_threads(1)
    cfg = from_dict(config)
    dataset = build_dataset(cfg.data)
    scorer_here = TrainingDistance.from_reference(scorer, dataset, cfg.eval.cache_dir,
                                                  torch.device(device))
    ctx = CellContext(cfg, dataset, scorer_here, device)
    with switches(cfg.trainer):                   # the run's TF32 / deterministic choices
        while True:
            try:
                request = conn.recv_bytes()
            except EOFError:                      # the driver closed the pipe: stop
                return
            cells, generation, states = pickle.loads(request)
            out = {c: evolve_cell(ctx, c, generation, states) for c in cells}
            conn.send_bytes(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))


class _Worker:
    """One worker process and the driver's end of its socket."""

    def __init__(self, setup: bytes) -> None:
        ours, theirs = socket.socketpair()
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", __name__, str(theirs.fileno())],
                                     pass_fds=[theirs.fileno()], env=env)
        theirs.close()
        self.conn = Connection(ours.detach())
        self.conn.send_bytes(setup)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()

    def close(self) -> None:
        self.conn.close()                         # the worker sees EOF and stops
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ProcessBackend:
    """Spreads the grid's cells over `backend.workers` processes (default: one per core)."""

    def __init__(self, cfg: Config, ctx: CellContext) -> None:
        self.grid = ctx.grid
        workers = worker_processes(cfg.backend.workers, str(ctx.device), self.grid.size, cores())
        self.assignment = [list(range(self.grid.size))[i::workers] for i in range(workers)]
        self.setup = pickle.dumps((to_dict(cfg), ctx.scorer.reference(), str(ctx.device)),
                                  protocol=pickle.HIGHEST_PROTOCOL)
        self.workers = [_Worker(self.setup) for _ in range(workers)]

    def generation(self, states: dict[int, CellState], generation: int
                   ) -> tuple[dict[int, CellState], int]:
        for attempt in range(RESTARTS + 1):
            try:
                return self._generation(states, generation)
            except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
                if attempt == RESTARTS:
                    raise RuntimeError(f"coevolution worker processes died {RESTARTS + 1} times "
                                       f"in generation {generation}") from exc
                log.warning("a coevolution worker process died in generation %d (%s); starting "
                            "the workers again", generation, type(exc).__name__)
                self._restart()
        raise AssertionError("unreachable")

    def _generation(self, states: dict[int, CellState], generation: int
                    ) -> tuple[dict[int, CellState], int]:
        moved = 0
        for worker, cells in zip(self.workers, self.assignment):
            needed = {h: states[h] for c in cells for h in self.grid.neighbours(c)}
            moved += state_bytes(needed)
            worker.conn.send_bytes(pickle.dumps((cells, generation, needed),
                                                protocol=pickle.HIGHEST_PROTOCOL))
        out: dict[int, CellState] = {}
        for worker in self.workers:
            part = pickle.loads(worker.conn.recv_bytes())
            moved += state_bytes(part)
            out.update(part)
        return dict(sorted(out.items())), moved

    def _restart(self) -> None:
        """Fresh workers for all (a live one may still be busy with the failed generation)."""
        for worker in self.workers:
            worker.kill()
            worker.close()
        self.workers = [_Worker(self.setup) for _ in self.assignment]

    def pids(self) -> list[int]:
        """The worker processes' ids (tests kill one)."""
        return [w.proc.pid for w in self.workers]

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.workers = []


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
