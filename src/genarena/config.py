"""Typed configuration: schema with defaults, YAML presets, dotted overrides, strict validation.

Precedence (lowest first): schema defaults < preset/YAML file (and its `base:` chain) < overrides.
Every problem is a UserError naming the key and what was expected.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from genarena.errors import UserError

PRESET_DIR = Path(__file__).parent / "presets"


def _opt(default: Any, *, choices: tuple = (), lo: float | None = None, lo_open: bool = False,
         hi: float | None = None, doc: str = "", path: bool = False) -> Any:
    """A schema field with validation bounds carried in its metadata; `path` fields are expanded
    (~, $VARS) and made absolute, so a run's config.yaml works from any directory."""
    meta = {"choices": choices, "lo": lo, "lo_open": lo_open, "hi": hi, "doc": doc, "path": path}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


# The multi-agent value factorisations (genarena.rl.mixers.METHODS), expected then
# distributional: the marl trainer's methods and the dfac controller's mixers.
MARL_METHODS = ("iql", "vdn", "qmix", "diql", "ddn", "dmix")
# The cooperative tasks of the marl trainer (genarena.rl.envs.tasks.TASKS): validated when the
# config is read, so a typo stops `genarena config`, not the first environment built.
MARL_TASKS = ("lbf-10x10-3p-3f", "lbf-10x10-3p-3f-paper",
              "lbf-8x8-2p-2f-coop", "lbf-5x5-2p-1f-coop", "mpe-spread", "matrix")


@dataclass
class DataConfig:
    """Which data to train on and how to batch it."""
    name: str = _opt("ring8", doc="built-in dataset (genarena datasets); ignored when path is set")
    path: str = _opt("", path=True, doc="your own data: an .npz file, an MNIST IDX folder, a "
                                        "CIFAR-10 batches folder or an image folder (docs/images.md)")
    batch_size: int = _opt(512, lo=1)
    resolution: int = _opt(0, lo=0, doc="image folders: resize to this size (0: keep)")


@dataclass
class ModelConfig:
    """Architecture of the generator and discriminator."""
    arch: str = _opt("mlp", choices=("mlp", "dcgan", "dcgan-tf", "mspg", "vae", "score-mlp",
                                     "unet"),
                     doc="mlp | dcgan (conv, images) | dcgan-tf (DCGAN-tensorflow's 5×5 nets: "
                         "PacGAN's stacked-MNIST reference) | mspg (MSPG-SEN multi-scale nets) | "
                         "vae (MLP or conv by data shape) | score-mlp | unet (diffusion nets)")
    z_dim: int = _opt(2, lo=1)
    z_dist: str = _opt("normal", choices=("normal", "uniform"))
    g_hidden: list[int] = _opt([400, 400, 400, 400])
    d_hidden: list[int] = _opt([200, 200, 200])
    activation: str = _opt("relu", choices=("relu", "leaky_relu", "elu", "tanh", "identity"),
                           doc="hidden-layer activation of the MLP nets")
    g_output: str = _opt("auto", choices=("auto", "identity", "tanh"),
                         doc="auto: tanh for data scaled to [-1,1], identity otherwise")
    pack: int = _opt(1, lo=1, doc="PacGAN: D judges packs of this many samples")
    d_maxout: int = _opt(0, lo=0, doc="MLP D: maxout hidden units of this many pieces instead of "
                                      "the activation (PacGAN's toy D: 5); 0: off")
    g_norm: str = _opt("none", choices=("none", "batch"),
                       doc="MLP G: batch: each hidden layer is Linear without bias, BatchNorm, "
                           "activation (PacGAN's toy G); none: Linear, activation")
    init: str = _opt("default", choices=("default", "normal"),
                     doc="weights: PyTorch's default, or N(0, 0.02²) with zero biases (ALI, "
                         "DCGAN and PacGAN's toy nets)")
    width: int = _opt(64, lo=1, doc="conv nets: channels of the widest-resolution stage")
    d_norm: str = _opt("batch", choices=("batch", "layer", "none"),
                       doc="conv D normalisation (WGAN-GP wants layer or none)")
    dema: bool = _opt(True, doc="mspg: DEMA attention in the blocks (off: ablation)")
    gctdrn: bool = _opt(True, doc="mspg: GCTDRN blocks (off: plain residual blocks)")
    multiscale: bool = _opt(True, doc="mspg: D reads every scale of G's pyramid (MSG-GAN)")


@dataclass
class LossConfig:
    """Adversarial loss and its regularizers (docs/adversarial.md)."""
    name: str = _opt("nsgan", choices=("bce", "nsgan", "lsgan", "wgan", "wgan-gp", "hinge",
                                       "lip-bce", "lip-mse", "lip-heu", "mustangs",
                                       "mustangs-logit"),
                     doc="lip-*: Lipizzaner's losses on D's sigmoid output (docs/coevolution.md); mustangs "
                         "(coevolution only): G's loss drawn per batch from lip-bce, lip-mse, "
                         "lip-heu, D lip-bce; mustangs-logit: the same draw over bce, lsgan, nsgan, "
                         "D bce")
    clip: float | None = _opt(None, lo=0, doc="clip D weights to ±clip after each D step "
                                             "(null: the loss's default, 0.01 for wgan)")
    gp_weight: float | None = _opt(None, lo=0, doc="gradient-penalty weight "
                                                  "(null: the loss's default, 10 for wgan-gp)")
    r1_gamma: float = _opt(0.0, lo=0, doc="R1 penalty γ on reals (0: off)")
    r1_interval: int = _opt(16, lo=1, doc="lazy R1: apply every this many steps")
    kl_weight: float = _opt(1.0, lo=0, doc="VAE: weight β of the KL term")
    recon_std: float = _opt(0.1, lo=0, lo_open=True,
                            doc="VAE: σ of the Gaussian decoder likelihood")


