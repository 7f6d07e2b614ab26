"""Style paintings: loading one at its style-loss size, and finding one by name in a folder."""

from __future__ import annotations

from pathlib import Path

import torch

from fst.data.images import ImageLoadError, find_images, load_image
from fst.errors import FstError

# A VGG's relu4 layers see the image at 1/8 scale; below this their Gram matrices describe a few pixels.
MIN_STYLE_SIDE = 32


def load_style_image(image: str | Path, size: int | None, option: str = "style") -> torch.Tensor:
    """The painting as a (1, 3, H, W) batch in [0, 1], its long side resized to ``size`` (None: as is)."""
    path = Path(str(image)).expanduser()
    if not path.is_file():
        raise FstError(f"style image not found: {path}; set {option}.image=/path/to/painting.jpg")
    if size is not None and size <= 0:
        raise FstError(f"{option}.size must be > 0, got {size}")
    try:
        picture = load_image(path, long_side=size)
    except ImageLoadError as exc:
        raise FstError(f"{option}.image: {exc}") from None
    if min(picture.shape[-2:]) < MIN_STYLE_SIDE:
        height, width = picture.shape[-2:]
        raise FstError(
            f"style image {path} is {width}x{height} at {option}.size={size}; its sides need at least "
            f"{MIN_STYLE_SIDE} px for the VGG's deeper layers: use a larger painting or raise {option}.size"
        )
    return picture.unsqueeze(0)


def find_style_image(style_dir: str | Path, name: str, option: str = "style_dir") -> Path:
    """``<style_dir>/<name>.<any image extension>``."""
    style_dir = Path(style_dir).expanduser()
    matches = [p for p in find_images(style_dir) if p.stem == name] if style_dir.is_dir() else []
    if not matches:
        raise FstError(f"no style image '{name}.*' in {option}={style_dir}; set {option} to the folder of paintings")
    return matches[0]
