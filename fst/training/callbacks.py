"""Training callbacks: the style-model export, a checkpoint when a run is interrupted, and the progress bar."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import TQDMProgressBar
from pytorch_lightning.utilities.exceptions import SIGTERMException

from fst.messages import say
from fst.models.serialization import save_style_model
from fst.training.loggers import log_model_artifact
from fst.training.resume import recorded_overrides, resume_command

log = logging.getLogger(__name__)


class ExportStyleModel(pl.Callback):
    """Write ``<dirpath>/<name>.safetensors`` at every checkpoint and once when training ends.

    The export is what `stylize` and the shipped zoo use: the network's weights only (fp16 by default) and
    the model card. At the end it is also logged as a W&B model artifact.
    """

    def __init__(self, dirpath: str | Path, name: str, dtype: str):
        self.path = Path(dirpath) / f"{name}.safetensors"
        self.name, self.dtype = name, dtype
        self.exported_step: int | None = None

    def export(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Path:
        if self.exported_step != trainer.global_step:  # the final checkpoint and train end share a step
            net, card = pl_module.export_model()
            save_style_model(net, self.path, card, dtype=self.dtype)
            self.exported_step = trainer.global_step
        return self.path

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        if trainer.is_global_zero:
            self.export(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            path = self.export(trainer, pl_module)
            log.info("exported style model: %s (step %d)", path, trainer.global_step)
            log_model_artifact(trainer.logger, path, name=f"{self.name}-model", metadata={"steps": trainer.global_step})


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
        say("interrupted; saving a checkpoint after this step (Ctrl+C again to stop at once)")

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
            run_dir = self.path.parent.parent
            extra = [f"run_name={run_dir.name}", f"ckpt_path={self.path.resolve()}"]
            command = resume_command(recorded_overrides(run_dir), extra)
            say(f"stopped at step {trainer.global_step}; checkpoint saved to {self.path}. Resume with: {command}")

    def on_train_end(self, trainer, pl_module) -> None:
        self._restore_handler()

    def _restore_handler(self) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None


class StepProgressBar(TQDMProgressBar):
    """Lightning's progress bar, counting optimizer steps towards ``trainer.max_steps`` instead of each epoch's
    batches: a run of 300 steps over 118-batch epochs reads ``300/300``, and a resumed run starts where it was."""

    def on_train_start(self, trainer: pl.Trainer, *_) -> None:
        super().on_train_start(trainer)
        self.train_progress_bar.reset(total=trainer.max_steps)
        self.train_progress_bar.initial = trainer.global_step
        self.train_progress_bar.set_description("train steps")

    def on_train_epoch_start(self, trainer: pl.Trainer, *_) -> None:
        pass  # one bar for the whole run

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *_) -> None:
        step = trainer.global_step
        if self._should_update(step, trainer.max_steps):
            self.train_progress_bar.n = step
            self.train_progress_bar.set_postfix(self.get_metrics(trainer, pl_module))

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.train_progress_bar.set_postfix(self.get_metrics(trainer, pl_module))
