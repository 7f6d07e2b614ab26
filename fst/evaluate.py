"""Evaluate per-style checkpoints on a folder of photos: losses, SSIM, speed, a gallery and a report.

``python scripts/evaluate.py ckpts=[a.safetensors,b.safetensors]`` (or ``ckpts=checkpoints/``). With
``optimization.enabled=true`` each style also gets a per-image optimization column (Gatys et al.), so the
report compares feed-forward and optimization losses and times side by side (Johnson et al. 2016, Table 1).
"""

from __future__ import annotations

import csv
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from PIL import Image, ImageDraw, ImageFont
from pytorch_lightning.loggers import WandbLogger
from torchmetrics.functional.image import structural_similarity_index_measure as ssim
from torchvision.transforms.v2 import functional as TF
from torchvision.utils import make_grid

from fst.checkpoint import load_style_model
from fst.config import command
from fst.data.datamodule import eval_transform
from fst.data.images import ImageLoadError, find_images, open_rgb, require_image_folder, save_image
from fst.errors import FstError
from fst.inference import Stylizer, default_precision, pick_device
from fst.io import atomic_path
from fst.loggers import build_logger
from fst.losses.perceptual import PerceptualLoss
from fst.optimize import optimize_image
from fst.train import load_style_image

log = logging.getLogger(__name__)
METRICS = ("content", "style", "ssim", "seconds")


@dataclass
class Column:
    """One gallery column: a style model (or the optimization baseline) applied to every eval photo."""

    name: str
    method: str
    steps: int
    meta: dict = field(default_factory=dict)  # a model's checkpoint metadata (how it was trained)
    images: list[torch.Tensor] = field(default_factory=list)
    rows: list[dict[str, float]] = field(default_factory=list)

    def mean(self, metric: str) -> float:
        return sum(row[metric] for row in self.rows) / len(self.rows)


def checkpoint_paths(ckpts) -> list[Path]:
    """``ckpts`` as files: a path, a list of paths, or folders (their ``*.safetensors``)."""
    entries = [ckpts] if isinstance(ckpts, str) else list(ckpts or [])
    paths: list[Path] = []
    for entry in (Path(str(e)).expanduser() for e in entries):
        if entry.is_dir():
            found = sorted(entry.glob("*.safetensors"))
            if not found:
                raise FstError(f"ckpts: no .safetensors style models in folder {entry}")
            paths += found
        elif entry.is_file():
            paths.append(entry)
        else:
            raise FstError(f"ckpts: no such file or folder: {entry}; pass ckpts=<style>.safetensors or a folder")
    if not paths:
        raise FstError("ckpts is empty; pass ckpts=<style>.safetensors, ckpts=[a,b] or a folder of them")
    return paths


def find_style_image(style_dir: Path, style: str) -> Path:
    matches = [p for p in find_images(style_dir) if p.stem == style] if style_dir.is_dir() else []
    if not matches:
        raise FstError(f"no style image '{style}.*' in style_dir={style_dir}; set style_dir to the folder of paintings")
    return matches[0]


def load_photos(cfg: DictConfig) -> tuple[list[Path], list[torch.Tensor]]:
    """The eval photos, resized (short side) and center-cropped to ``size`` as in validation."""
    paths = require_image_folder(cfg.eval_dir, "eval_dir")[: cfg.max_images]
    transform = eval_transform(cfg.size)
    photos, kept = [], []
    for path in paths:
        try:
            photos.append(transform(open_rgb(path)))
            kept.append(path)
        except ImageLoadError as exc:
            log.warning("skipping %s", exc)
    if not photos:
        raise FstError(f"eval_dir {cfg.eval_dir}: none of its images could be read")
    return kept, photos


@torch.no_grad()
def score(criterion: PerceptualLoss, stylized: torch.Tensor, photo: torch.Tensor) -> dict[str, float]:
    """Training-definition losses (weighted, fp32) and SSIM of one stylized (1, 3, H, W) image to its photo."""
    losses = criterion(stylized.float(), photo)
    return {
        "content": losses["content"].item(),
        "style": losses["style"].item(),
        "ssim": ssim(stylized.float().clamp(0, 1), photo, data_range=1.0).item(),
    }


def feed_forward_column(net, meta: dict, photos, criterion, cfg, device) -> Column:
    stylizer = Stylizer(net, device=device, precision=cfg.precision)
    stylizer(photos[0].unsqueeze(0))  # warm-up: first-call costs are not the model's speed
    column = Column(meta["style"], "fst", meta.get("steps", 0), meta)
    for photo in photos:
        batch = photo.unsqueeze(0)
        started = time.perf_counter()
        stylized = stylizer(batch)  # returns on the CPU: the time includes the copy back
        seconds = time.perf_counter() - started
        column.images.append(stylized[0])
        column.rows.append(score(criterion, stylized.to(device), batch.to(device)) | {"seconds": seconds})
    return column


def optimization_column(style: str, photos, criterion, cfg, device) -> Column:
    opt = cfg.optimization
    column = Column(f"{style} ({opt.optimizer})", "optimization", opt.steps)
    for photo in photos:
        batch = photo.unsqueeze(0).to(device)
        result = optimize_image(batch, criterion, opt.optimizer, opt.steps, opt.lr, opt.init, progress=cfg.progress)
        column.images.append(result.image[0].cpu())
        column.rows.append(score(criterion, result.image, batch) | {"seconds": result.seconds})
    return column