@dataclass
class TrainerConfig:
    """How the models are trained (docs/adversarial.md)."""
    name: str = _opt("pair", choices=("pair", "vae", "diffusion", "coevolution", "egan", "mspg",
                                      "marl"),
                     doc="marl: cooperative multi-agent RL on a task (the `marl` section, "
                         "docs/dfac.md), not a generative model")
    d_steps: int = _opt(1, lo=1, hi=100)
    g_steps: int = _opt(1, lo=1, hi=10, doc="pair: G updates per step, each on fresh latents "
                                            "(PacGAN's stacked-MNIST DCGAN: 2)")
    update: str = _opt("alternating", choices=("alternating", "simultaneous"),
                       doc="pair: D then G (alternating), or one simultaneous step of both from "
                           "the same batch and latents (ALI's algorithm, PacGAN's toy protocol)")
    ema_half_life: float = _opt(0.0, lo=0, doc="EMA of G, half-life in images (0: off)")
    grad_clip: float = _opt(0.0, lo=0, doc="clip gradient norms to this (0: off)")
    max_retries: int = _opt(3, lo=0, doc="divergence guard: rollbacks before giving up")
    amp: str = _opt("none", choices=("none", "bf16", "fp16"),
                    doc="mixed precision of the nets' forwards (pair, mspg, egan, vae and "
                        "diffusion trainers): autocast to bf16 or fp16 (with loss scaling); "
                        "losses, R1/GP, DLSM, E-GAN fitness and metrics in fp32")
    tf32: bool = _opt(False, doc="CUDA: TF32 matrix products and convolutions (Ampere and later)")
    cudnn_benchmark: bool = _opt(False, doc="CUDA: let cuDNN time its kernels and keep the fastest "
                                            "(fixed input shapes)")
    deterministic: bool = _opt(False, doc="deterministic algorithms only (an op without one "
                                          "stops the run naming it); slower on CUDA")


@dataclass
class DiffusionConfig:
    """Score-based diffusion (docs/diffusion.md): the SDE and the sampler."""
    sde: str = _opt("ve", choices=("ve", "vp", "ddpm"))
    sigma_min: float = _opt(0.01, lo=0, lo_open=True, doc="VE: smallest noise level")
    sigma_max: float = _opt(0.0, lo=0, doc="VE: largest noise level (0: the largest pairwise "
                                           "distance of 2 000 training samples, Song & Ermon 2020)")
    beta_min: float = _opt(0.1, lo=0, lo_open=True, doc="VP: β at t=0")
    beta_max: float = _opt(20.0, lo=0, lo_open=True, doc="VP: β at t=1")
    timesteps: int = _opt(1000, lo=2, doc="DDPM: number of discrete steps T")
    sampler: str = _opt("pc", choices=("em", "pc", "ode", "ddpm"))
    nfe: int = _opt(500, lo=1, doc="score evaluations per sample")
    snr: float = _opt(0.16, lo=0, doc="Langevin corrector signal-to-noise ratio")


