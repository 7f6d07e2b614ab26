"""Training entry point: ``python scripts/train.py style=starry_night`` (or ``fst-train``)."""

from __future__ import annotations

from pathlib import Path

import hydra
import pytorch_lightning as pl
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig
from pytorch_lightning.callbacks import LearningRateMonitor
from pytorch_lightning.utilities import rank_zero_info

from fst import CONF_DIR
from fst.callbacks import ExportStyleModel
from fst.data.images import ImageLoadError, load_image
from fst.errors import FstError, exit_on_user_error
from fst.loggers import build_logger, log_config
from fst.module import StyleTransferModule


def build(cfg: DictConfig, **kwargs):
    """``hydra.utils.instantiate`` that surfaces our one-line user errors instead of Hydra's wrapper."""
    try:
        return instantiate(cfg, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, (FstError, ValueError)):
            raise FstError(str(cause)) from None
        raise


def load_style_image(style: DictConfig) -> torch.Tensor:
    """The style image as a (1, 3, H, W) batch, its long side resized to ``style.size``."""
    path = Path(str(style.image)).expanduser()
    if not path.is_file():
        raise FstError(f"style image not found: {path}; set style.image=/path/to/painting.jpg")
    if style.size is not None and style.size <= 0:
        raise FstError(f"style.size must be > 0, got {style.size}")
    try:
        return load_image(path, long_side=style.size).unsqueeze(0)
    except ImageLoadError as exc:
        raise FstError(f"style.image: {exc}") from None


def build_module(cfg: DictConfig, style_image: torch.Tensor) -> StyleTransferModule:
    return StyleTransferModule(
        net=build(cfg.model),
        criterion=build(cfg.loss),
        style_image=style_image,
        style_name=cfg.style.name,
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler) if cfg.get("scheduler") else None,
        num_samples=cfg.num_samples,
    )


def train(cfg: DictConfig) -> Path:
    """Train one style as ``cfg`` says; return the path of the exported style model."""
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    if cfg.trainer.max_steps <= 0:
        raise FstError(f"trainer.max_steps must be > 0, got {cfg.trainer.max_steps}")
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path and not Path(ckpt_path).is_file():
        raise FstError(f"ckpt_path: checkpoint not found: {ckpt_path}")
    # Cheap checks first: the style image and data folders fail before VGG16 is built.
    style_image = load_style_image(cfg.style)
    datamodule = build(cfg.data)
    module = build_module(cfg, style_image)
    logger = build_logger(cfg.get("logger"))
    log_config(logger, cfg)
    callbacks = [build(c) for c in cfg.get("callbacks", {}).values() if c]
    if not logger:  # Lightning refuses an LR monitor without a logger
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    trainer = build(cfg.trainer, logger=logger, callbacks=callbacks, default_root_dir=cfg.paths.output_dir)
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    exports = [c for c in callbacks if isinstance(c, ExportStyleModel)]
    return exports[0].path if exports else None


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    path = train(cfg)
    if path is not None and Path(path).is_file():
        rank_zero_info(f"fst: style model written to {path}")


if __name__ == "__main__":
    main()
