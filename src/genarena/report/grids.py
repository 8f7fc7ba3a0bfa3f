"""Image grids as PNG with Pillow (no torchvision): samples in [-1, 1], 1 or 3 channels."""
from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image
from torch import Tensor


def grid_image(images: Tensor, cols: int | None = None, pad: int = 2, scale: int = 0) -> Image.Image:
    """N×C×H×W images in [-1, 1] tiled row by row on a dark background."""
    x = images.detach().cpu().float().clamp(-1, 1)
    n, c, h, w = x.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 32, np.uint8)
    pixels = ((x + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    if c == 1:
        pixels = np.repeat(pixels, 3, axis=3)
    for i in range(n):
        r, q = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        canvas[top:top + h, left:left + w] = pixels[i, :, :, :3]
    img = Image.fromarray(canvas)
    if not scale:                      # small grids are enlarged (nearest) to at least 256 px
        longest = max(canvas.shape[:2])
        scale = 256 // longest + 1 if longest < 256 else 1
    return img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST) if scale > 1 else img


def grid_png(images: Tensor, cols: int | None = None) -> bytes:
    """grid_image encoded as PNG bytes."""
    buf = io.BytesIO()
    grid_image(images, cols).save(buf, format="PNG")
    return buf.getvalue()
