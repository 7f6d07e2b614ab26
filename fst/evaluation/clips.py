"""Synthetic video clips from real photos, for testing and measuring video stylization without video data.

A camera pans, zooms and turns slightly over one photo while a disc cut from a second photo moves across the
frame (occluding the background, then uncovering it), and the clip cuts hard to a third photo for its last
third: the cases that make video stylization flicker, ghost or smear.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Clip:
    """The frames (uint8 RGB), the moving object's box (left, top, right, bottom) in each frame before the cut
    (None after it), and the index of the first frame after the cut."""

    frames: list[np.ndarray]
    boxes: list[tuple[int, int, int, int] | None]
    cut: int


def _camera(photo: np.ndarray, size: tuple[int, int], progress: float, start: tuple[float, float], end: tuple[float, float],
            zoom: tuple[float, float], turn: float) -> np.ndarray:
    """The view of ``photo`` at ``progress`` in [0, 1] along a pan from ``start`` to ``end`` (fractions of the
    photo), zooming from zoom[0] to zoom[1] and turning by ``turn`` degrees."""
    height, width = size
    ph, pw = photo.shape[:2]
    centre = (pw * (start[0] + (end[0] - start[0]) * progress), ph * (start[1] + (end[1] - start[1]) * progress))
    scale = zoom[0] + (zoom[1] - zoom[0]) * progress  # photo pixels per frame pixel
    matrix = cv2.getRotationMatrix2D(centre, turn * progress, 1 / scale)
    matrix[:, 2] += (width / 2 - centre[0], height / 2 - centre[1])
    return cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def synthetic_clip(photos: list[np.ndarray], frames: int, size: tuple[int, int]) -> Clip:
    """A ``frames``-frame clip of (height, width) ``size`` from three RGB uint8 photos (see the module)."""
    height, width = size
    cut = frames * 2 // 3
    radius = max(6, min(height, width) // 6)
    disc_source = cv2.resize(photos[1], (2 * radius, 2 * radius), interpolation=cv2.INTER_AREA)
    disc_mask = np.zeros((2 * radius, 2 * radius), np.float32)
    cv2.circle(disc_mask, (radius, radius), radius - 1, 1.0, -1, lineType=cv2.LINE_AA)
    scaled = [cv2.resize(p, (int(width * 1.6), int(height * 1.6 * p.shape[0] / p.shape[1] * width / height)), interpolation=cv2.INTER_AREA)
              for p in photos]
    result, boxes = [], []
    for index in range(frames):
        if index < cut:
            progress = index / max(1, cut - 1)
            frame = _camera(scaled[0], size, progress, (0.4, 0.5), (0.6, 0.45), (1.0, 0.85), 3.0)
            x = int(radius + (width - 2 * radius - 1) * progress)
            y = int(height * 0.55 + height * 0.1 * np.sin(np.pi * progress))
            left, top = x - radius, y - radius
            region = frame[top : top + 2 * radius, left : left + 2 * radius].astype(np.float32)
            alpha = disc_mask[: region.shape[0], : region.shape[1], None]
            blended = alpha * disc_source[: region.shape[0], : region.shape[1]] + (1 - alpha) * region
            frame[top : top + 2 * radius, left : left + 2 * radius] = blended.round().astype(np.uint8)
            boxes.append((left, top, left + 2 * radius, top + 2 * radius))
        else:
            progress = (index - cut) / max(1, frames - cut - 1)
            frame = _camera(scaled[2], size, progress, (0.55, 0.5), (0.45, 0.55), (0.9, 1.0), -2.0)
            boxes.append(None)
        result.append(np.ascontiguousarray(frame))
    return Clip(result, boxes, cut)
