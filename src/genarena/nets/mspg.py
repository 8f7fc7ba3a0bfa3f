"""MSPG-SEN nets (docs/mspg.md): DEMA attention, GCTDRN blocks, the multi-scale progressive
generator and the multi-scale discriminator. Every part can be switched off for the ablations.

The seed paper gives no equations; docs/mspg.md records the design choices made here.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genarena.nets.base import Discriminator, Generator
from genarena.nets.dcgan import base_size, square_base

Pyramid = list[Tensor]          # images from the lowest to the highest resolution


class DEMA(nn.Module):
    """Dynamic embedded multi-scale attention: Y = X + c ⊙ s ⊙ Σ_k a_k ⊙ L_k, linear in H·W.

    L_k: depthwise k×k convolutions (k = 3, 5, 7); e = MLP(GAP(X)) ∈ R^{C/r};
    a = softmax over scales of W_k e (per channel); c = σ(W_c e); s = σ(conv7×7([mean_C, max_C])).
    """

    KERNELS = (3, 5, 7)

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.local = nn.ModuleList(nn.Conv2d(channels, channels, k, padding=k // 2, groups=channels)
                                   for k in self.KERNELS)
        self.embed = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU())
        self.scale_logits = nn.Linear(hidden, len(self.KERNELS) * channels)
        self.channel_gate = nn.Linear(hidden, channels)
        self.spatial_gate = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: Tensor) -> Tensor:
        b, c = x.shape[:2]
        e = self.embed(x.mean((2, 3)))
        a = self.scale_logits(e).view(b, len(self.KERNELS), c).softmax(1)[..., None, None]
        gate_c = torch.sigmoid(self.channel_gate(e))[..., None, None]
        gate_s = torch.sigmoid(self.spatial_gate(
            torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
        mixed = sum(a[:, k] * conv(x) for k, conv in enumerate(self.local))
        return x + gate_c * gate_s * mixed


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang 2019), quadratic in H·W: the baseline DEMA is benchmarked against."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = max(1, channels // 8)
        self.q, self.k = nn.Conv2d(channels, inner, 1), nn.Conv2d(channels, inner, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = self.q(x).flatten(2), self.k(x).flatten(2), self.v(x).flatten(2)
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)             # (B, HW, HW)
        return x + self.gamma * (v @ attn.transpose(1, 2)).view(b, c, h, w)


class GCTDRN(nn.Module):
    """Globally connected two-flow dynamic residual block: Y = Shortcut(X) + β·F(X, z).

    Local flow: parallel 3×3, 5×5, 7×7 convolutions (the wide two depthwise-separable), summed,
    normalised, fused by DEMA.
    Global flow: z → (γ, b) modulates the local flow (FiLM), so every block sees the code.
    β is a learned scalar that starts at 0 (the block starts as its shortcut).
    `plain=True` is the ablation: a plain residual block (two 3×3 convs, no z, no DEMA, β = 1).
    """

    def __init__(self, in_ch: int, out_ch: int, z_dim: int = 0, upsample: bool = False,
                 downsample: bool = False, dema: bool = True, plain: bool = False) -> None:
        super().__init__()
        self.upsample, self.downsample, self.plain = upsample, downsample, plain
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()
        if plain:
            self.body = nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.GroupNorm(1, out_ch),
                                      nn.LeakyReLU(0.2), nn.Conv2d(out_ch, out_ch, 3, padding=1))
            self.register_buffer("beta", torch.ones(()))
            return
        # 3×3 in full; 5×5 and 7×7 depthwise, then one pointwise mix (the wide kernels in full
        # cost 2.7× + 5.4× a 3×3 and made a 28×28 step ~20× slower than DCGAN on a CPU)
        self.conv3 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.wide = nn.ModuleList(nn.Conv2d(in_ch, in_ch, k, padding=k // 2, groups=in_ch)
                                  for k in (5, 7))
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1)
        self.norm = nn.GroupNorm(1, out_ch)
        self.film = nn.Linear(z_dim, 2 * out_ch) if z_dim > 0 else None
        self.dema = DEMA(out_ch) if dema else nn.Identity()
        self.beta = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor, z: Tensor | None = None) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        if self.plain:
            h = self.body(x)
        else:
            h = self.norm(self.conv3(x) + self.pointwise(sum(conv(x) for conv in self.wide)))
            if self.film is not None and z is not None:
                gamma, shift = self.film(z).chunk(2, dim=1)
                h = h * (1 + gamma[..., None, None]) + shift[..., None, None]
            h = self.dema(F.leaky_relu(h, 0.2))
        y = self.shortcut(x) + self.beta * h
        return F.avg_pool2d(y, 2) if self.downsample else y


def _channels(width: int, levels: int) -> list[int]:
    """Channels per level, widest at the lowest resolution: width·2^(levels-1-i), capped at 4·width."""
    return [width * min(2 ** (levels - 1 - i), 4) for i in range(levels)]


class MSPGGenerator(Generator):
    """z → base map → GCTDRN upsampling blocks, with an image head (toRGB) at every level.

    `pyramid(z)` gives one image per level. Progressive fade-in: with progress p ∈ [0, 1] the
    output at level i is lerp(up(out_{i-1}), rgb_i, α_i), α_i = clamp(p·(L-1) - (i-1), 0, 1),
    so low resolutions are learned first and p = 1 is the plain multi-scale generator.
    """

    def __init__(self, z_dim: int, out_shape: Sequence[int], width: int = 32, dema: bool = True,
                 gctdrn: bool = True, out_act: str = "tanh") -> None:
        super().__init__()
        c, size, stages = square_base(out_shape, "MSPG")
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        chans = _channels(width, stages + 1)
        self.project = nn.Sequential(nn.Linear(z_dim, chans[0] * size * size),
                                     nn.Unflatten(1, (chans[0], size, size)), nn.LeakyReLU(0.2))
        self.blocks = nn.ModuleList(
            GCTDRN(a, b, z_dim, upsample=True, dema=dema, plain=not gctdrn)
            for a, b in zip(chans[:-1], chans[1:]))
        self.to_rgb = nn.ModuleList(nn.Conv2d(ch, c, 1) for ch in chans)
        self.out_act = nn.Tanh() if out_act == "tanh" else nn.Identity()
        self.progress: Tensor
        self.register_buffer("progress", torch.ones(()))

    @property
    def levels(self) -> int:
        return len(self.to_rgb)

    def set_progress(self, p: float) -> None:
        """Fade-in position in [0, 1] (a buffer, so checkpoints carry it)."""
        self.progress.fill_(min(max(p, 0.0), 1.0))

    def pyramid(self, z: Tensor) -> Pyramid:
        # channels-last: depthwise convolutions (DEMA, the wide GCTDRN flows) run 3-4× faster
        # in that layout on CPU, forward and backward
        h = self.project(z).contiguous(memory_format=torch.channels_last)
        rgbs = [self.out_act(self.to_rgb[0](h))]
        for block, to_rgb in zip(self.blocks, self.to_rgb[1:]):
            h = block(h, z)
            rgbs.append(self.out_act(to_rgb(h)))
        return fade(rgbs, float(self.progress))

    def forward(self, z: Tensor) -> Tensor:
        return self.pyramid(z)[-1]


def fade(images: Pyramid, progress: float) -> Pyramid:
    """Progressive fade-in over a pyramid: out_i = lerp(up(out_{i-1}), img_i, α_i) with
    α_i = clamp(p·(L-1) - (i-1), 0, 1); p = 1 returns the images unchanged."""
    p = progress * (len(images) - 1)
    outs = [images[0]]
    for i, img in enumerate(images[1:], start=1):
        alpha = min(max(p - (i - 1), 0.0), 1.0)
        if alpha >= 1:
            outs.append(img)
        else:
            up = F.interpolate(outs[-1], scale_factor=2.0, mode="nearest")
            outs.append((1 - alpha) * up + alpha * img)
    return outs


def image_pyramid(x: Tensor, levels: int) -> Pyramid:
    """Average-pooled copies of real images, lowest resolution first (what D compares with G's)."""
    out = [x]
    for _ in range(levels - 1):
        out.append(F.avg_pool2d(out[-1], 2))
    return out[::-1]


class MSPGDiscriminator(Discriminator):
    """Reads every scale (MSG-GAN): fromRGB at the top, downsampling residual blocks (DEMA when
    on), and at each lower level the image of that scale joins the features via its own fromRGB.
    `multiscale=False` reads only the full-resolution image."""

    def __init__(self, in_shape: Sequence[int], width: int = 32, dema: bool = True,
                 gctdrn: bool = True, multiscale: bool = True) -> None:
        super().__init__()
        c, h, _ = in_shape
        size, stages = base_size(h)
        self.levels, self.multiscale = stages + 1, multiscale
        chans = _channels(width, stages + 1)[::-1]                    # highest resolution first
        self.from_rgb = nn.ModuleList(nn.Conv2d(c, ch, 1) for ch in chans)
        self.blocks = nn.ModuleList(
            GCTDRN(a, b, 0, downsample=True, dema=dema, plain=not gctdrn)
            for a, b in zip(chans[:-1], chans[1:]))
        self.head = nn.Sequential(nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(chans[-1] * size * size, 1))
        self.feature_dim = chans[-1]

    def _inputs(self, x: Tensor | Pyramid) -> Pyramid:
        pyr = x if isinstance(x, list) else image_pyramid(x, self.levels)
        return pyr[::-1]                                               # highest resolution first

    def features(self, x: Tensor | Pyramid) -> list[Tensor]:
        """Activations after every block (feature matching, D_aux and the contrastive loss)."""
        pyr = [p.contiguous(memory_format=torch.channels_last) for p in self._inputs(x)]
        h = F.leaky_relu(self.from_rgb[0](pyr[0]), 0.2)
        out = []
        for i, block in enumerate(self.blocks, start=1):
            h = block(h)
            if self.multiscale:
                h = h + F.leaky_relu(self.from_rgb[i](pyr[i]), 0.2)
            out.append(h)
        return out

    def classify(self, features: list[Tensor]) -> Tensor:
        """The logit from `features(x)`."""
        return self.head(features[-1])

    def forward(self, x: Tensor | Pyramid) -> Tensor:
        return self.classify(self.features(x))


def pooled(features: Tensor) -> Tensor:
    """(B, C, H, W) → (B, C) by global average pooling; (B, F) unchanged."""
    return features.mean((2, 3)) if features.dim() == 4 else features


class AuxDiversityDiscriminator(nn.Module):
    """D_aux (docs/mspg.md): judges packs of m samples from the main D's pooled features.

    Input per pack: the mean of the m feature vectors and the sorted pairwise cosine
    similarities (m(m-1)/2 values; sorted, so the order inside a pack does not matter).
    Collapsed fakes have near-identical features (similarities near 1), so D_aux tells them from
    real packs and its loss pushes G to diversify.
    """

    def __init__(self, feature_dim: int, pack: int = 4, hidden: int = 64) -> None:
        super().__init__()
        self.pack = pack
        pairs = pack * (pack - 1) // 2
        self.net = nn.Sequential(nn.Linear(feature_dim + pairs, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 1))
        self.upper: Tensor
        self.register_buffer("upper", torch.triu(torch.ones(pack, pack, dtype=torch.bool), 1))

    def forward(self, features: Tensor) -> Tensor:
        f = pooled(features)
        b = f.shape[0] - f.shape[0] % self.pack
        f = f[:b].reshape(b // self.pack, self.pack, -1)
        unit = F.normalize(f, dim=2)
        sims = (unit @ unit.transpose(1, 2))[:, self.upper].sort(dim=1).values
        return self.net(torch.cat([f.mean(1), sims], 1))
