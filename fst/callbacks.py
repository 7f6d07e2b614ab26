"""Training callbacks."""

from __future__ import annotations

import logging
from pathlib import Path

import pytorch_lightning as pl

from fst.checkpoint import export_style_model
from fst.loggers import log_model_artifact

log = logging.getLogger(__name__)


class ExportStyleModel(pl.Callback):
    """Write ``<dirpath>/<style>.safetensors`` at every checkpoint and when training ends.

    The export is what `stylize` and the shipped zoo use: TransformerNet weights only (fp16 by
    default) plus metadata. At the end it is also logged as a W&B model artifact.
    """

    def __init__(self, dirpath: str | Path, style: str, dtype: str = "float16"):
        self.path = Path(dirpath) / f"{style}.safetensors"
        self.style, self.dtype = style, dtype

    def export(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Path:
        return export_style_model(
            pl_module.net, self.path, style=self.style, steps=trainer.global_step, loss=pl_module.criterion.config, dtype=self.dtype
        )

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        if trainer.is_global_zero:
            self.export(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            path = self.export(trainer, pl_module)
            log.info("exported style model: %s (step %d)", path, trainer.global_step)
            log_model_artifact(trainer.logger, path, name=f"{self.style}-model", metadata={"steps": trainer.global_step})
