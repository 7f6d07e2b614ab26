"""Measuring video stylization the way the field does: temporal warping error (Lai et al. 2018), the style still
there (per-frame content and style losses), and speed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from fst.inference.temporal import consistent, gray, optical_flow, warp
from fst.losses.perceptual import PerceptualLoss


def warping_error(inputs: list[np.ndarray], outputs: list[np.ndarray], flow: str, skip: set[int] = frozenset()) -> float:
    """Lai et al.'s temporal warping error: the mean over frame pairs (t, t+1) of the mean squared difference, on
    pixels of frame t visible in frame t+1, between output t and output t+1 carried back to frame t by the optical
    flow of the *input* frames (``flow`` names the estimator, so that the measurement need not use the method
    that made the output). Pairs starting at a frame in ``skip`` (a scene cut) are left out. Outputs in [0, 1]."""
    estimate = optical_flow(flow)
    errors = []
    for t in range(len(inputs) - 1):
        if t in skip:
            continue
        now, after = gray(inputs[t]), gray(inputs[t + 1])
        to_next, to_now = estimate(now, after), estimate(after, now)
        visible = consistent(to_next, to_now)
        carried = warp(outputs[t + 1].astype(np.float32) / 255, to_next)
        squared = ((outputs[t].astype(np.float32) / 255 - carried) ** 2).mean(axis=-1)
        errors.append(float(squared[visible].mean()) if visible.any() else 0.0)
    return float(np.mean(errors))


@torch.no_grad()
def frame_losses(criterion: PerceptualLoss, inputs: list[np.ndarray], outputs: list[np.ndarray], device: torch.device) -> dict[str, float]:
    """The mean per-frame content and style losses of the outputs (the model's own training definitions)."""
    totals = {"content": 0.0, "style": 0.0}
    for frame, output in zip(inputs, outputs):
        as_tensor = [torch.from_numpy(x).permute(2, 0, 1)[None].float().div(255).to(device) for x in (frame, output)]
        losses = criterion(as_tensor[1], as_tensor[0])
        for key in totals:
            totals[key] += losses[key].item() / len(inputs)
    return totals


@dataclass
class VideoResult:
    """One method's stylization of a clip and its figures."""

    name: str
    frames: list[np.ndarray]
    seconds: float
    warping_error: float = 0.0
    content: float = 0.0
    style: float = 0.0
    cuts: int | None = None  # scene cuts the temporal blend detected (None: no blend)

    @property
    def fps(self) -> float:
        return len(self.frames) / self.seconds


def timed(name: str, stylize: Callable[[], list[np.ndarray]]) -> VideoResult:
    started = time.perf_counter()
    frames = stylize()
    return VideoResult(name, frames, time.perf_counter() - started)
