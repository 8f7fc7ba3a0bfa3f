"""Mixed precision and the CUDA speed switches, opt-in and recorded in the run's config.

`trainer.amp=bf16|fp16` runs the nets' forwards under autocast (the pair, MSPG-SEN, E-GAN, VAE and
diffusion trainers; every `ModelTrainer` holds one `Precision`). Outputs are cast to fp32 before
the loss. R1, the gradient penalty and the DLSM classifier phase run in fp32 outside autocast,
because they differentiate twice; E-GAN's fitness and the metrics always run in fp32. fp16 adds a gradient
scaler, whose state is checkpointed with the trainer. `trainer.tf32`, `trainer.cudnn_benchmark`
and `trainer.deterministic` set PyTorch's process-wide switches for the duration of a run only;
`switches` restores the caller's values afterwards.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Iterator

import torch

from genarena.config import TrainerConfig

AMP_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class Precision:
    """How a trainer's forwards run: full precision, or autocast to `dtype` (and, for fp16, the
    gradient scaler its optimizer steps go through)."""
    device_type: str = "cpu"
    dtype: torch.dtype | None = None
    scaler: Any = None                      # torch.amp.GradScaler for fp16

    def autocast(self) -> contextlib.AbstractContextManager:
        """The forward's context: autocast, or nothing at full precision (bit-identical)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def state_dict(self) -> dict[str, Any] | None:
        return self.scaler.state_dict() if self.scaler is not None else None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


FULL = Precision()


def precision_for(amp: str, device: torch.device) -> Precision:
    """The precision `trainer.amp` names, on `device`."""
    dtype = AMP_DTYPES[amp]
    scaler = torch.amp.GradScaler(device.type) if dtype is torch.float16 else None
    return Precision(device.type, dtype, scaler)


def set_switches(cfg: TrainerConfig) -> None:
    """Set the switches the config asks for and leave them set: for a process that lives for one
    run (a coevolution worker or actor); everything else goes through `switches`."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    if cfg.tf32:
        matmul.allow_tf32 = cudnn.allow_tf32 = True
    if cfg.cudnn_benchmark:
        cudnn.benchmark = True
    if cfg.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        cudnn.deterministic, cudnn.benchmark = True, False
        torch.use_deterministic_algorithms(True)


@contextlib.contextmanager
def switches(cfg: TrainerConfig) -> Iterator[None]:
    """PyTorch's TF32, cuDNN-benchmark and deterministic switches as the config asks, for the
    block only (they are process-wide; the caller's values come back afterwards). Deterministic
    mode also sets CUBLAS_WORKSPACE_CONFIG, which deterministic cuBLAS needs, unless it is set."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark, cudnn.deterministic,
             torch.are_deterministic_algorithms_enabled(), os.environ.get("CUBLAS_WORKSPACE_CONFIG"))
    try:
        set_switches(cfg)
        yield
    finally:
        matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark, cudnn.deterministic = saved[:4]
        torch.use_deterministic_algorithms(saved[4])
        if saved[5] is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
        else:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = saved[5]