@dataclass
class MARLConfig:
    """Cooperative multi-agent RL (trainer marl, docs/dfac.md): one factorisation method on one
    task, recurrent agents, episodes from parallel environments; `steps` counts environment
    steps. Defaults are EPyMARL's value-based hyperparameters where they apply."""
    task: str = _opt("lbf-10x10-3p-3f", choices=MARL_TASKS,
                     doc="the task (genarena.rl.envs.tasks.TASKS; docs/dfac.md describes each)")
    method: str = _opt("qmix", choices=MARL_METHODS,
                       doc="the factorisation: expected (iql, vdn, qmix) or distributional DFAC "
                           "(diql, ddn, dmix)")
    envs: int = _opt(8, lo=1, doc="environments stepped in lockstep: episodes per round")
    updates_per_round: int = _opt(8, lo=0, doc="gradient steps after each round of episodes "
                                               "(= envs: one per episode, as EPyMARL's runner)")
    hidden: int = _opt(64, lo=1, doc="agents' GRU width")
    last_action: bool = _opt(True, doc="agents also read their one-hot last action (PyMARL's "
                                       "default; EPyMARL's paper configs: false)")
    lr: float = _opt(5e-4, lo=0, lo_open=True, doc="Adam learning rate")
    gamma: float = _opt(0.99, lo=0, hi=1)
    replay: int = _opt(5000, lo=1, doc="replay capacity in episodes")
    batch: int = _opt(32, lo=1, doc="episodes per update")
    target_update: int = _opt(200, lo=1, doc="updates between target-network copies")
    target_tau: float = _opt(0.0, lo=0, hi=1, doc="> 0: soft targets instead, a step of τ towards "
                                                  "the online net after every update (EPyMARL's "
                                                  "target_update_interval_or_tau 0.01)")
    epsilon_start: float = _opt(1.0, lo=0, hi=1)
    epsilon_end: float = _opt(0.05, lo=0, hi=1)
    epsilon_decay: int = _opt(50000, lo=1, doc="environment steps over which ε falls linearly")
    quantiles: int = _opt(8, lo=1, doc="distributional methods: sampled fractions N")
    target_quantiles: int = _opt(8, lo=1, doc="distributional methods: target fractions N'")
    mixer_embed: int = _opt(32, lo=1, doc="QMIX / DMIX mixing width")
    hypernet_embed: int = _opt(64, lo=0, doc="QMIX / DMIX hypernetworks: two layers this wide "
                                             "(EPyMARL's hypernet_layers 2); 0: one layer")
    grad_clip: float = _opt(10.0, lo=0, lo_open=True)
    reward_scaling: bool = _opt(False, doc="learn on rewards divided by their running sd "
                                           "(EPyMARL's standardise_rewards, without the shift)")
    reward_standardise: bool = _opt(False, doc="EPyMARL's standardise_rewards as the paper ran it: "
                                               "each training batch's rewards minus their mean, "
                                               "over their sd + 1e-5 (padded steps included)")
    test_episodes: int = _opt(100, lo=1, doc="test episodes of each evaluation (fixed seeds)")
    test_epsilon: float = _opt(0.0, lo=0, hi=1, doc="ε of the test episodes (EPyMARL's "
                                                    "evaluation ε: 0.05 or 0; 0 is greedy)")
    raw_observations: bool = _opt(False, doc="LBF: observations as the environment gives them "
                                             "(EPyMARL); default: divided by the grid's side, "
                                             "every input in [−1, 1]")
    time_limit_terminal: bool = _opt(False, doc="the time limit ends an episode as a terminal "
                                                "state (target 0), as EPyMARL's gym wrapper of "
                                                "2021 reports it; default: a truncation, whose "
                                                "target bootstraps from the next state")
    fast_update: bool = _opt(False, doc="the learner's faster arithmetic: the agents' GRU over an "
                                        "episode batch as one sequence, a team's quantile "
                                        "fractions embedded once (within float32 rounding of "
                                        "the default; docs/performance.md)")


@dataclass
class GuidanceConfig:
    """Classifier guidance (docs/diffusion.md): the noise-conditional classifier and its loss."""
    classifier: str = _opt("none", choices=("none", "ce", "dlsm", "total"))
    scale: float = _opt(1.0, lo=0, doc="α in s(x) + α∇log p(y|x); 10 is the 'scaling' baseline")
    ce_weight: float = _opt(1.0, lo=0, doc="λ of total = dlsm + λ·ce (1 images, 0.125 toy)")
    weight_power: float = _opt(1.0, lo=0, doc="w in the DLSM weighting σ^{2w} (the dlsm-toy "
                                               "code: 2, σ⁴)")
    dlsm_reduction: str = _opt("sum", choices=("sum", "half-mean"),
                               doc="the DLSM residual's squares summed over dimensions, or ½·mean "
                                   "over them as the dlsm-toy code (with weight_power=2)")
    classifier_steps: int = _opt(0, lo=0, doc="classifier updates after the score net's steps")
    lr_decay: str = _opt("none", choices=("none", "cosine"),
                         doc="the classifier's lr over its steps: constant, or cosine to 0")
    classifier_net: str = _opt("time-embedding", choices=("time-embedding", "sigma-branch"),
                               doc="time-embedding: t's Fourier features added at every layer; "
                                   "sigma-branch (vectors only): the DLSM paper's toy classifier, "
                                   "a ReLU MLP of x (model.d_hidden) beside one of the noise "
                                   "level σ(t) (widths ÷ 4), concatenated")
    batch_size: int = _opt(0, lo=0, doc="the classifier's batch (0: data.batch_size)")
    score_run: str = _opt("", path=True, doc="reuse the (frozen) score net of this diffusion run "
                                  "instead of training one")


@dataclass
class CoevolutionConfig:
    """Spatial coevolution (Lipizzaner / Mustangs): the grid and its operators.
    `steps` counts each cell's generator updates: steps / batches_per_gen generations."""
    rows: int = _opt(3, lo=1)
    cols: int = _opt(3, lo=1)
    neighbourhood: str = _opt("von-neumann", choices=("von-neumann", "moore"),
                              doc="von-neumann: self + N, S, W, E; moore: the 8 around too")
    population: int = _opt(1, lo=1, doc="sub-population size s of generators and of "
                                        "discriminators in each cell")
    batches_per_gen: int = _opt(50, lo=1, doc="training batches (generator updates) per "
                                              "generation; steps must be a multiple")
    tournament_size: int = _opt(2, lo=1)
    mutation_probability: float = _opt(0.5, lo=0, hi=1, doc="chance a learning rate mutates")
    mutation_scale: float = _opt(0.5, lo=0, doc="α: lr += N(0, (α·lr₀)²) (Lipizzaner: "
                                                "1e-4 absolute at lr₀ 2e-4)")
    lr_min: float = _opt(1e-6, lo=0, lo_open=True, doc="learning rates never mutate below this")
    mixture_sigma: float = _opt(0.01, lo=0, doc="σ of the (1+1)-ES on mixture weights")
    mixture_score: str = _opt("auto", choices=("auto", "fid", "swd"),
                              doc="mixture score: auto = FID on classifier features for labelled "
                                  "images, sliced Wasserstein otherwise")
    score_samples: int = _opt(1000, lo=2, doc="samples per mixture score")
    fitness_samples: int = _opt(0, lo=0, doc="real samples (and latents) a generation's fitness "
                                             "is judged on, the same ones before selection and "
                                             "for replacement (Lipizzaner's configs: 1000); 0: "
                                             "one training batch for each")
    d_every: int = _opt(1, lo=1, doc="train D on every n-th batch only (the GECCO'19 configs: "
                                     "2, D every other batch)")
    selection: bool = _opt(True, doc="tournament selection and replacement; off (the GECCO'19 "
                                     "configs): each cell's own G and D train against random "
                                     "neighbourhood opponents and are kept")


