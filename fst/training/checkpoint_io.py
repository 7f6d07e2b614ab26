"""Lightning checkpoint writes that a kill can never leave half-done."""

from __future__ import annotations

from typing import Any

import torch
from lightning_fabric.utilities.types import _PATH
from pytorch_lightning.plugins.io import TorchCheckpointIO

from fst.io import atomic_path


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write each checkpoint to a temporary file beside it, then rename it into place.

    Lightning's own writer streams into the final path, so a kill mid-write leaves a truncated
    ``last.ckpt``; here a reader finds the previous complete file or the new complete one.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        if "://" in str(path):  # remote filesystems (s3://, gs://): Lightning's own writer
            return super().save_checkpoint(checkpoint, path, storage_options)
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)
