"""Stylize images and folders with a per-style checkpoint:
``python scripts/stylize.py ckpt=<style>.safetensors input=<image or folder> [output=...]`` (or ``fst-stylize``).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig
from tqdm import tqdm

from fst import CONF_DIR
from fst.checkpoint import load_style_model
from fst.data.images import IMAGE_EXTENSIONS, ImageLoadError, find_images, is_image_file, load_image, save_image
from fst.errors import FstError, exit_on_user_error

log = logging.getLogger(__name__)


def pick_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise FstError(f"device={name!r} is not a device; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FstError(f"device={name}: CUDA is not available here; use device=auto or device=cpu")
    return device


def plan_outputs(input: str, output: str | None, style: str) -> list[tuple[Path, Path]]:
    """(source, destination) pairs. A folder keeps its relative layout under the output folder."""
    source = Path(input).expanduser()
    out = Path(output).expanduser() if output else Path("stylized") / style
    if source.is_file():
        if not is_image_file(source):
            raise FstError(f"input is not an image ({', '.join(IMAGE_EXTENSIONS)}): {source}")
        destination = out if out.suffix.lower() in IMAGE_EXTENSIONS else out / source.name
        return [(source, destination)]
    if source.is_dir():
        images = find_images(source)
        if not images:
            raise FstError(f"input folder has no images ({', '.join(IMAGE_EXTENSIONS)}): {source}")
        if out.suffix.lower() in IMAGE_EXTENSIONS:
            raise FstError(f"output={out} names a file but input is a folder; give an output folder")
        return [(path, out / path.relative_to(source)) for path in images]
    raise FstError(f"input not found: {source}")


def _stylize_batch(net: torch.nn.Module, images: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    return net(torch.stack(images).to(device)).clamp(0, 1).cpu()


@torch.inference_mode()
def stylize(cfg: DictConfig) -> list[Path]:
    """Stylize ``cfg.input`` (a file or a folder); return the files written."""
    if cfg.batch_size <= 0:
        raise FstError(f"batch_size must be > 0, got {cfg.batch_size}")
    if cfg.size is not None and cfg.size <= 0:
        raise FstError(f"size must be > 0 (the long side in pixels) or null, got {cfg.size}")
    net, metadata = load_style_model(cfg.ckpt)
    pairs = plan_outputs(cfg.input, cfg.output, metadata.get("style", "style"))
    for source, destination in pairs:
        if destination.resolve() == source.resolve():
            raise FstError(f"output would overwrite the input {source}; choose another output")
    existing = [d for _, d in pairs if d.exists()]
    if existing and not cfg.overwrite:
        if len(pairs) == 1:
            raise FstError(f"output exists: {existing[0]}; pass overwrite=true or another output")
        log.info("skipping %d images already stylized in the output folder (overwrite=true redoes them)", len(existing))
        pairs = [(s, d) for s, d in pairs if not d.exists()]
    device = pick_device(cfg.device)
    net = net.to(device)

    written, failures = [], []
    progress = tqdm(total=len(pairs), unit="img", desc="stylize", disable=len(pairs) < 2)
    for start in range(0, len(pairs), cfg.batch_size):
        # Only images of the same size can share a batch.
        by_size = defaultdict(list)
        for source, destination in pairs[start : start + cfg.batch_size]:
            try:
                image = load_image(source, long_side=cfg.size)
            except ImageLoadError as exc:
                if len(pairs) == 1:
                    raise
                failures.append(str(exc))
                continue
            by_size[image.shape].append((destination, image))
        for group in by_size.values():
            outputs = _stylize_batch(net, [image for _, image in group], device)
            for (destination, _), stylized in zip(group, outputs):
                save_image(stylized, destination)
                written.append(destination)
        progress.update(len(pairs[start : start + cfg.batch_size]))
    progress.close()
    for reason in failures:
        log.warning("skipped: %s", reason)
    if failures:
        log.warning("%d of %d inputs could not be read and were skipped", len(failures), len(pairs))
    return written


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="stylize")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    written = stylize(cfg)
    where = f": {os.path.commonpath(written) if len(written) > 1 else written[0]}" if written else ""
    print(f"fst: wrote {len(written)} image(s){where}")


if __name__ == "__main__":
    main()
