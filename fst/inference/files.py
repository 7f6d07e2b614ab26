"""Stylize what ``input=`` names (an image, a folder, a video or a GIF) into files: the work of ``fst-stylize`` and
``fst.Model.stylize_file``."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import torch
from tqdm import tqdm

from fst.data.images import IMAGE_EXTENSIONS, ImageLoadError, find_images, load_image, save_image
from fst.errors import FstError
from fst.inference.stylizer import Stylizer
from fst.inference.temporal import TemporalBlend
from fst.inference.video import VIDEO_EXTENSIONS, stylize_gif, stylize_video
from fst.io import atomic_path, check_writable
from fst.models.card import ModelCard
from fst.models.mixing import chosen_style, style_label
from fst.models.serialization import load_style_model, read_card
from fst.models.zoo import resolve_model
from fst.options import StylizeOptions
from fst.resources import CHECKPOINTS_DIR

log = logging.getLogger(__name__)
SUPPORTED = ", ".join((*IMAGE_EXTENSIONS, *VIDEO_EXTENSIONS, ".gif"))


def kind(path: Path) -> str:
    """What a file is for stylize: an image, a video or a GIF (by its extension), or something else."""
    suffix = path.suffix.lower()
    return "GIF" if suffix == ".gif" else "video" if suffix in VIDEO_EXTENSIONS else "image" if suffix in IMAGE_EXTENSIONS else ""


def plan_outputs(input: str, out: Path, given: bool) -> list[tuple[Path, Path]]:
    """(source, destination) pairs for an input and the output (``given`` by ``output=``, or the default folder).
    A folder keeps its layout under the output folder."""
    source = Path(input).expanduser()
    names_a_file = given and bool(out.suffix) and not out.is_dir()
    if names_a_file and not kind(out):
        raise FstError(f"output={out}: fst does not write {out.suffix} files; name a file of {SUPPORTED}, or a folder")
    if source.is_file():
        if not kind(source):
            raise FstError(f"input is not an image or video ({SUPPORTED}): {source}")
        if names_a_file and kind(out) != kind(source):
            raise FstError(f"output={out} names {kind(out).lower()} file but input is {kind(source).lower()}; match the type")
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


def build_stylizer(model: str | Path, style, options: StylizeOptions) -> tuple[Stylizer, str]:
    """The Stylizer of a model (a shipped name or a file) painting ``style`` (for a multi-style model: a name or a
    mix), and the name of what it paints."""
    net, card = load_style_model(resolve_model(model))
    weights, painted = chosen_style(card, style, net=net)
    return Stylizer(net, options, style=weights), painted


def _stylize_images(stylizer: Stylizer, pairs: list[tuple[Path, Path]], size: int | None, batch_size: int) -> tuple[list[Path], list[str]]:
    written, failures = [], []
    with tqdm(total=len(pairs), unit="img", desc="stylize", disable=len(pairs) < 2) as progress:
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start : start + batch_size]
            by_size = defaultdict(list)  # only images of one size can share a batch
            for source, destination in chunk:
                try:
                    image = load_image(source, long_side=size)
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


# The options that decide what a folder's outputs look like: a rerun with others stylizes them again.
RECORDED_OPTIONS = ("strength", "preserve_color", "precision", "tile_size", "tile_overlap", "stats_size")
RECORD = ".fst-stylize.json"


def _folder_options(model: Path, card: ModelCard, style, size: int | None, options: StylizeOptions) -> dict:
    style = dict(style) if isinstance(style, Mapping) else style  # JSON-safe
    recorded = {name: getattr(options, name) for name in RECORDED_OPTIONS}
    return {"model": str(model.resolve()), "steps": card.training.steps, "style": style, "size": size, **recorded}


def _stale_outputs(pairs: list[tuple[Path, Path]], record: Path, options: dict) -> list[tuple[Path, Path]]:
    """The pairs to stylize in an output folder that already holds outputs: all whose outputs were made with
    other options (recorded beside them), or only the missing ones."""
    existing = [d for _, d in pairs if d.exists()]
    if not existing:
        return pairs
    previous = json.loads(record.read_text()) if record.is_file() else None
    if previous == options:
        log.info("kept %d images already stylized with these options (overwrite=true redoes them)", len(existing))
        return [(s, d) for s, d in pairs if not d.exists()]
    if previous is None:
        log.info("kept %d images already in the folder, made with options fst did not record (overwrite=true redoes them)",
                 len(existing))
        return [(s, d) for s, d in pairs if not d.exists()]
    changed = ", ".join(f"{k} {previous.get(k)} -> {v}" for k, v in options.items() if previous.get(k) != v)
    log.info("options changed since the last run into this folder (%s): stylizing its %d images again", changed, len(existing))
    return pairs


def stylize(
    model: str | Path,
    input: str | Path,
    output: str | Path | None = None,
    style=None,
    size: int | None = None,
    batch_size: int = 4,
    overwrite: bool = False,
    blend: TemporalBlend | None = None,
    options: StylizeOptions | None = None,
) -> list[Path]:
    """Stylize ``input`` (an image, a folder, a video or a GIF) with ``model`` (a shipped name or a file); return
    the files written. The arguments are fst-stylize's options of the same names (``blend``: its ``temporal``).

    Everything that can be checked is checked before the model loads: the style, the input, where the outputs
    go and that they can be written there.
    """
    options = options if options is not None else StylizeOptions()
    options.check()
    if size is not None and size <= 0:
        raise FstError(f"size must be > 0, got {size}")
    if batch_size <= 0:
        raise FstError(f"batch_size must be > 0, got {batch_size}")
    path = resolve_model(model)
    card = read_card(path)
    painted = style_label(card, style)
    # A shipped model in a folder of its own (adapted/the_scream) keeps it: its outputs stay apart from the_scream's.
    shipped = path.resolve().is_relative_to(CHECKPOINTS_DIR)
    shelf = path.resolve().parent.relative_to(CHECKPOINTS_DIR) if shipped else Path()
    out = Path(output).expanduser() if output else Path("stylized") / shelf / painted
    pairs = plan_outputs(str(input), out, given=output is not None)
    for source, destination in pairs:
        if destination.resolve() == source.resolve():
            raise FstError(f"output would overwrite the input {source}; choose another output")
    folder = Path(input).expanduser().is_dir()
    recorded = _folder_options(path, card, style, size, options)
    if not overwrite:
        if not folder and pairs[0][1].exists():
            raise FstError(f"output exists: {pairs[0][1]}; pass overwrite=true or another output")
        pairs = _stale_outputs(pairs, out / RECORD, recorded) if folder else pairs
    for _, destination in pairs[:1]:
        check_writable(destination, "output")
    stylizer, _ = build_stylizer(path, style, options)

    if len(pairs) == 1 and kind(pairs[0][0]) in ("video", "GIF"):
        source, destination = pairs[0]
        animate = stylize_gif if kind(source) == "GIF" else stylize_video
        count = animate(source, destination, stylizer, batch_size=batch_size, long_side=size, blend=blend)
        log.info("%d frames", count)
        return [destination]
    if blend is not None:
        log.info("temporal=flow applies to videos and GIFs; images are stylized on their own")

    written, failures = _stylize_images(stylizer, pairs, size, batch_size)
    if folder:
        with atomic_path(out / RECORD) as tmp:
            Path(tmp).write_text(json.dumps(recorded, sort_keys=True))
    for reason in failures:
        log.warning("skipped: %s", reason)
    if failures:
        log.warning("%d of %d inputs could not be read and were skipped", len(failures), len(pairs))
    return written
