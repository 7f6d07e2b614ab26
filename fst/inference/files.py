"""Stylize what ``input=`` names (an image, a folder, a video or a GIF) into files, as ``conf/stylize.yaml`` says."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import torch
from omegaconf import DictConfig
from tqdm import tqdm

from fst.data.images import IMAGE_EXTENSIONS, ImageLoadError, find_images, is_image_file, load_image, save_image
from fst.errors import FstError
from fst.inference.mixing import describe_mix, style_weights
from fst.inference.stylizer import Stylizer
from fst.inference.video import VIDEO_EXTENSIONS, stylize_gif, stylize_video
from fst.models.files import load_style_model
from fst.models.zoo import resolve_model

log = logging.getLogger(__name__)
ANIMATED_EXTENSIONS = (*VIDEO_EXTENSIONS, ".gif")
SUPPORTED = ", ".join(IMAGE_EXTENSIONS + ANIMATED_EXTENSIONS)


def plan_outputs(input: str, output: str | None, style: str) -> list[tuple[Path, Path]]:
    """(source, destination) pairs. A folder keeps its relative layout under the output folder."""
    source = Path(input).expanduser()
    out = Path(output).expanduser() if output else Path("stylized") / style
    names_a_file = out.suffix.lower() in IMAGE_EXTENSIONS + ANIMATED_EXTENSIONS
    if source.is_file():
        if not (is_image_file(source) or source.suffix.lower() in ANIMATED_EXTENSIONS):
            raise FstError(f"input is not an image or video ({SUPPORTED}): {source}")
        return [(source, out if names_a_file else out / source.name)]
    if source.is_dir():
        images = find_images(source)
        if not images:
            raise FstError(f"input folder has no images ({', '.join(IMAGE_EXTENSIONS)}): {source}")
        if names_a_file:
            raise FstError(f"output={out} names a file but input is a folder; give an output folder")
        others = sum(1 for p in source.rglob("*") if p.is_file()) - len(images)
        if others:
            log.info("ignoring %d file(s) in %s that are not images", others, source)
        return [(path, out / path.relative_to(source)) for path in images]
    raise FstError(f"input not found: {source}")


def build_stylizer(cfg: DictConfig) -> tuple[Stylizer, str]:
    """The Stylizer of ``cfg`` and the name of what it paints (the style, or the mix of a multi-style model)."""
    if cfg.batch_size <= 0:
        raise FstError(f"batch_size must be > 0, got {cfg.batch_size}")
    if cfg.size is not None and cfg.size <= 0:
        raise FstError(f"size must be > 0 (the long side in pixels) or null, got {cfg.size}")
    net, card = load_style_model(resolve_model(cfg.ckpt))
    if not hasattr(net, "num_styles"):
        if cfg.style is not None and cfg.style != card.name:
            raise FstError(f"style={cfg.style}: {cfg.ckpt} paints one style, {card.name}; drop style= or pick a multi-style model")
        return Stylizer.from_config(net, cfg), card.name
    weights = style_weights(cfg.style, card.style_names)
    return Stylizer.from_config(net, cfg, style=weights), describe_mix(weights, card.style_names)


def _stylize_images(stylizer: Stylizer, pairs: list[tuple[Path, Path]], cfg: DictConfig) -> tuple[list[Path], list[str]]:
    written, failures = [], []
    with tqdm(total=len(pairs), unit="img", desc="stylize", disable=len(pairs) < 2) as progress:
        for start in range(0, len(pairs), cfg.batch_size):
            chunk = pairs[start : start + cfg.batch_size]
            by_size = defaultdict(list)  # only images of one size can share a batch
            for source, destination in chunk:
                try:
                    image = load_image(source, long_side=cfg.size)
                except ImageLoadError as exc:
                    if len(pairs) == 1:
                        raise
                    failures.append(str(exc))
                    continue
                by_size[image.shape].append((destination, image))
            for group in by_size.values():
                outputs = stylizer(torch.stack([image for _, image in group]))
                for (destination, _), stylized in zip(group, outputs):
                    save_image(stylized, destination)
                    written.append(destination)
            progress.update(len(chunk))
    return written, failures


def stylize(cfg: DictConfig) -> list[Path]:
    """Stylize ``cfg.input`` (an image, a folder, a video or a GIF); return the files written."""
    stylizer, painted = build_stylizer(cfg)
    pairs = plan_outputs(cfg.input, cfg.output, painted)
    for source, destination in pairs:
        if destination.resolve() == source.resolve():
            raise FstError(f"output would overwrite the input {source}; choose another output")
    existing = [d for _, d in pairs if d.exists()]
    if existing and not cfg.overwrite:
        if len(pairs) == 1:
            raise FstError(f"output exists: {existing[0]}; pass overwrite=true or another output")
        log.info("skipping %d images already stylized in the output folder (overwrite=true redoes them)", len(existing))
        pairs = [(s, d) for s, d in pairs if not d.exists()]

    if len(pairs) == 1 and pairs[0][0].suffix.lower() in ANIMATED_EXTENSIONS:
        source, destination = pairs[0]
        animate = stylize_gif if source.suffix.lower() == ".gif" else stylize_video
        count = animate(source, destination, stylizer, batch_size=cfg.batch_size, long_side=cfg.size)
        log.info("%d frames", count)
        return [destination]

    written, failures = _stylize_images(stylizer, pairs, cfg)
    for reason in failures:
        log.warning("skipped: %s", reason)
    if failures:
        log.warning("%d of %d inputs could not be read and were skipped", len(failures), len(pairs))
    return written
