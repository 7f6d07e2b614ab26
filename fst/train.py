"""Training entry point: ``python scripts/train.py style=starry_night`` (or ``fst-train``)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig
from pytorch_lightning.callbacks import LearningRateMonitor, TQDMProgressBar
from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn
from pytorch_lightning.utilities.exceptions import SIGTERMException

from fst.callbacks import ExportStyleModel
from fst.checkpoint import load_style_model, load_training_checkpoint
from fst.checkpoint_io import AtomicCheckpointIO
from fst.config import command
from fst.data.images import ImageLoadError, load_image
from fst.errors import FstError
from fst.hardware import cpu_has_fast_bf16
from fst.loggers import build_logger, log_config
from fst.module import StyleTransferModule

# VGG16's relu4_3 sees the image at 1/8 scale; below this its Gram matrix describes a few pixels.
MIN_STYLE_SIDE = 32


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
        image = load_image(path, long_side=style.size)
    except ImageLoadError as exc:
        raise FstError(f"style.image: {exc}") from None
    if min(image.shape[-2:]) < MIN_STYLE_SIDE:
        height, width = image.shape[-2:]
        raise FstError(
            f"style image {path} is {width}x{height} at style.size={style.size}; its sides need at least "
            f"{MIN_STYLE_SIDE} px for VGG16's deeper layers: use a larger painting or raise style.size"
        )
    return image.unsqueeze(0)


def build_module(cfg: DictConfig, style_image: torch.Tensor) -> StyleTransferModule:
    performance = cfg.get("performance") or {}
    return StyleTransferModule(
        net=build(cfg.model),
        criterion=build(cfg.loss),
        style_image=style_image,
        style_name=cfg.style.name,
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler) if cfg.get("scheduler") else None,
        num_samples=cfg.num_samples,
        skip_nonfinite_batches=cfg.get("skip_nonfinite_batches", 0),
        channels_last=performance.get("channels_last", False),
        compile=performance.get("compile", False),
        activation_checkpointing=performance.get("activation_checkpointing", False),
        check_finite_every_n_steps=performance.get("check_finite_every_n_steps", 1),
    )


def resolve_resume_path(ckpt_path: str | None, run_dir: Path, net_config: dict) -> str | None:
    """The checkpoint to resume from, checked before training starts (safe to load, same network).

    ``last`` means the newest checkpoint of this run folder: ``checkpoints/*.ckpt`` (a kill can land between
    writing ``step_N.ckpt`` and ``last.ckpt``) or Lightning's SLURM ``hpc_ckpt_*.ckpt``. Writes are atomic, so
    every one of them is complete. When there is none yet the run starts fresh: one command serves both.
    """
    if not ckpt_path:
        return None
    if ckpt_path == "last":
        candidates = [*(run_dir / "checkpoints").glob("*.ckpt"), *run_dir.glob("hpc_ckpt_*.ckpt")]
        if not candidates:
            rank_zero_info(f"fst: ckpt_path=last: no checkpoint in {run_dir} yet; starting the run")
            return None
        path = max(candidates, key=lambda p: p.stat().st_mtime)
    else:
        path = Path(ckpt_path).expanduser()
        if not path.is_file():
            raise FstError(f"ckpt_path: checkpoint not found: {path}; pass a .ckpt file or ckpt_path=last")
    check_same_network("ckpt_path", path, load_training_checkpoint(path)["fst"]["model_config"], net_config)
    return str(path)


def check_same_network(option: str, path: Path, trained: dict, net_config: dict) -> None:
    differences = [f"model.{k}={trained.get(k)} in the checkpoint, {v} now" for k, v in net_config.items() if trained.get(k) != v]
    if differences:
        raise FstError(f"{option} {path} was trained with another network: {'; '.join(differences)}")


def continue_from_export(path: str, module: StyleTransferModule, cfg: DictConfig) -> tuple[int, float]:
    """Load an exported style model's weights into ``module``; return its steps and training seconds.

    For runs whose Lightning checkpoints are gone (another machine, a cleaned disk): the export is all that
    survives. Adam's moments are not in it, so they start afresh (under an LR warm-up); everything else goes on
    from its step.
    """
    path = Path(path).expanduser()
    net, meta = load_style_model(path)
    if meta.get("style") != cfg.style.name:
        raise FstError(
            f"continue_from {path} is a model of style '{meta.get('style')}', not '{cfg.style.name}'; "
            f"pass style={meta.get('style')} (or style.name=... for your own painting)"
        )
    check_same_network("continue_from", path, meta["model_config"], module.net.config)
    steps = int(meta.get("steps", 0))
    if steps >= cfg.trainer.max_steps:
        raise FstError(
            f"continue_from {path} was already trained {steps} steps and trainer.max_steps={cfg.trainer.max_steps}; "
            "raise trainer.max_steps to train it further"
        )
    module.net.load_state_dict(net.state_dict())
    rank_zero_info(f"fst: continuing from {path} at step {steps} (Adam's moments start afresh, the LR ramps up)")
    return steps, float(meta.get("train_seconds", 0.0))


def start_at_step(trainer: pl.Trainer, step: int) -> None:
    """Make a new fit count from ``step``, as a run resumed at that step would.

    Lightning keeps its step in the fit loop's progress counters (what a checkpoint restores): the global step
    (so ``trainer.max_steps``, checkpoint names and export steps go on from ``step``), the batches behind
    ``val_check_interval``, and the step the loggers record. The LR scheduler catches up in configure_optimizers.
    """
    loop = trainer.fit_loop.epoch_loop
    for tracker in (loop.automatic_optimization.optim_progress.optimizer.step.total, loop.batch_progress.total):
        for field in ("ready", "started", "processed", "completed"):
            if hasattr(tracker, field):
                setattr(tracker, field, step)
    loop._batches_that_stepped = step


def warn_if_bf16_is_emulated(trainer: pl.Trainer) -> None:
    if trainer.strategy.root_device.type == "cpu" and "bf16" in str(trainer.precision) and not cpu_has_fast_bf16():
        rank_zero_warn(
            "fst: this CPU has no native bf16 (AVX-512 or AMX), so bf16-mixed runs over 10x slower than fp32 here; "
            "set trainer.precision=32 (trainer=cpu picks it by itself)"
        )


def train(cfg: DictConfig) -> Path:
    """Train one style as ``cfg`` says; return the path of the exported style model."""
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    if cfg.trainer.max_steps <= 0:
        raise FstError(f"trainer.max_steps must be > 0, got {cfg.trainer.max_steps}")
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path and ckpt_path != "last" and not Path(ckpt_path).expanduser().is_file():
        raise FstError(f"ckpt_path: checkpoint not found: {ckpt_path}; pass a .ckpt file or ckpt_path=last")
    if cfg.get("continue_from") and not Path(cfg.continue_from).expanduser().is_file():
        raise FstError(f"continue_from: style model not found: {cfg.continue_from}; pass a <style>.safetensors that training exported")
    # Cheap checks first: the style image and data folders fail before VGG16 is built.
    style_image = load_style_image(cfg.style)
    datamodule = build(cfg.data)
    module = build_module(cfg, style_image)
    ckpt_path = resolve_resume_path(ckpt_path, Path(cfg.paths.output_dir), module.net.config)
    start_step, seconds_before = 0, 0.0
    if cfg.get("continue_from"):
        if ckpt_path:  # a checkpoint of the continued run itself is further along, with Adam's state
            rank_zero_info(f"fst: resuming from {ckpt_path}; continue_from is ignored")
        else:
            start_step, seconds_before = continue_from_export(cfg.continue_from, module, cfg)
            module.lr_warmup_start, module.lr_warmup_steps = start_step, cfg.get("continue_warmup_steps", 0)
    logger = build_logger(cfg.get("logger"))
    log_config(logger, cfg)
    callbacks = [build(c) for c in cfg.get("callbacks", {}).values() if c]
    if not logger:  # Lightning refuses an LR monitor without a logger
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    if cfg.trainer.get("enable_progress_bar", True):
        # The bar reads the loss from the device at each refresh: GPUs refresh less often than every step.
        every = cfg.get("performance", {}).get("progress_bar_every_n_steps", 1)
        callbacks.append(TQDMProgressBar(refresh_rate=every))
    trainer = build(
        cfg.trainer,
        logger=logger,
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        default_root_dir=cfg.paths.output_dir,
    )
    warn_if_bf16_is_emulated(trainer)
    exports = [c for c in callbacks if isinstance(c, ExportStyleModel)]
    if start_step:
        start_at_step(trainer, start_step)
        for export in exports:
            export.load_state_dict({"train_seconds": seconds_before})  # the export sums the time of every run
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    except SIGTERMException:  # checkpoint already saved by CheckpointOnInterrupt
        sys.exit(128 + signal.SIGTERM)  # the usual status of a process ended by SIGTERM
    return exports[0].path if exports else None


@command("train")
def main(cfg: DictConfig) -> None:
    path = train(cfg)
    if path is not None and Path(path).is_file():
        rank_zero_info(f"fst: style model written to {path}")


if __name__ == "__main__":
    main()
