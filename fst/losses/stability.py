"""A stability term that needs no flow model: stylizing a moved crop should give the moved stylization.

Each training crop is paired with a copy under a small random motion of exactly known flow (a shift, a zoom and a
rotation: an affine warp) plus a little noise, as consecutive video frames would be. A network that paints the
same scene the same way wherever it stands in the frame commutes with the motion; the term is the mean squared
difference between the stylization of the moved crop and the moved stylization, on pixels visible in both.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# The motion between two video frames (a 25th of a second apart) at most: a few pixels, a degree, 2% of zoom.
MAX_SHIFT = 0.02  # of the crop's side
MAX_ANGLE = 1.0  # degrees
MAX_ZOOM = 0.02
NOISE = 0.01  # standard deviation of the pixel noise (sensor noise, compression)


def random_motion(images: torch.Tensor, noise: float = NOISE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A random small affine motion per image: (the moved images with noise, the sampling grid, the mask of
    pixels visible in both frames). ``move(x) = grid_sample(x, grid)`` moves any image the same way."""
    batch = len(images)
    device = images.device
    angle = (torch.rand(batch, device=device) * 2 - 1) * math.radians(MAX_ANGLE)
    zoom = 1 + (torch.rand(batch, device=device) * 2 - 1) * MAX_ZOOM
    shift = (torch.rand(batch, 2, device=device) * 2 - 1) * MAX_SHIFT * 2  # grid coordinates span [-1, 1]
    theta = torch.stack([
        torch.stack([zoom * torch.cos(angle), -zoom * torch.sin(angle), shift[:, 0]], dim=1),
        torch.stack([zoom * torch.sin(angle), zoom * torch.cos(angle), shift[:, 1]], dim=1),
    ], dim=1)
    with torch.autocast(device.type, enabled=False):  # a bf16 grid would be off by a fraction of a pixel
        grid = F.affine_grid(theta.float(), list(images.shape), align_corners=False)
    moved = move(images.float(), grid)
    visible = move(torch.ones_like(images[:, :1], dtype=torch.float32), grid) > 0.999  # away from the borders
    if noise:
        moved = moved + noise * torch.randn_like(moved)
    return moved.to(images.dtype), grid, visible


def move(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Resample ``images`` with a grid from :func:`random_motion` (zeros outside)."""
    return F.grid_sample(images, grid.to(images.dtype), mode="bilinear", padding_mode="zeros", align_corners=False)


def temporal_difference(stylized_moved: torch.Tensor, stylized: torch.Tensor, grid: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Mean squared difference, over visible pixels, of the moved crop's stylization and the moved stylization."""
    moved_stylization = move(stylized.float(), grid)
    squared = (stylized_moved.float() - moved_stylization).pow(2) * visible
    return squared.sum() / (visible.sum() * stylized.shape[1]).clamp(min=1)
