"""What an evaluation writes: a labelled gallery, a markdown report and a CSV of every model and photo."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont
from torchvision.transforms.v2 import functional as TF
from torchvision.utils import make_grid

from fst.io import atomic_path
from fst.models.card import ModelCard, StyleSpec

METRICS = ("content", "style", "ssim", "psnr", "seconds")


@dataclass
class Column:
    """One gallery column: a style model (or the optimization baseline) applied to every eval photo."""

    name: str
    method: str
    steps: int
    style: StyleSpec
    card: ModelCard | None = None  # a model's card (how it was trained)
    images: list[torch.Tensor] = field(default_factory=list)
    rows: list[dict[str, float]] = field(default_factory=list)

    def mean(self, metric: str) -> float:
        return sum(row[metric] for row in self.rows) / len(self.rows)


def labelled_gallery(photos: list[torch.Tensor], columns: list[Column], padding: int = 4) -> Image.Image:
    """Rows: eval photos; columns: the photo, then each model; a header row names the columns."""
    tiles = [image for row in range(len(photos)) for image in [photos[row], *(c.images[row] for c in columns)]]
    grid = TF.to_pil_image(make_grid(torch.stack(tiles).clamp(0, 1), nrow=1 + len(columns), padding=padding, pad_value=1.0))
    cell = photos[0].shape[-1] + padding
    font = ImageFont.load_default(size=max(10, cell // 14))
    header = Image.new("RGB", (grid.width, max(16, cell // 8)), "white")
    draw = ImageDraw.Draw(header)
    for index, name in enumerate(["photo", *(c.name for c in columns)]):
        draw.text((index * cell + padding + cell // 2, header.height // 2), name, fill="black", font=font, anchor="mm")
    gallery = Image.new("RGB", (grid.width, header.height + grid.height), "white")
    gallery.paste(header, (0, 0))
    gallery.paste(grid, (0, header.height))
    return gallery


def markdown_report(columns: list[Column], setting: str) -> str:
    """The means of every column, then how each model was trained; ``setting`` says how it was measured."""
    lines = [
        "# fst evaluation",
        "",
        setting,
        "",
        "| model | method | steps | content loss | style loss | SSIM | PSNR (dB) | time / image (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in columns:
        lines.append(
            f"| {c.name} | {c.method} | {c.steps} | {c.mean('content'):.3f} | {c.mean('style'):.3f} | "
            f"{c.mean('ssim'):.3f} | {c.mean('psnr'):.2f} | {c.mean('seconds'):.3f} |"
        )
    lines += training_table([c for c in columns if c.card])
    lines += ["", "![gallery](gallery.jpg)", ""]
    return "\n".join(lines)


def training_table(columns: list[Column]) -> list[str]:
    """How each model was trained, from its card ("?" where a model does not record it)."""
    if not columns:
        return []
    lines = [
        "",
        "How the models were trained (from their cards; weights are content / style / total variation):",
        "",
        "| model | steps | image size | batch | images seen | weights | style image | training time | hardware |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in columns:
        t, loss, style = c.card.training, c.card.loss, c.style
        weights = "?"
        if loss:
            weights = f"{loss.content_weight:g} / {loss.weight_for(style):g} / {loss.tv_weight:g}"
        hours = f"{t.seconds / 3600:.1f} h" if t.seconds is not None else "?"
        lines.append(
            f"| {c.name} | {t.steps} | {t.image_size or '?'} | {t.batch_size or '?'} | {t.images_seen or '?'} | "
            f"{weights} | {style.size or '?'} px | {hours} | {t.hardware or '?'} |"
        )
    layers = {c.card.loss.layers_text() if c.card.loss else "?" for c in columns}
    lines += ["", f"Loss layers: {'; '.join(sorted(layers))}."]
    return lines


def write_results(columns: list[Column], photo_paths: list[Path], path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "method", "photo", *METRICS])
        for c in columns:
            for photo, row in zip(photo_paths, c.rows):
                writer.writerow([c.name, c.method, photo.name, *(f"{row[m]:.6g}" for m in METRICS)])
