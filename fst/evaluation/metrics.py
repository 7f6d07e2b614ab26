"""How close a stylized image is to what training asked of it (losses), and to its photo (SSIM, PSNR)."""

from __future__ import annotations

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio as psnr
from torchmetrics.functional.image import structural_similarity_index_measure as ssim

from fst.losses.perceptual import PerceptualLoss


@torch.no_grad()
def score(criterion: PerceptualLoss, stylized: torch.Tensor, photo: torch.Tensor) -> dict[str, float]:
    """Training-definition losses (weighted, fp32), SSIM and PSNR of one stylized (1, 3, H, W) image to its photo."""
    stylized = stylized.float().clamp(0, 1)
    losses = criterion(stylized, photo)
    return {
        "content": losses["content"].item(),
        "style": losses["style"].item(),
        "ssim": ssim(stylized, photo, data_range=1.0).item(),
        "psnr": psnr(stylized, photo, data_range=1.0).item(),
    }