@dataclass
class MSPGConfig:
    """MSPG-SEN training (docs/mspg.md): the diversity head, extra G losses, the fade-in.
    Weights are knobs: the apfl/dqn/iqn controllers may change them during training."""
    aux_weight: float = _opt(0.5, lo=0, doc="λ_aux of the auxiliary diversity discriminator "
                                            "(0: no D_aux)")
    aux_pack: int = _opt(4, lo=2, doc="m: samples per D_aux decision")
    fm_weight: float = _opt(1.0, lo=0, doc="λ_fm of feature matching on D's features")
    con_weight: float = _opt(0.1, lo=0, doc="λ_con of the InfoNCE loss (G(z), G(z+ε))")
    con_tau: float = _opt(0.1, lo=0, lo_open=True, doc="InfoNCE temperature τ")
    con_eps: float = _opt(0.05, lo=0, doc="σ of ε in the positive pair G(z+ε)")
    progressive_steps: int = _opt(0, lo=0, doc="steps of the low-to-high resolution fade-in "
                                               "(0: all scales from the start)")


@dataclass
class EGANConfig:
    """E-GAN (docs/coevolution.md; Wang et al. 2018): children by mutation, the fittest survive."""
    mutations: list[str] = _opt(["bce", "lip-heu", "lip-mse"],
                                doc="G losses that make the children: Wang et al.'s minimax "
                                    "log(1 − p), heuristic −½ log p and least squares (p − 1)², all "
                                    "on D's sigmoid output p (lsgan/nsgan: the logit variants)")
    diversity_weight: float = _opt(0.001, lo=0, doc="γ in fitness = quality + γ·diversity")
    parents: int = _opt(1, lo=1, doc="generators that survive each step")


@dataclass
class ControllerConfig:
    """What changes learning rates, loss weights and d_steps during training."""
    name: str = _opt("static", choices=("static", "apfl", "dqn", "iqn", "dfac"),
                     doc="static | apfl (feedback toward a D-accuracy band) | dqn / iqn (the "
                         "RL balancer of docs/mspg.md; under coevolution one per cell) | dfac (every "
                         "coevolution cell an agent of one factorised team, docs/dfac.md)")
    interval: int = _opt(100, lo=1, doc="steps between decisions (coevolution: at the first "
                                         "generation past each multiple)")
    mixer: str = _opt("dmix", choices=MARL_METHODS,
                      doc="dfac: how the cells' utilities combine into the team's value")
    updates_per_decision: int = _opt(1, lo=1, doc="dqn/iqn/dfac: gradient steps per decision")
    target_low: float = _opt(0.6, lo=0, hi=1, doc="lower edge of the target D-accuracy band")
    target_high: float = _opt(0.8, lo=0, hi=1, doc="upper edge of the target D-accuracy band")
    eta: float = _opt(0.1, lo=0, hi=0.9, doc="apfl: largest relative knob change per decision")
    epsilon_start: float = _opt(1.0, lo=0, hi=1, doc="dqn/iqn: exploration at the start")
    epsilon_end: float = _opt(0.05, lo=0, hi=1)
    epsilon_decay: int = _opt(200, lo=1, doc="decisions over which ε falls linearly")
    gamma: float = _opt(0.9, lo=0, hi=1, doc="dqn/iqn: discount")
    replay: int = _opt(5000, lo=1, doc="replay capacity (transitions)")
    batch: int = _opt(32, lo=1, doc="replay batch per update")
    target_update: int = _opt(50, lo=1, doc="updates between target-network copies")
    agent_lr: float = _opt(1e-3, lo=0, lo_open=True)
    hidden: int = _opt(64, lo=1, doc="width of the Q-network's two hidden layers")
    quantiles: int = _opt(16, lo=1, doc="iqn: sampled quantile fractions per state")
    kappa: float = _opt(0.5, lo=0, doc="reward weight of loss oscillation")
    rho: float = _opt(1.0, lo=0, doc="reward weight of the quality-proxy improvement")
    quality_samples: int = _opt(512, lo=2, doc="samples of the quality proxy per decision")


