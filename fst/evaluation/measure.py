"""Evaluate style models on a folder of photos: losses, SSIM, PSNR, speed, a gallery and a report.

``ckpts`` names models (files, folders of them, or shipped names). Each model is measured against the loss it
was trained with, read from its card. With ``optimization.enabled=true`` each style also gets a per-image
optimization column (Gatys et al.), so the report compares feed-forward and optimization losses and times
side by side (Johnson et al. 2016, Table 1). ``record=true`` writes the means into each model's card.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

import torch
from omegaconf import DictConfig
from pytorch_lightning.loggers import WandbLogger
from torchvision.transforms.v2 import functional as TF

from fst.config import options_of
from fst.data.datamodule import eval_transform
from fst.data.images import ImageLoadError, open_rgb, require_image_folder, save_image
from fst.data.styles import find_style_image, load_style_image
from fst.errors import FstError
from fst.evaluation.metrics import score
from fst.evaluation.report import METRICS, Column, labelled_gallery, markdown_report, write_results
from fst.hardware import device_name
from fst.inference.device import default_precision, pick_device
from fst.inference.stylizer import Stylizer
from fst.io import atomic_path, check_writable
from fst.losses.perceptual import PerceptualLoss
from fst.models.card import Evaluation, ModelCard, StyleSpec
from fst.models.mixing import chosen_style
from fst.models.serialization import load_style_model, update_card
from fst.models.zoo import resolve_model
from fst.optimization import optimize_image
from fst.options import StylizeOptions
from fst.training.loggers import build_logger

log = logging.getLogger(__name__)


def model_paths(ckpts) -> list[Path]:
    """``ckpts`` as files: a path or shipped name, a list of them, or folders (their ``*.safetensors``)."""
    entries = [ckpts] if isinstance(ckpts, str) else list(ckpts or [])
    paths: list[Path] = []
    for entry in entries:
        folder = Path(str(entry)).expanduser()
        if folder.is_dir():
            found = sorted(folder.glob("*.safetensors"))
            if not found:
                raise FstError(f"ckpts: no .safetensors style models in folder {folder}")
            paths += found
        else:
            paths.append(resolve_model(entry, option="ckpts"))
    if not paths:
        raise FstError("ckpts is empty; pass ckpts=<style>.safetensors, ckpts=[a,b], a folder of them or a shipped name")
    return paths


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


def style_criterion(card: ModelCard, style: StyleSpec, path: Path, cfg: DictConfig, device: torch.device) -> PerceptualLoss:
    """The loss the model was trained with (backbone, layers, weights) for one of its styles, against its painting."""
    if card.loss is None:
        raise FstError(f"{path} does not record the loss it was trained with; evaluate its .safetensors export instead")
    # one source for every backbone (vgg_weights=random), or one per backbone (vgg_weights.vgg19=...)
    weights = cfg.vgg_weights if isinstance(cfg.vgg_weights, str) else cfg.vgg_weights.get(card.loss.backbone)
    if weights is None:
        raise FstError(f"{path} was trained with a {card.loss.backbone} loss; set vgg_weights.{card.loss.backbone}=...")
    criterion = PerceptualLoss(**card.loss.for_style(style), vgg_weights=weights).to(device)
    painting = find_style_image(cfg.style_dir, style.name)
    criterion.set_style(load_style_image(painting, style.size or cfg.style_size).to(device))
    return criterion


def painting_tile(cfg: DictConfig, style: str) -> torch.Tensor:
    """The painting of ``style`` cropped as the eval photos are, for the gallery."""
    return eval_transform(cfg.size)(open_rgb(find_style_image(cfg.style_dir, style)))


def feed_forward_column(net, card: ModelCard, index: int, photos, criterion, cfg, device) -> Column:
    """The model's stylization of every photo in its ``index``-th style, scored."""
    style, several = card.styles[index], card.multi_style or card.arbitrary
    weights = chosen_style(card, style.name, net=net)[0] if several else None
    stylizer = Stylizer(net, options_of(cfg, StylizeOptions), style=weights)
    stylizer(photos[0].unsqueeze(0))  # warm-up: first-call costs are not the model's speed
    column = Column(f"{card.name}: {style.name}" if several else card.name, "fst", card.training.steps, style, card,
                    painting=painting_tile(cfg, style.name))
    for photo in photos:
        batch = photo.unsqueeze(0)
        started = time.perf_counter()
        stylized = stylizer(batch)  # returns on the CPU: the time includes the copy back
        seconds = time.perf_counter() - started
        column.images.append(stylized[0])
        column.rows.append(score(criterion, stylized.to(device), batch.to(device)) | {"seconds": seconds})
    return column