def evaluate_checkpoint(path: Path, photos, cfg, device) -> list[Column]:
    net, meta = load_style_model(path)
    # The loss this model was trained with (layers and weights), against its own painting.
    criterion = PerceptualLoss(**meta.get("loss", {}), vgg_weights=cfg.vgg_weights).to(device)
    style = OmegaConf.create(
        {"image": str(find_style_image(Path(cfg.style_dir), meta["style"])), "size": meta.get("style_size") or cfg.style_size}
    )
    criterion.set_style(load_style_image(style).to(device))
    columns = [feed_forward_column(net, meta, photos, criterion, cfg, device)]
    if cfg.optimization.enabled:
        columns.append(optimization_column(meta["style"], photos, criterion, cfg, device))
    return columns


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


def markdown_report(columns: list[Column], photo_paths: list[Path], cfg, device: torch.device) -> str:
    precision = default_precision(device) if cfg.precision == "auto" else cfg.precision
    lines = [
        "# fst evaluation",
        "",
        f"{len(photo_paths)} photos from `{cfg.eval_dir}` at {cfg.size}x{cfg.size} px (short side resized, centre crop); "
        f"{device.type}, fst in {precision}; losses are the training definitions (weighted, fp32); "
        "SSIM is to the photo; time is per image, after a warm-up.",
        "",
        "| model | method | steps | content loss | style loss | SSIM | time / image (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in columns:
        lines.append(
            f"| {c.name} | {c.method} | {c.steps} | {c.mean('content'):.3f} | {c.mean('style'):.3f} | "
            f"{c.mean('ssim'):.3f} | {c.mean('seconds'):.3f} |"
        )
    lines += training_table([c for c in columns if c.meta])
    lines += ["", "![gallery](gallery.jpg)", ""]
    return "\n".join(lines)


def training_table(columns: list[Column]) -> list[str]:
    """How each model was trained, from its checkpoint metadata ("?" where a model does not record it)."""
    if not columns:
        return []
    lines = [
        "",
        "How the models were trained (from their checkpoints; weights are content / style / total variation):",
        "",
        "| model | steps | image size | batch | images seen | weights | style image | training time | hardware |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in columns:
        meta, loss = c.meta, c.meta.get("loss", {})
        seen = meta["steps"] * meta["batch_size"] if "batch_size" in meta else "?"
        weights = " / ".join(f"{loss[k]:g}" if k in loss else "?" for k in ("content_weight", "style_weight", "tv_weight"))
        hours = f"{meta['train_seconds'] / 3600:.1f} h" if "train_seconds" in meta else "?"
        lines.append(
            f"| {c.name} | {meta.get('steps', '?')} | {meta.get('image_size', '?')} | {meta.get('batch_size', '?')} | {seen} | "
            f"{weights} | {meta.get('style_size', '?')} px | {hours} | {meta.get('hardware', '?')} |"
        )
    layers = {loss_layers(c.meta.get("loss", {})) for c in columns}
    lines += ["", f"Loss layers: {'; '.join(sorted(layers))}."]
    return lines


def loss_layers(loss: dict) -> str:
    styles = ", ".join(f"{name} x{weight:g}" for name, weight in loss.get("style_layers", {}).items())
    return f"content {loss.get('content_layer', '?')}, style {styles or '?'}"


def write_results(columns: list[Column], photo_paths: list[Path], path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "method", "photo", *METRICS])
        for c in columns:
            for photo, row in zip(photo_paths, c.rows):
                writer.writerow([c.name, c.method, photo.name, *(f"{row[m]:.6g}" for m in METRICS)])


def log_results(cfg: DictConfig, columns: list[Column], photo_paths: list[Path]) -> None:
    """A W&B table (one row per model and photo, with images); other loggers get the per-model means."""
    logger = build_logger(cfg.get("logger"))
    if not logger:
        return
    if isinstance(logger, WandbLogger):
        import wandb

        data = [
            [c.name, c.method, photo.name, wandb.Image(TF.to_pil_image(image)), *(row[m] for m in METRICS)]
            for c in columns
            for photo, image, row in zip(photo_paths, c.images, c.rows)
        ]
        logger.log_table(key="eval/results", columns=["model", "method", "photo", "image", *METRICS], data=data)
        logger.experiment.finish()
    else:
        for c in columns:
            logger.log_metrics({f"{c.name}/{m}": c.mean(m) for m in METRICS})
        logger.save()


def evaluate(cfg: DictConfig) -> Path:
    """Run ``scripts/evaluate.py``; return the path of the markdown report."""
    paths = checkpoint_paths(cfg.ckpts)
    output = Path(cfg.output).expanduser()
    if (output / "report.md").exists() and not cfg.overwrite:
        raise FstError(f"{output}/report.md exists; pass overwrite=true or another output=")
    photo_paths, photos = load_photos(cfg)
    device = pick_device(cfg.device)
    columns = [column for path in paths for column in evaluate_checkpoint(path, photos, cfg, device)]
    output.mkdir(parents=True, exist_ok=True)
    with atomic_path(output / "gallery.jpg") as tmp:
        labelled_gallery(photos, columns).save(tmp, format="JPEG", quality=92)
    write_results(columns, photo_paths, output / "results.csv")
    report = output / "report.md"
    with atomic_path(report) as tmp:
        Path(tmp).write_text(markdown_report(columns, photo_paths, cfg, device))
    if cfg.save_images:
        for c in columns:
            for photo, image in zip(photo_paths, c.images):
                save_image(image, output / "images" / c.name.replace(" ", "_") / f"{photo.stem}.jpg")
    log_results(cfg, columns, photo_paths)
    log.info("fst: evaluation report %s (gallery.jpg, results.csv beside it)\n%s", report, report.read_text())
    return report


@command("evaluate")
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
