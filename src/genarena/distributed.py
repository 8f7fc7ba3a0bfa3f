"""One model on several processes: data parallelism for the pair and MSPG-SEN trainers.

`genarena train PRESET --nproc N` starts N copies of itself (`launch`) on this machine, talking
over 127.0.0.1 (gloo on the CPU, NCCL on GPUs); the same command under `torchrun` works too,
since both set the usual RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT variables.

How a step stays the step one process would take (docs/gpus-and-clusters.md):
- every rank draws the same global batch (data and latents come from generators seeded alike)
  and trains on its own contiguous slice of it (`World.shard`);
- as soon as a backward pass accumulates a parameter's gradient, it is averaged over the ranks
  (`World.average_gradients`), so clipping and the optimizer step see the gradient of the mean
  loss over the global batch: parameters stay identical on every rank without broadcasts;
- the step's statistics are averaged (`World.mean`) before anything decides on them (the
  controllers, the divergence guard, the metrics), so every rank decides alike.

Gradients are averaged by hooks rather than a DistributedDataParallel wrapper, as
stylegan2-ada-pytorch does: a GAN step runs D under frozen parameters for G's update and
differentiates twice for R1 and the gradient penalty, which DDP's reducer does not follow.
"""
from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from genarena.cluster import LOOPBACK
from genarena.scalars import Stat, Stats

RANK_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                  "MASTER_PORT")


@dataclass(frozen=True)
class World:
    """This process's place among the ranks training one model (one rank: no collectives)."""
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    device: str = "cpu"          # where collective buffers live (NCCL needs them on the GPU)

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the run directory, shows progress and evaluates."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def shard(self, x: Tensor) -> Tensor:
        """This rank's contiguous slice of a global batch (the whole batch on one rank)."""
        if self.size == 1:
            return x
        k = len(x) // self.size
        return x[self.rank * k:(self.rank + 1) * k]

    def average_gradients(self, module: nn.Module) -> list[RemovableHandle]:
        """Average each parameter's gradient over the ranks as backward accumulates it; the
        hooks' handles are returned, so that a caller can remove them (none on one rank)."""
        if self.size == 1:
            return []

        def average(p: Tensor) -> None:
            assert p.grad is not None          # the hook runs once the gradient is accumulated
            dist.all_reduce(p.grad)
            p.grad.div_(self.size)
        return [p.register_post_accumulate_grad_hook(average) for p in module.parameters()]

    def broadcast(self, module: nn.Module) -> None:
        """Rank 0's parameters and buffers on every rank (they start identical; this makes sure)."""
        if self.size == 1:
            return
        for t in [*module.parameters(), *module.buffers()]:
            dist.broadcast(t.data, 0)

    def mean(self, stats: Stats) -> dict[str, Stat]:
        """The statistics averaged over the ranks (each rank's are over its slice): floats stay
        floats; device scalars stay on the device, reduced without a read."""
        if self.size == 1 or not stats:
            return dict(stats)
        keys = sorted(stats)
        values = torch.stack([torch.as_tensor(stats[k], dtype=torch.float64, device=self.device)
                              for k in keys])
        dist.all_reduce(values)
        values /= self.size
        if any(isinstance(v, torch.Tensor) for v in stats.values()):
            return dict(zip(keys, values.unbind()))
        return dict(zip(keys, values.tolist()))

    def any(self, flag: bool) -> bool:
        """Whether any rank's flag is set (a stop request must stop every rank at one step)."""
        if self.size == 1:
            return flag
        value = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())


SINGLE = World()


def requested_size() -> int:
    """How many ranks the environment says this process is one of (1 outside a launch)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@contextmanager
def joined(device: torch.device) -> Iterator[World]:
    """The world the environment describes, its process group open for the block (gloo on the
    CPU, NCCL on CUDA); one process without the variables is a world of one. A rank given plain
    `cuda` trains on the GPU of its local rank (world.device)."""
    size = requested_size()
    if size <= 1:
        yield World(device=str(device))
        return
    env = os.environ
    local_rank = int(env.get("LOCAL_RANK", env["RANK"]))
    if device.type == "cuda" and device.index is None:      # one GPU per rank on each machine
        device = torch.device("cuda", local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    world = World(int(env["RANK"]), size, local_rank, int(env.get("LOCAL_WORLD_SIZE", size)),
                  str(device))
    created = not dist.is_initialized()
    if created:
        # the other ranks wait in their next collective while rank 0 evaluates at eval.interval
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=world.rank,
                                world_size=size, timeout=datetime.timedelta(hours=2))
    try:
        yield world
    finally:
        if created:
            dist.destroy_process_group()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (rank 0's rendezvous store binds it)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def launch(args: Sequence[str], nproc: int) -> int:
    """Run `python -m genarena ARGS` as ranks 0..nproc-1 of one world on 127.0.0.1; the exit code
    is the first failing rank's (the others are stopped), else 0. Ranks above 0 are quiet."""
    port = free_port()
    procs = []
    # The ranks ignore SIGINT (inherited): a Ctrl-C at the terminal reaches the whole process
    # group, and the launcher alone answers it, with one SIGTERM per rank (`_stop`). A rank that
    # saw both would take the SIGTERM for a second signal and stop mid-step, unsaved.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for rank in range(nproc):
            env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": str(nproc),
                   "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(nproc),
                   "MASTER_ADDR": LOOPBACK, "MASTER_PORT": str(port)}
            env.setdefault("GLOO_SOCKET_IFNAME", "lo")          # gloo's pairs on loopback too
            argv = [sys.executable, "-m", "genarena", *args, *(["--quiet"] if rank else [])]
            procs.append(subprocess.Popen(argv, env=env,
                                          stdout=None if rank == 0 else subprocess.DEVNULL))
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        return _wait(procs)
    finally:
        _stop(procs)


def _wait(procs: list[subprocess.Popen]) -> int:
    """Wait for every rank; when one fails the rest are stopped and its code is returned."""
    while True:
        codes = [p.poll() for p in procs]
        failed = [c for c in codes if c not in (None, 0)]
        if failed:
            return failed[0] if failed[0] > 0 else 1
        if all(c == 0 for c in codes):
            return 0
        time.sleep(0.05)


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM to ranks still running (they checkpoint and stop), SIGKILL after 30 s."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
