"""Per-image optimization (Gatys et al. 2016): the slow baseline that feed-forward networks approximate.

The pixels of one image are optimized against the same perceptual loss that trains a TransformerNet, with
L-BFGS (as Gatys et al. and Johnson et al.'s comparison) or Adam.
"""

from __future__ import annotations

import csv
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from fst.errors import FstError
from fst.io import atomic_path
from fst.losses.perceptual import PerceptualLoss

log = logging.getLogger(__name__)

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}


@dataclass
class Optimized:
    """The optimized image (1, 3, H, W) in [0, 1], the loss terms at every step, and the wall time."""

    image: torch.Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def optimize_image(
    content: torch.Tensor,
    criterion: PerceptualLoss,
    *,
    optimizer: str,
    steps: int,
    lr: float | None,
    init: str,
    seed: int,
    progress: bool,
) -> Optimized:
    """Optimize an image's pixels to minimise ``criterion`` against ``content`` (criterion's style already set).

    ``optimizer`` is lbfgs or adam; ``steps`` counts loss evaluations (L-BFGS evaluates the loss more than once
    per iteration); ``lr`` None takes the optimizer's usual one; ``init`` starts from the content or from noise
    (drawn with ``seed``); ``progress`` shows a progress bar. ``conf/optimize.yaml`` has the defaults.
    """
    if optimizer not in OPTIMIZERS:
        raise FstError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    if init not in INITS:
        raise FstError(f"init must be one of {list(INITS)}, got {init!r}")
    if steps < 1:
        raise FstError(f"steps must be >= 1, got {steps}")
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    target = criterion.content_target(content)
    if init == "content":
        start = content.clone(memory_format=torch.contiguous_format)  # L-BFGS views the gradient flat
    else:
        start = torch.rand(content.shape, generator=torch.Generator().manual_seed(seed)).to(content)
    image = start.requires_grad_(True)
    history: list[dict[str, float]] = []
    bar = tqdm(total=steps, desc=f"{optimizer} {tuple(content.shape[-2:])}", unit="step", disable=not progress)

    def closure() -> torch.Tensor:
        with torch.no_grad():  # keep the pixels displayable; L-BFGS sees the clamped image
            image.clamp_(0, 1)
        losses = criterion.terms(image, target)
        image.grad = None
        losses["total"].backward()
        history.append({k: v.item() for k, v in losses.items()})
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]['total']:.4g}")
        return losses["total"]

    started = time.perf_counter()
    if optimizer == "lbfgs":
        # One call runs up to `steps` iterations and `steps` loss evaluations (history as in Gatys' code).
        lbfgs = torch.optim.LBFGS([image], lr=lr, max_iter=steps, max_eval=steps, history_size=100,
                                  tolerance_grad=0, tolerance_change=0)
        lbfgs.step(closure)
    else:
        adam = torch.optim.Adam([image], lr=lr)
        for _ in range(steps):
            adam.step(closure)
    bar.close()
    with torch.no_grad():
        image.clamp_(0, 1)
    if content.device.type == "cuda":
        torch.cuda.synchronize()
    return Optimized(image.detach(), history, time.perf_counter() - started)


def save_loss_curve(history: list[dict[str, float]], csv_path: Path, png_path: Path, title: str) -> None:
    """The loss terms per step as a CSV table and a log-scale plot."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    terms = list(history[0])
    with atomic_path(csv_path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", *terms])
        writer.writerows([step, *(row[t] for t in terms)] for step, row in enumerate(history, 1))
    figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
    for term in terms:
        values = [row[term] for row in history]
        if any(v > 0 for v in values):
            axes.plot(range(1, len(values) + 1), values, label=term)
    axes.set(xlabel="step", ylabel="weighted loss", yscale="log", title=title)
    axes.legend()
    figure.tight_layout()
    with atomic_path(png_path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
