"""Image discovery, robust decoding to RGB, and saving."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision.transforms.v2 import functional as TF

from fst.errors import FstError, one_line_reason
from fst.io import atomic_path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


class ImageLoadError(FstError):
    """A file could not be decoded as an image; the message names the file and why."""


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def find_images(root: str | Path) -> list[Path]:
    """All image files below ``root`` (recursive, sorted, no class subfolders needed)."""
    return sorted(p for p in Path(root).rglob("*") if p.is_file() and is_image_file(p))


def require_image_folder(root: str | Path, option: str) -> list[Path]:
    """The images of a folder, or a one-line error naming the option when there are none."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FstError(f"{option}: folder not found: {root}; set {option}=/path/to/images (or FST_DATA_DIR)")
    paths = find_images(root)
    if not paths:
        raise FstError(f"{option}: no images ({', '.join(IMAGE_EXTENSIONS)}) found under {root}")
    return paths


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # 16/32-bit grayscale: Pillow's convert would clip, so rescale to 8 bit ourselves.
        values = np.asarray(image, dtype=np.float32)
        if values.max(initial=0) > 255:
            values = values / 257.0
        image = Image.fromarray(values.clip(0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Composite transparent pixels onto white rather than whatever colour they hide.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def open_rgb(path: str | Path) -> Image.Image:
    """Decode any image file to an RGB PIL image with its EXIF orientation applied.

    Raises ImageLoadError (and nothing else) for anything that is not a readable image.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # Above Image.MAX_IMAGE_PIXELS (89 M) Pillow only warns; refuse instead of exhausting memory.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                return _to_rgb(image)
    except Exception as exc:  # Pillow raises many types: OSError, ValueError, SyntaxError, bombs...
        raise ImageLoadError(f"cannot read image {path}: {one_line_reason(exc)}") from None


def pil_to_tensor(image: Image.Image, long_side: int | None = None) -> torch.Tensor:
    """A (3, H, W) float tensor in [0, 1] of any PIL image (as RGB); optionally resized so the long side is
    ``long_side``."""
    image = _to_rgb(image)
    if long_side:
        scale = long_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    return TF.to_dtype(TF.pil_to_tensor(image), torch.float32, scale=True)


def tensor_to_pil(image: torch.Tensor) -> Image.Image:
    """An RGB PIL image of a (3, H, W) tensor in [0, 1]: the pixels fst writes to files."""
    return TF.to_pil_image(image.detach().float().clamp(0, 1).cpu())


def load_image(path: str | Path, long_side: int | None = None) -> torch.Tensor:
    """A (3, H, W) float tensor in [0, 1]; optionally resized so the long side is ``long_side``."""
    return pil_to_tensor(open_rgb(path), long_side)


def save_image(image: torch.Tensor, path: str | Path) -> None:
    """Write a (3, H, W) tensor in [0, 1] atomically (a kill never leaves a partial file)."""
    path = Path(path)
    pil = tensor_to_pil(image)
    extension = path.suffix.lower().lstrip(".")
    format = {"jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF"}.get(extension, extension.upper())
    options = {"quality": 95} if format in ("JPEG", "WEBP") else {}
    with atomic_path(path) as tmp:
        pil.save(tmp, format=format, **options)