@dataclass
class OptimConfig:
    """Optimizers of G and D."""
    name: str = _opt("adam", choices=("adam", "adamw", "rmsprop", "sgd"))
    lr_g: float = _opt(1e-3, lo=0, lo_open=True)
    lr_d: float = _opt(1e-3, lo=0, lo_open=True)
    betas: list[float] = _opt([0.5, 0.999])
    weight_decay: float = _opt(0.0, lo=0)
    fused: bool = _opt(False, doc="one fused kernel per parameter for adam, adamw and sgd: faster "
                                  "updates, about one ulp from the default per step")


@dataclass
class EvalConfig:
    """Evaluation during and after training (docs/arena.md)."""
    n_samples: int = _opt(2500, lo=1)
    interval: int = _opt(0, lo=0, doc="steps between in-training evaluations (0: at the end only)")
    conditional: str = _opt("final", choices=("final", "every"),
                            doc="a guided model's class-conditional metrics (class-wise PRDC/FID, "
                                "CAS): at the final evaluation only, or at every eval.interval "
                                "too (each adds a guided draw per class and a LeNet fit)")
    cache_dir: str = _opt("", path=True, doc="where trained feature classifiers are cached "
                                  "(empty: $XDG_CACHE_HOME/genarena or ~/.cache/genarena)")
    inception_weights: str = _opt("", path=True, doc="optional FID Inception weights (the "
                                  "pt_inception-2015-12-05 state dict of pytorch-fid and "
                                  "torch-fidelity, a file you provide; never downloaded): adds "
                                  "fid_inception, kid_inception and inception_score_inception")
    inception_resize: str = _opt("torch-fidelity", choices=("torch-fidelity", "clean-fid"),
                                 doc="how images reach the FID network's 299×299: as "
                                     "torch-fidelity (uint8, TensorFlow 1 bilinear) or as "
                                     "clean-fid (PIL bicubic); docs/images.md")


@dataclass
class LogConfig:
    """Logging, checkpoints and sample images."""
    interval: int = _opt(100, lo=1, doc="steps between metrics.jsonl lines")
    checkpoint_interval: int = _opt(500, lo=1, doc="steps between writes of checkpoints/last.pt")
    snapshot_interval: int = _opt(0, lo=0, doc="also keep checkpoints/step-N.pt (0: none)")
    sample_interval: int = _opt(0, lo=0, doc="steps between sample plots (0: at the end only)")
    tensorboard: bool = _opt(False, doc="also write TensorBoard events under RUN/tensorboard: "
                                        "the logged scalars and the sample pictures "
                                        "(pip install 'genarena[tensorboard]')")


@dataclass
class BackendConfig:
    """Where the work runs."""
    name: str = _opt("auto", choices=("auto", "sequential", "processes", "ray"),
                     doc="where coevolution cells run: processes (local worker processes, one "
                         "torch thread each), sequential (all in this process), ray (Ray actors, "
                         "pip install genarena[ray]); auto: processes when there are several "
                         "cells and cores, else sequential. Results are the same on each")
    workers: int = _opt(0, lo=0, doc="worker processes or Ray actors (0: one per core, or per "
                                     "CPU of the Ray cluster); cells are spread over them")
    threads: int = _opt(0, lo=0, doc="torch threads (0: leave torch's default, i.e. "
                                     "OMP_NUM_THREADS when set, else one per core)")
    address: str = _opt("", doc="Ray cluster address (coevolution on Ray)")
    gpus_per_actor: float = _opt(0.0, lo=0.0, doc="GPUs each Ray actor asks for (fractions share "
                                                  "a GPU: 0.25 puts four actors on one); its "
                                                  "cells train there. 0: actors on the CPU")


