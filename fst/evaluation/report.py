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
    painting: torch.Tensor | None = None  # the painting it is scored against, cropped as the photos are
    images: list[torch.Tensor] = field(default_factory=list)
    rows: list[dict[str, float]] = field(default_factory=list)

    def mean(self, metric: str) -> float:
        return sum(row[metric] for row in self.rows) / len(self.rows)


def labelled_gallery(photos: list[torch.Tensor], columns: list[Column], padding: int = 4) -> Image.Image:
    """Rows: eval photos; columns: the photo, then each model; a header row names the columns and, where the
    columns know their paintings, a row of them comes first."""
    rows = [[photo, *(c.images[index] for c in columns)] for index, photo in enumerate(photos)]
    if any(c.painting is not None for c in columns):
        blank = torch.ones_like(photos[0])
        rows.insert(0, [blank, *(blank if c.painting is None else c.painting for c in columns)])
    return labelled_grid(rows, ["photo", *(c.name for c in columns)], padding=padding)


def labelled_grid(rows: list[list[torch.Tensor]], column_names: list[str], row_names: list[str] | None = None,
                  padding: int = 4) -> Image.Image:
    """Same-size (3, H, W) images in rows, a header row naming the columns and, with ``row_names``, a margin
    on the left naming the rows."""
    tiles = [image for row in rows for image in row]
    grid = TF.to_pil_image(make_grid(torch.stack(tiles).clamp(0, 1), nrow=len(rows[0]), padding=padding, pad_value=1.0))
    cell = tiles[0].shape[-1] + padding
    font = ImageFont.load_default(size=max(10, cell // 14))
    margin = 0
    if row_names:
        margin = int(max(font.getlength(name) for name in row_names)) + 2 * padding
    header = max(16, cell // 8)
    canvas = Image.new("RGB", (margin + grid.width, header + grid.height), "white")
    canvas.paste(grid, (margin, header))
    draw = ImageDraw.Draw(canvas)
    for index, name in enumerate(column_names):
        draw.text((margin + index * cell + padding + cell // 2, header // 2), name, fill="black", font=font, anchor="mm")
    row_height = tiles[0].shape[-2] + padding
    for index, name in enumerate(row_names or []):
        draw.text((margin - padding, header + index * row_height + padding + row_height // 2), name, fill="black",
                  font=font, anchor="rm")
    return canvas


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
    lines += comparison_table(columns)
    lines += training_table([c for c in columns if c.card])
    lines += ["", "![gallery](gallery.jpg)", ""]
    return "\n".join(lines)


def comparison_table(columns: list[Column]) -> list[str]:
    """Styles that several models paint (a multi-style model and the one-style model of the same painting),
    side by side: each model's losses relative to the style's one-style model (else to the first listed).

    Losses are on the reference's scale: the content and style terms are linear in their weights, so a model
    trained with other weights for that style is rescaled to the reference's and marked. Models whose loss
    differs in anything else (layers, backbone, painting size) are left out and named.
    """
    by_style: dict[str, list[Column]] = {}
    for c in columns:
        if c.method == "fst" and c.card is not None and c.card.loss is not None:
            by_style.setdefault(c.style.name, []).append(c)
    groups = {name: group for name, group in by_style.items() if len(group) > 1}
    if not groups:
        return []
    lines = [
        "",
        "Styles that several models paint, against the style's one-style model (+15 % means 15 % higher):",
        "",
        "| style | model | content loss | style loss | content vs reference | style vs reference |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    skipped, rescaled = [], []
    for name, group in groups.items():
        reference = next((c for c in group if len(c.card.styles) == 1), group[0])
        definition = loss_definition(reference)
        for c in group:
            if loss_definition(c) != definition:
                skipped.append(c.name)
                continue
            losses, other_weights = on_reference_scale(c, reference)
            if other_weights:
                rescaled.append(c.name)
            relative = ("reference", "reference") if c is reference else tuple(
                f"{100 * (losses[m] / reference.mean(m) - 1):+.1f} %" for m in ("content", "style")
            )
            lines.append(f"| {name} | {c.name} | {losses['content']:.3f} | {losses['style']:.3f} | {relative[0]} | {relative[1]} |")
    if rescaled:
        lines += ["", f"Trained with other loss weights for that style, scored here with the reference's: {', '.join(rescaled)}."]
    if skipped:
        lines += ["", f"Not compared (trained with another loss definition for that style): {', '.join(skipped)}."]
    return lines


SCALED_TERMS = {"content": "content_weight", "style": "style_weight"}  # metric: the loss option it is linear in
UNSCORED_TERMS = ("tv_weight", "temporal_weight", "temporal_feature_weight", "temporal_luminance", "temporal_both_frames")


def loss_definition(column: Column) -> tuple[dict, int | None]:
    """What a style's loss values depend on, beyond the (non-zero) weights of the terms: the loss options and the
    painting's size. The terms the report does not score (total variation, video stability) do not count: a model
    trained for video is compared with today's on photos."""
    options = {k: v for k, v in column.card.loss.for_style(column.style).items() if k not in UNSCORED_TERMS}
    return {k: v == 0 if k in SCALED_TERMS.values() else v for k, v in options.items()}, column.style.size


def on_reference_scale(column: Column, reference: Column) -> tuple[dict[str, float], bool]:
    """The column's mean content and style losses as the reference's loss weights would score them, and whether
    its own weights differ."""
    own, theirs = column.card.loss.for_style(column.style), reference.card.loss.for_style(reference.style)
    ratios = {metric: theirs[weight] / own[weight] if own[weight] else 1.0 for metric, weight in SCALED_TERMS.items()}
    return {metric: column.mean(metric) * ratio for metric, ratio in ratios.items()}, any(r != 1 for r in ratios.values())


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
