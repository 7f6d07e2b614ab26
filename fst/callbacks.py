"""Training callbacks: the per-style export, and a checkpoint when a run is interrupted."""

from __future__ import annotations

import logging
import os
import platform
import signal
import threading
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info
from pytorch_lightning.utilities.exceptions import SIGTERMException

from fst.checkpoint import export_style_model
from fst.loggers import log_model_artifact

log = logging.getLogger(__name__)


def hardware(trainer: pl.Trainer) -> str:
    """What trained the model, e.g. ``1x NVIDIA H100 80GB HBM3`` or ``CPU: AMD EPYC 7B13 (2 cores)``."""
    device = trainer.strategy.root_device
    if device.type == "cuda":
        return f"{trainer.world_size}x {torch.cuda.get_device_name(device)}"
    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "unknown")
    processes = f"{trainer.world_size}x " if trainer.world_size > 1 else ""
    return f"{processes}CPU: {model} ({os.cpu_count()} cores)"


def optimizer_recipe(trainer: pl.Trainer) -> dict | None:
    """The optimizer, its starting learning rate and the LR schedule, as recorded in the export."""
    if not trainer.optimizers:
        return None
    optimizer = trainer.optimizers[0]
    scheduler = trainer.lr_scheduler_configs[0].scheduler if trainer.lr_scheduler_configs else None
    return {
        "name": type(optimizer).__name__,
        # the starting LR: a scheduler keeps it as base_lrs; without one the LR never changes
        "lr": scheduler.base_lrs[0] if scheduler else optimizer.param_groups[0]["lr"],
        "lr_scheduler": type(scheduler).__name__ if scheduler else None,
    }


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:  # not Linux
        return [f"model name: {platform.processor()}"]


class ExportStyleModel(pl.Callback):
    """Write ``<dirpath>/<style>.safetensors`` at every checkpoint and once when training ends.

    The export is what `stylize` and the shipped zoo use: TransformerNet weights only (fp16 by
    default) plus metadata, including the training wall time summed over resumed runs and the hardware.
    At the end it is also logged as a W&B model artifact.
    """

    def __init__(
        self,
        dirpath: str | Path,
        style: str,
        dtype: str = "float16",
        style_size: int | None = None,
        image_size: int | None = None,
        batch_size: int | None = None,
    ):
        self.path = Path(dirpath) / f"{style}.safetensors"
        self.style, self.dtype, self.style_size = style, dtype, style_size
        self.image_size, self.batch_size = image_size, batch_size  # the data config, recorded in the export
        self.exported_step: int | None = None
        # Training wall time, summed over every resumed run (kept in the Lightning checkpoints).
        self._seconds_before, self._started = 0.0, None

    def train_seconds(self) -> float:
        running = time.monotonic() - self._started if self._started is not None else 0.0
        return self._seconds_before + running

    def state_dict(self) -> dict:
        return {"train_seconds": self.train_seconds()}

    def load_state_dict(self, state_dict: dict) -> None:
        self._seconds_before = float(state_dict.get("train_seconds", 0.0))

    def on_train_start(self, trainer, pl_module) -> None:
        self._started = time.monotonic()

    def export(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Path:
        if self.exported_step != trainer.global_step:  # the final checkpoint and train end share a step
            export_style_model(
                pl_module.net,
                self.path,
                style=self.style,
                steps=trainer.global_step,
                loss=pl_module.criterion.config,
                dtype=self.dtype,
                style_size=self.style_size,
                image_size=self.image_size,
                # images per optimizer step: the loader's batch on every device, times accumulation
                batch_size=self.batch_size and self.batch_size * trainer.world_size * trainer.accumulate_grad_batches,
                train_seconds=self.train_seconds(),
                hardware=hardware(trainer),
                optimizer=optimizer_recipe(trainer),
            )
            self.exported_step = trainer.global_step
        return self.path

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        if trainer.is_global_zero:
            self.export(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            path = self.export(trainer, pl_module)
            log.info("exported style model: %s (step %d)", path, trainer.global_step)
            log_model_artifact(trainer.logger, path, name=f"{self.style}-model", metadata={"steps": trainer.global_step})


class CheckpointOnInterrupt(pl.Callback):
    """Save ``<dirpath>/last.ckpt`` when a run is stopped by Ctrl+C (SIGINT) or SIGTERM, then exit.

    Both signals take effect at the end of the current step, so the saved state is consistent:
    Lightning defers SIGTERM itself; SIGINT is deferred here. A second Ctrl+C stops at once, without
    saving (the last periodic checkpoint stays). SLURM's pre-emption signal is Lightning's own
    auto-requeue (SIGUSR1: checkpoint and requeue).
    """

    def __init__(self, dirpath: str | Path):
        self.path = Path(dirpath) / "last.ckpt"
        self.interrupted = False
        self._stopping_at_step_end = False
        self._previous_handler = None

    def _on_sigint(self, signum, frame) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True
        rank_zero_info("fst: interrupted; saving a checkpoint after this step (Ctrl+C again to stop at once)")

    def on_train_start(self, trainer, pl_module) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def on_train_batch_end(self, trainer, *args) -> None:
        if self.interrupted:
            self._stopping_at_step_end = True
            raise KeyboardInterrupt  # Lightning's graceful shutdown, now at a step boundary

    def on_exception(self, trainer, pl_module, exception) -> None:
        self._restore_handler()
        at_step_end = isinstance(exception, SIGTERMException) or (
            isinstance(exception, KeyboardInterrupt) and self._stopping_at_step_end
        )
        if at_step_end:
            trainer.save_checkpoint(self.path, weights_only=False)
            rank_zero_info(
                f"fst: stopped at step {trainer.global_step}; checkpoint saved to {self.path}. "
                f"Resume with ckpt_path={self.path} (or ckpt_path=last in the same run folder)"
            )

    def on_train_end(self, trainer, pl_module) -> None:
        self._restore_handler()

    def _restore_handler(self) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None