def optimization_column(style: StyleSpec, photos, criterion, cfg, device) -> Column:
    opt = cfg.optimization
    column = Column(f"{style.name} ({opt.optimizer})", "optimization", opt.steps, style, painting=painting_tile(cfg, style.name))
    for photo in photos:
        batch = photo.unsqueeze(0).to(device)
        result = optimize_image(
            batch, criterion, optimizer=opt.optimizer, steps=opt.steps, lr=opt.lr, init=opt.init, seed=opt.seed,
            progress=cfg.progress,
        )
        column.images.append(result.image[0].cpu())
        column.rows.append(score(criterion, result.image, batch) | {"seconds": result.seconds})
    return column


def evaluate_model(path: Path, photos, cfg, device) -> list[Column]:
    """A column per style the model paints (and per optimization baseline)."""
    net, card = load_style_model(path)
    columns = []
    for index, style in enumerate(card.styles):
        criterion = style_criterion(card, style, path, cfg, device)
        columns.append(feed_forward_column(net, card, index, photos, criterion, cfg, device))
        if cfg.optimization.enabled:
            columns.append(optimization_column(style, photos, criterion, cfg, device))
    return columns


def label_files_of_one_name(columns_by_model: dict[Path, list[Column]]) -> None:
    """Models of one name from different files (a retrained candy beside the shipped one) get their files in their
    labels, so that the report, the gallery and the saved images tell them apart."""
    names = Counter(next(c.card.name for c in columns if c.card) for columns in columns_by_model.values())
    for path, columns in columns_by_model.items():
        for column in columns:
            if column.card is not None and names[column.card.name] > 1:
                column.name = f"{column.name} ({path})"


def record_evaluation(path: Path, columns: list[Column], photos: int, cfg: DictConfig, where: str) -> None:
    """Write a model's means, per style, into its card (its tensors stay as they are)."""
    evaluation = {
        column.style.name: Evaluation(photos=photos, size=cfg.size, device=where, **{m: column.mean(m) for m in METRICS})
        for column in columns if column.method == "fst"
    }
    update_card(path, columns[0].card.replace(evaluation=evaluation))


def log_results(cfg: DictConfig, columns: list[Column], photo_paths: list[Path]) -> None:
    """A W&B table (one row per model and photo, with images); other loggers get the per-model means."""
    logger = build_logger(cfg.get("logger"))  # logger=none leaves the group empty
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
    """Evaluate as ``conf/evaluate.yaml`` says; return the path of the markdown report."""
    paths = model_paths(cfg.ckpts)
    if cfg.record and any(p.suffix != ".safetensors" for p in paths):
        raise FstError("record=true writes into .safetensors models only; export training checkpoints first")
    output = Path(cfg.output).expanduser()
    if (output / "report.md").exists() and not cfg.overwrite:
        raise FstError(f"{output}/report.md exists; pass overwrite=true or another output=")
    check_writable(output / "report.md", "output")
    photo_paths, photos = load_photos(cfg)
    device = pick_device(cfg.device)
    columns_by_model = {path: evaluate_model(path, photos, cfg, device) for path in paths}
    label_files_of_one_name(columns_by_model)
    columns = [column for model_columns in columns_by_model.values() for column in model_columns]
    where = f"{device_name(device)}, {default_precision(device) if cfg.precision == 'auto' else cfg.precision}"
    output.mkdir(parents=True, exist_ok=True)
    with atomic_path(output / "gallery.jpg") as tmp:
        labelled_gallery(photos, columns).save(tmp, format="JPEG", quality=92)
    write_results(columns, photo_paths, output / "results.csv")
    setting = (
        f"{len(photo_paths)} photos from `{cfg.eval_dir}` at {cfg.size}x{cfg.size} px (short side resized, centre crop); "
        f"stylized on {where}; losses are each model's training definitions (weighted, fp32); SSIM and PSNR are "
        "to the photo; time is per image, after a warm-up."
    )
    report = output / "report.md"
    with atomic_path(report) as tmp:
        Path(tmp).write_text(markdown_report(columns, setting))
    if cfg.record:
        for path, model_columns in columns_by_model.items():
            record_evaluation(path, model_columns, len(photos), cfg, where)
    if cfg.save_images:
        for c in columns:
            for photo, image in zip(photo_paths, c.images):
                save_image(image, output / "images" / c.name.replace(" ", "_") / f"{photo.stem}.jpg")
    log_results(cfg, columns, photo_paths)
    log.info("fst: evaluation report %s (gallery.jpg, results.csv beside it)\n%s", report, report.read_text())
    return report
