"""Temporally consistent video: the previous stylized frame, carried onto the current one by the optical flow of the
input frames, is blended with the current frame's stylization wherever that flow is reliable.

A network that stylizes each frame alone paints the same wall a little differently in every frame: the video
flickers. Where the flow between input frames t-1 and t is confirmed by the flow back (a forward-backward
check), the pixel was visible in both frames and the blend keeps its earlier paint; where it is not (occlusions,
newly uncovered background), and after a scene cut, the frame's own stylization shows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import cv2
import numpy as np

from fst.errors import FstError

Flow = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _dis(preset: int) -> Flow:
    estimator = cv2.DISOpticalFlow_create(preset)
    return lambda a, b: estimator.calc(a, b, None)


def _farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=4, winsize=15, iterations=3, poly_n=5,
                                        poly_sigma=1.2, flags=0)


# Classical optical flow that needs no downloaded weights: OpenCV's DIS (fast, the default) and Farneback.
FLOWS: dict[str, Callable[[], Flow]] = {
    "dis": lambda: _dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM),
    "dis_fast": lambda: _dis(cv2.DISOPTICAL_FLOW_PRESET_FAST),
    "farneback": lambda: _farneback,
}


def optical_flow(method: str) -> Flow:
    """``flow(a, b)`` for grayscale uint8 frames: (H, W, 2) displacements with a(x) ≈ b(x + flow(x))."""
    if method not in FLOWS:
        raise FstError(f"flow={method} is not one of {', '.join(FLOWS)}")
    return FLOWS[method]()


def gray(frame: np.ndarray) -> np.ndarray:
    """A (H, W, 3) uint8 RGB frame as the grayscale the flow estimators take."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


@lru_cache(maxsize=4)
def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pixel's (x, y) coordinates; made once per frame size, not per warp."""
    return np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at x + flow(x) for every pixel x (bilinear; edges replicated)."""
    grid_x, grid_y = _pixel_grid(*flow.shape[:2])
    return cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistent(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Where frame t's pixels were visible in frame t-1: (H, W) bool.

    ``backward`` is the flow t -> t-1, ``forward`` the flow t-1 -> t. A pixel passes when following the backward
    flow and then the forward flow brings it home (|b + f'|² <= 0.01 (|b|² + |f'|²) + 0.5, Sundaram et al. 2010,
    as in Ruder et al. 2016) and the backward flow lands inside frame t-1.
    """
    height, width = backward.shape[:2]
    there = warp(forward, backward)  # the forward flow at x + b(x)
    error = np.sum((backward + there) ** 2, axis=-1)
    bound = 0.01 * (np.sum(backward**2, axis=-1) + np.sum(there**2, axis=-1)) + 0.5
    grid_x, grid_y = _pixel_grid(height, width)
    target_x, target_y = grid_x + backward[..., 0], grid_y + backward[..., 1]
    inside = (target_x >= 0) & (target_x <= width - 1) & (target_y >= 0) & (target_y <= height - 1)
    return (error <= bound) & inside


class TemporalBlend:
    """Blends each stylized frame with the previous output carried onto it by the input frames' optical flow.

    Args:
        strength: how much of the carried-over paint a reliable pixel keeps (0: per-frame stylization).
        flow: the optical flow method (``FLOWS``).
        scene_cut: a frame whose pixels are less than this fraction reliable starts afresh (a cut, a flash).
        scale: the flow is estimated at this fraction of the frame size (cheaper; flows are smooth).
        detail_sigma: the blend restores the contrast of the detail finer than a Gaussian blur of this sigma (pixels)
            to a single frame's; 0 blends plainly.
    """

    def __init__(self, strength: float, flow: str, scene_cut: float, scale: float, detail_sigma: float = 3.0):
        if not 0 <= strength < 1:
            raise FstError(f"temporal.strength must be in [0, 1), got {strength}")
        if not 0 <= scene_cut <= 1:
            raise FstError(f"temporal.scene_cut must be in [0, 1], got {scene_cut}")
        if not 0 < scale <= 1:
            raise FstError(f"temporal.scale must be in (0, 1], got {scale}")
        if detail_sigma < 0:
            raise FstError(f"temporal.detail_sigma must be 0 (a plain blend) or more, got {detail_sigma}")
        if flow not in FLOWS:
            raise FstError(f"temporal.flow={flow} is not one of {', '.join(FLOWS)}")
        self.strength, self.scene_cut, self.scale, self.detail_sigma = strength, scene_cut, scale, detail_sigma
        self.flow = optical_flow(flow)
        self.previous: tuple[np.ndarray, np.ndarray] | None = None  # (gray input, stylized output) of frame t-1
        self.cuts = 0

    def _flows(self, before: np.ndarray, now: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The flows t -> t-1 and t-1 -> t at full size, estimated at ``scale``."""
        if self.scale == 1:
            return self.flow(now, before), self.flow(before, now)
        size = (max(8, round(now.shape[1] * self.scale)), max(8, round(now.shape[0] * self.scale)))
        small_now, small_before = cv2.resize(now, size, interpolation=cv2.INTER_AREA), cv2.resize(before, size, interpolation=cv2.INTER_AREA)
        full = (now.shape[1], now.shape[0])
        flows = [self.flow(small_now, small_before), self.flow(small_before, small_now)]
        ratio = np.array([full[0] / size[0], full[1] / size[1]], np.float32)  # sides round apart: each its own
        return tuple(cv2.resize(f, full, interpolation=cv2.INTER_LINEAR) * ratio for f in flows)

    def __call__(self, frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """The output for one frame: ``frame`` is the (H, W, 3) uint8 input, ``stylized`` its (H, W, 3) float32
        stylization in [0, 1]."""
        now = gray(frame)
        output = stylized
        if self.previous is not None and self.strength > 0:
            before, previous_output = self.previous
            backward, forward = self._flows(before, now)
            reliable = consistent(backward, forward)
            if reliable.mean() < self.scene_cut:
                self.cuts += 1
            else:
                carried = warp(previous_output, backward)
                weight = (self.strength * reliable)[..., None].astype(np.float32)
                output = self._mix(stylized, carried, weight)
        self.previous = (now, output)
        return output

    def _mix(self, stylized: np.ndarray, carried: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """``stylized`` and ``carried`` mixed in the proportion ``weight``, the fine detail at one frame's contrast.

        Two stylizations of one scene agree on its colours and broad shapes but place their brush strokes a little
        differently; mixing them in the proportion w averages the strokes away, lowering their contrast by about
        sqrt((1 - w)² + w²), and the painting looks washed out. The mixed detail (each image less its Gaussian blur)
        is divided by that factor: the paint stays as steady and the strokes as strong as in one frame. Splitting
        each image before the mix keeps the edges of the weight (unreliable pixels) out of the detail.
        """
        mixed = stylized + weight * (carried - stylized)
        if self.detail_sigma == 0:
            return mixed
        blurred_stylized = cv2.GaussianBlur(stylized, (0, 0), self.detail_sigma)
        blurred_carried = cv2.GaussianBlur(carried, (0, 0), self.detail_sigma)
        broad = blurred_stylized + weight * (blurred_carried - blurred_stylized)
        attenuation = np.sqrt((1 - weight) ** 2 + weight**2)
        return np.clip(broad + (mixed - broad) / attenuation, 0, 1)