@dataclass
class Config:
    """A complete, resolved training configuration."""
    description: str = _opt("", doc="one line saying what this configuration is for")
    seed: int = _opt(0, lo=0)
    device: str = _opt("auto", doc="auto (CUDA when present) | cpu | cuda | cuda:N; eval, sample "
                                   "and --resume may open a run on another (device=cpu)")
    steps: int = _opt(3000, lo=1, doc="the budget in generator updates, for every trainer: a "
                                      "coevolution cell's G, E-GAN's parent, the VAE's decoder, "
                                      "the score net (a guided diffusion run adds "
                                      "guidance.classifier_steps); trainer marl: environment "
                                      "steps")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    coevolution: CoevolutionConfig = field(default_factory=CoevolutionConfig)
    egan: EGANConfig = field(default_factory=EGANConfig)
    mspg: MSPGConfig = field(default_factory=MSPGConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    guidance: GuidanceConfig = field(default_factory=GuidanceConfig)
    marl: MARLConfig = field(default_factory=MARLConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    log: LogConfig = field(default_factory=LogConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)

    def loop_steps(self) -> int:
        """The steps the training loop counts (a run's progress and its curves' last step):
        `steps`, except a diffusion run, which counts its score net's and then its classifier's."""
        if self.trainer.name != "diffusion":
            return self.steps
        classifier = self.guidance.classifier_steps if self.guidance.classifier != "none" else 0
        return self.score_net_steps() + classifier

    def score_net_steps(self) -> int:
        """A diffusion run's score-net updates: `steps`, or none when it reuses the frozen net of
        guidance.score_run."""
        return 0 if self.guidance.score_run else self.steps


# ----------------------------------------------------------------------------------------------
# Building a Config from plain data


_PLURAL = {int: "integers", float: "numbers", str: "strings", bool: "booleans"}


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return f"a list of {_PLURAL.get(typing.get_args(tp)[0], 'values')}"
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return f"{_describe(inner[0])} or null"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check `value` against the annotated type `tp`, converting numeric strings like '1e-3'."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)][0]
        return _coerce(value, inner, key)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise UserError(f"config key '{key}': expected {_describe(tp)}, got {value!r}")
        (item_tp,) = typing.get_args(tp)
        return [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out = float(value)
        elif isinstance(value, str):
            try:
                out = float(value)
            except ValueError:
                out = None
        else:
            out = None
        if out is not None:
            if not math.isfinite(out):
                raise UserError(f"config key '{key}': expected a finite number, got {value!r}")
            return out
    elif tp is str:
        if isinstance(value, str):
            return value
    raise UserError(f"config key '{key}': expected {_describe(tp)}, got {value!r}")


def _check_range(value: Any, meta: Mapping[str, Any], key: str) -> None:
    if value is None:
        return
    choices = meta.get("choices") or ()
    if choices and value not in choices:
        raise UserError(f"config key '{key}': expected one of {', '.join(choices)}; got {value!r}")
    lo, hi = meta.get("lo"), meta.get("hi")
    items = value if isinstance(value, list) else [value]
    for v in items:
        if not isinstance(v, (int, float)):
            continue
        if lo is not None:
            ok = v > lo if meta.get("lo_open") else v >= lo
            if not ok:
                rel = ">" if meta.get("lo_open") else ">="
                raise UserError(f"config key '{key}': expected a value {rel} {lo}, got {v!r}")
        if hi is not None and not v <= hi:
            raise UserError(f"config key '{key}': expected a value <= {hi}, got {v!r}")


def _build(cls: type, data: Mapping[str, Any], prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise UserError(f"config key '{prefix.rstrip('.') or '<root>'}': expected a mapping, "
                        f"got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise UserError(f"unknown config key '{prefix}{unknown[0]}' "
                        f"(known under '{prefix.rstrip('.') or '<root>'}': {', '.join(fields)})")
    kwargs = {}
    for name, value in data.items():
        key = prefix + name
        tp = hints[name]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            kwargs[name] = _build(tp, value, key + ".")
        else:
            kwargs[name] = _coerce(value, tp, key)
            _check_range(kwargs[name], fields[name].metadata, key)
            if fields[name].metadata.get("path") and kwargs[name]:
                kwargs[name] = absolute_path(kwargs[name])
    return cls(**kwargs)


def absolute_path(text: str) -> str:
    """~ and $VARS expanded, relative to the current directory made absolute (not resolved
    through symlinks, so the path a user typed stays recognisable)."""
    return os.path.abspath(os.path.expandvars(os.path.expanduser(text)))


def _check_consistency(cfg: Config) -> None:
    """Cross-field checks that no single key can express."""
    if len(cfg.optim.betas) != 2 or not all(0 <= b < 1 for b in cfg.optim.betas):
        raise UserError(f"config key 'optim.betas': expected two numbers in [0, 1), "
                        f"got {cfg.optim.betas!r}")
    for key in ("g_hidden", "d_hidden"):
        widths = getattr(cfg.model, key)
        if not widths or any(w < 1 for w in widths):
            raise UserError(f"config key 'model.{key}': expected a non-empty list of positive "
                            f"widths, got {widths!r}")
    if (cfg.model.arch == "vae") != (cfg.trainer.name == "vae"):
        raise UserError(f"config key 'trainer.name': model.arch=vae goes with trainer.name=vae "
                        f"(got arch {cfg.model.arch!r}, trainer {cfg.trainer.name!r})")
    diffusion_arch = cfg.model.arch in ("score-mlp", "unet")
    if diffusion_arch != (cfg.trainer.name == "diffusion"):
        raise UserError(f"config key 'trainer.name': model.arch score-mlp/unet go with "
                        f"trainer.name=diffusion (got arch {cfg.model.arch!r}, "
                        f"trainer {cfg.trainer.name!r})")
    if cfg.guidance.classifier != "none" and cfg.guidance.classifier_steps == 0:
        raise UserError("config key 'guidance.classifier_steps': a guided run needs classifier "
                        "updates (expected a positive number)")
    if cfg.diffusion.sampler == "ddpm" and cfg.diffusion.sde != "ddpm":
        raise UserError("config key 'diffusion.sampler': ddpm ancestral sampling needs "
                        f"diffusion.sde=ddpm (got {cfg.diffusion.sde!r})")
    if cfg.controller.target_low >= cfg.controller.target_high:
        raise UserError(f"config key 'controller.target_low': expected below target_high "
                        f"({cfg.controller.target_high}), got {cfg.controller.target_low}")
    if cfg.controller.name == "dfac" and cfg.trainer.name != "coevolution":
        raise UserError("config key 'controller.name': dfac makes coevolution cells agents "
                        f"(got trainer {cfg.trainer.name!r})")
    if cfg.trainer.name == "coevolution" and cfg.controller.name == "apfl":
        raise UserError("config key 'controller.name': coevolution cells take static, dqn, iqn "
                        "or dfac (got 'apfl')")
    if cfg.trainer.update == "simultaneous":
        _check_simultaneous(cfg)
    if cfg.marl.reward_scaling and cfg.marl.reward_standardise:
        raise UserError("config key 'marl.reward_standardise': goes without marl.reward_scaling "
                        "(two rescalings of one reward)")
    if cfg.optim.fused and cfg.optim.name == "rmsprop":
        raise UserError("config key 'optim.fused': PyTorch has no fused rmsprop (adam, adamw "
                        "and sgd have one)")
    if cfg.model.arch == "mspg" and cfg.trainer.name != "mspg":
        raise UserError("config key 'trainer.name': model.arch=mspg goes with trainer.name=mspg "
                        f"(got {cfg.trainer.name!r})")
    if cfg.trainer.name == "mspg" and cfg.data.batch_size % cfg.mspg.aux_pack:
        raise UserError(f"config key 'mspg.aux_pack': expected a divisor of data.batch_size "
                        f"({cfg.data.batch_size}), got {cfg.mspg.aux_pack}")
    if cfg.loss.name in LOSS_DRAWS and cfg.trainer.name != "coevolution":
        raise UserError(f"config key 'loss.name': {cfg.loss.name} is a per-batch loss draw of "
                        f"trainer.name=coevolution (got trainer {cfg.trainer.name!r})")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", cfg.device):
        raise UserError(f"config key 'device': expected auto, cpu, cuda or cuda:N, got "
                        f"{cfg.device!r}")
    if cfg.backend.name == "ray" and cfg.trainer.name != "coevolution":
        raise UserError("config key 'backend.name': ray runs coevolution cells "
                        f"(got trainer {cfg.trainer.name!r}; use sequential)")
    if cfg.trainer.name == "coevolution" and cfg.steps % cfg.coevolution.batches_per_gen:
        b = cfg.coevolution.batches_per_gen
        raise UserError(f"config key 'steps': coevolution trains whole generations of "
                        f"coevolution.batches_per_gen={b} generator updates; expected a multiple "
                        f"of {b} (e.g. {max(b, cfg.steps // b * b)}), got {cfg.steps}")
    evolving = ("bce", "nsgan", "lsgan", "lip-bce", "lip-mse", "lip-heu", *LOSS_DRAWS)
    if cfg.trainer.name in ("coevolution", "egan") and cfg.loss.name not in evolving:
        raise UserError(f"config key 'loss.name': {cfg.trainer.name} trains with "
                        f"{', '.join(evolving)} (got {cfg.loss.name!r})")
    losses = [n for n in choices_of(LossConfig, "name") if n not in LOSS_DRAWS]
    bad = [m for m in cfg.egan.mutations if m not in losses]
    if bad or not cfg.egan.mutations:
        raise UserError(f"config key 'egan.mutations': expected a non-empty list of losses from "
                        f"{', '.join(losses)}, got {cfg.egan.mutations!r}")
    if cfg.data.batch_size % cfg.model.pack:
        raise UserError(f"config key 'model.pack': expected a divisor of data.batch_size "
                        f"({cfg.data.batch_size}), got {cfg.model.pack}")


# Per-batch loss draws (coevolution): name -> (G losses drawn uniformly per batch, the loss of D
# and of fitness). mustangs is the paper's (sigmoid-space losses); mustangs-logit the same draw
# over genarena's logit losses.
LOSS_DRAWS: Mapping[str, tuple[tuple[str, ...], str]] = types.MappingProxyType({
    "mustangs": (("lip-bce", "lip-mse", "lip-heu"), "lip-bce"),
    "mustangs-logit": (("bce", "lsgan", "nsgan"), "bce")})


# The regularizer each loss needs by default (`null` in loss.clip / loss.gp_weight resolves to
# these). The loss registry reads them from here, so config, the lowest layer, imports no loss.
LOSS_DEFAULTS: Mapping[str, Mapping[str, float]] = types.MappingProxyType({
    "wgan": {"clip": 0.01}, "wgan-gp": {"gp_weight": 10.0}})


def _check_simultaneous(cfg: Config) -> None:
    """A simultaneous step is one D and one G gradient from one forward: nothing that needs its
    own D pass (R1, a gradient penalty, weight clipping, several D or G steps, a controller of
    d_steps) and no mixed precision."""
    t, loss = cfg.trainer, cfg.loss
    clashes = [("trainer.name", t.name != "pair", f"{t.name} (only pair)"),
               ("trainer.d_steps", t.d_steps != 1, str(t.d_steps)),
               ("trainer.g_steps", t.g_steps != 1, str(t.g_steps)),
               ("trainer.amp", t.amp != "none", t.amp),
               ("loss.r1_gamma", loss.r1_gamma > 0, str(loss.r1_gamma)),
               ("loss.gp_weight", bool(loss.gp_weight), str(loss.gp_weight)),
               ("loss.clip", bool(loss.clip), str(loss.clip)),
               ("controller.name", cfg.controller.name != "static", cfg.controller.name)]
    for key, bad, value in clashes:
        if bad:
            raise UserError(f"config key '{key}': {value} does not go with "
                            "trainer.update=simultaneous (one D and one G gradient per step)")


def choices_of(cls: type, name: str) -> tuple[str, ...]:
    """The allowed values of a choice field of a config section."""
    return next(f.metadata["choices"] for f in dataclasses.fields(cls) if f.name == name)


def _resolve_loss_defaults(cfg: Config) -> None:
    name = LOSS_DRAWS[cfg.loss.name][1] if cfg.loss.name in LOSS_DRAWS else cfg.loss.name
    defaults = LOSS_DEFAULTS.get(name, {})
    if cfg.loss.clip is None:
        cfg.loss.clip = defaults.get("clip", 0.0)
    if cfg.loss.gp_weight is None:
        cfg.loss.gp_weight = defaults.get("gp_weight", 0.0)


def from_dict(data: Mapping[str, Any]) -> Config:
    """Validate plain data against the schema and return a resolved Config."""
    cfg = _build(Config, data, "")
    _check_consistency(cfg)
    _resolve_loss_defaults(cfg)
    return cfg


def to_dict(cfg: Config) -> dict[str, Any]:
    """The config as plain data (what config.yaml and checkpoints hold)."""
    return dataclasses.asdict(cfg)


# ----------------------------------------------------------------------------------------------
# Presets, YAML files and overrides


def preset_names() -> list[str]:
    """Public presets shipped with genarena (files starting with '_' are bases)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml") if not p.stem.startswith("_"))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise UserError(f"config file '{path}': cannot read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"config file '{path}': malformed YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config file '{path}': expected a mapping of config keys at the top")
    return data


def _locate(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise UserError(f"config file '{name_or_path}' not found")
        return path
    preset = PRESET_DIR / f"{name_or_path}.yaml"
    if not preset.is_file():
        near = difflib.get_close_matches(name_or_path, preset_names(), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(near)}?" if near else "see genarena presets"
        raise UserError(f"unknown preset '{name_or_path}' and no such YAML file ({hint})")
    return preset


def preset_file(name: str) -> Path:
    """The file of a shipped preset (bases included), or a UserError with the nearest names."""
    if "/" in name or name.endswith((".yaml", ".yml")):
        raise UserError(f"unknown preset '{name}' (expected a name from genarena presets)")
    return _locate(name)


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `top` over `base`, recursing into mappings."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_raw(name_or_path: str, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """A preset or YAML file as plain data, with its `base:` chain merged underneath."""
    path = _locate(name_or_path)
    data = _read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise UserError(f"config file '{path}': key 'base' expected a preset name, got {base!r}")
    if base in _seen:
        raise UserError(f"config file '{path}': 'base' chain loops through '{base}'")
    return deep_merge(load_raw(base, _seen + (name_or_path,)), data)


def parse_override(text: str) -> tuple[str, Any]:
    """Split 'a.b=value'; the value is read as YAML (numbers, lists, null, strings)."""
    key, sep, raw = text.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise UserError(f"override '{text}': expected KEY=VALUE with a dotted key, "
                        "e.g. optim.lr_g=2e-4")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def nest(key: str, value: Any) -> dict[str, Any]:
    """'a.b' , v  ->  {'a': {'b': v}}."""
    out: Any = value
    for part in reversed(key.split(".")):
        out = {part: out}
    return out


def load_config(name_or_path: str | Mapping[str, Any] | Config,
                overrides: Mapping[str, Any] | Sequence[str] = ()) -> Config:
    """Preset name, YAML path, dict or Config, plus overrides ('a.b=v' strings or a mapping)."""
    if isinstance(name_or_path, Config):
        raw = to_dict(name_or_path)
    elif isinstance(name_or_path, Mapping):
        raw = dict(name_or_path)
    else:
        raw = load_raw(str(name_or_path))
    if isinstance(overrides, Mapping):
        items = list(overrides.items())
    else:
        items = [parse_override(o) for o in overrides]
    for key, value in items:
        raw = deep_merge(raw, nest(key, value))
    return from_dict(raw)


def _yaml(data: Mapping[str, Any]) -> str:
    """Block-style YAML in schema order, unicode kept, long descriptions on one line."""
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=1000)


def dump_yaml(cfg: Config, used: tuple[str, ...] | None = None) -> str:
    """The resolved configuration as YAML text: every key, so the text alone reproduces the run.

    With `used` (the sections the trainer reads), the other sections follow under a comment that
    says so, instead of mixing with the ones that matter."""
    data = to_dict(cfg)
    if used is None:
        return _yaml(data)
    sections = {f.name for f in dataclasses.fields(Config) if dataclasses.is_dataclass(f.type)
                or isinstance(data.get(f.name), dict)}
    head = {k: v for k, v in data.items() if k not in sections or k in used}
    rest = {k: v for k, v in data.items() if k in sections and k not in used}
    text = _yaml(head)
    if rest:
        text += (f"# Sections the {cfg.trainer.name} trainer does not read (their defaults, kept "
                 "so that this file alone\n# reproduces the run):\n"
                 + _yaml(rest))
    return text


def field_docs(cls: type = Config, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(dotted key, default, doc) for every leaf of the schema: the reference for users."""
    rows: list[tuple[str, Any, str]] = []
    instance = cls()
    for f in dataclasses.fields(cls):
        value = getattr(instance, f.name)
        if dataclasses.is_dataclass(value):
            rows += field_docs(type(value), prefix + f.name + ".")
        else:
            rows.append((prefix + f.name, value, f.metadata.get("doc", "")))
    return rows
