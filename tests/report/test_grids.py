"""PNG sample grids without torchvision."""
import io

import torch
from PIL import Image

from genarena.report.grids import grid_image, grid_png


def test_grid_layout_and_values():
    x = torch.full((6, 1, 4, 4), -1.0)
    x[1] = 1.0
    img = grid_image(x, cols=3, pad=1, scale=1)
    assert img.size == (3 * 5 + 1, 2 * 5 + 1)
    px = img.load()
    assert px[1, 1] == (0, 0, 0) and px[6, 1] == (255, 255, 255) and px[0, 0] == (32, 32, 32)


def test_rgb_grid_png_round_trip():
    png = grid_png(torch.rand(10, 3, 8, 8) * 2 - 1)
    img = Image.open(io.BytesIO(png))
    assert img.mode == "RGB" and img.width >= 256
