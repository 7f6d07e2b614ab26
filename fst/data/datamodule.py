"""Content photos for training (random crops) and evaluation (fixed center crops)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from fst.data.images import ImageLoadError, open_rgb, require_image_folder
from fst.errors import FstError


def _first_readable(paths: list[Path], index: int, transform: Callable, skipped: list[str]) -> torch.Tensor:
    """``paths[index]`` transformed, or the next readable one; each unreadable file's reason goes to ``skipped``."""
    for offset in range(len(paths)):
        try:
            return transform(open_rgb(paths[(index + offset) % len(paths)]))
        except ImageLoadError as exc:
            skipped.append(str(exc))
    raise FstError(f"none of the {len(paths)} images could be read (first: {skipped[0]})")


class ContentImages(Dataset):
    """Images from a folder; an unreadable file is replaced by the next readable one.

    Each sample is ``{"image": (3, S, S) tensor, "skipped": ["<why a file was skipped>", ...]}``, so the
    training loop can count and report bad files without a long run ever stopping on one. With ``paintings``, each
    sample also holds a random one of them (``"painting"``), for a network that learns to paint any painting.
    """

    def __init__(self, paths: list[Path], transform: Callable, paintings: list[Path] | None = None,
                 painting_transform: Callable | None = None):
        self.paths = paths
        self.transform = transform
        self.paintings, self.painting_transform = paintings, painting_transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        skipped = []
        sample = {"image": _first_readable(self.paths, index, self.transform, skipped), "skipped": skipped}
        if self.paintings:
            drawn = int(torch.randint(len(self.paintings), ()))  # seeded per worker by Lightning
            sample["painting"] = _first_readable(self.paintings, drawn, self.painting_transform, skipped)
        return sample


def collate(samples: list[dict]) -> dict:
    batch = {
        "image": torch.stack([s["image"] for s in samples]),
        "skipped": [reason for s in samples for reason in s["skipped"]],
    }
    if "painting" in samples[0]:
        batch["painting"] = torch.stack([s["painting"] for s in samples])
    return batch


def train_transform(image_size: int, hflip: bool, color_jitter: float) -> v2.Compose:
    steps = [v2.Resize(image_size, antialias=True), v2.RandomCrop(image_size)]
    if hflip:
        steps.append(v2.RandomHorizontalFlip())
    if color_jitter > 0:
        steps.append(v2.ColorJitter(brightness=color_jitter, contrast=color_jitter, saturation=color_jitter))
    return v2.Compose([*steps, v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True)])


def painting_transform(painting_size: int, crop: int) -> v2.Compose:
    """A painting at its style-loss scale (long side ``painting_size``), a random square of it: its texture at the
    scale it is painted with, whatever its shape."""
    return v2.Compose([v2.Resize(painting_size - 1, max_size=painting_size, antialias=True),
                       v2.RandomCrop(crop, pad_if_needed=True, padding_mode="reflect"), v2.RandomHorizontalFlip(),
                       v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True)])


def eval_transform(image_size: int) -> v2.Compose:
    return v2.Compose(
        [v2.Resize(image_size, antialias=True), v2.CenterCrop(image_size), v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True)]
    )


class ContentDataModule(pl.LightningDataModule):
    """A COCO-style folder of photos (any nesting, no class folders) plus an optional eval folder.

    Its options, and what each does, are ``conf/data/default.yaml``.
    """

    def __init__(
        self,
        train_dir: str,
        eval_dir: str | None,
        image_size: int,
        batch_size: int,
        num_workers: int,
        pin_memory: bool,
        persistent_workers: bool,
        hflip: bool,
        color_jitter: float,
        eval_batch_size: int,
        eval_max_images: int | None,
        painting_dir: str | None,
        painting_size: int,
    ):
        super().__init__()
        for name, value in {"image_size": image_size, "batch_size": batch_size, "eval_batch_size": eval_batch_size}.items():
            if value <= 0:
                raise FstError(f"data.{name} must be > 0, got {value}")
        if num_workers < 0:
            raise FstError(f"data.num_workers must be >= 0, got {num_workers}")
        if color_jitter < 0:
            raise FstError(f"data.color_jitter must be >= 0, got {color_jitter}")
        if eval_max_images is not None and eval_max_images <= 0:
            raise FstError(f"data.eval_max_images must be > 0, got {eval_max_images}")
        # Listing the folders here makes a wrong path fail before any model is built.
        self.train_paths = require_image_folder(train_dir, "data.train_dir")
        if len(self.train_paths) < batch_size:
            raise FstError(f"data.train_dir has {len(self.train_paths)} images, fewer than data.batch_size={batch_size}")
        self.eval_paths = require_image_folder(eval_dir, "data.eval_dir")[:eval_max_images] if eval_dir else []
        if painting_size < image_size:
            raise FstError(f"data.painting_size ({painting_size}) must be >= data.image_size ({image_size}): paintings are cropped to it")
        self.painting_paths = require_image_folder(painting_dir, "data.painting_dir") if painting_dir else None
        self.painting_size = painting_size
        self.image_size = image_size
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.loader_options = dict(
            num_workers=num_workers,
            pin_memory=pin_memory and torch.cuda.is_available(),
            persistent_workers=persistent_workers and num_workers > 0,
            collate_fn=collate,
        )
        self.hflip, self.color_jitter = hflip, color_jitter

    def train_dataloader(self) -> DataLoader:
        dataset = ContentImages(self.train_paths, train_transform(self.image_size, self.hflip, self.color_jitter),
                                self.painting_paths, painting_transform(self.painting_size, self.image_size))
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=True, drop_last=True, **self.loader_options)

    def val_dataloader(self) -> DataLoader | list:
        if not self.eval_paths:
            return []
        dataset = ContentImages(self.eval_paths, eval_transform(self.image_size))
        return DataLoader(dataset, batch_size=self.eval_batch_size, shuffle=False, **self.loader_options)
