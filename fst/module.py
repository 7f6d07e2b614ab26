"""The LightningModule that trains one TransformerNet for one style."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.checkpoint import checkpoint
from torchvision.utils import make_grid

from fst.checkpoint import NET_PREFIX
from fst.data.images import save_image
from fst.errors import FstError
from fst.losses.perceptual import PerceptualLoss
from fst.models.transformer_net import TransformerNet

log = logging.getLogger(__name__)
# The perceptual loss's VGG16 stays in eval mode on purpose; Lightning would warn about it every run.
warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode.*")


class NonFiniteLossError(FstError):
    """Training produced NaN or inf; the run stops without saving the bad state."""


class StyleTransferModule(pl.LightningModule):
    """Trains ``net`` to minimise ``criterion`` against one style image.

    Args:
        net: the TransformerNet being trained (the only trained parameters).
        criterion: the perceptual loss (frozen VGG16; never saved in checkpoints).
        style_image: (1, 3, H, W) style image in [0, 1] at the training style size.
        style_name: recorded in checkpoints and exports.
        optimizer: ``params -> Optimizer`` (a Hydra partial).
        scheduler: ``optimizer -> LR scheduler`` stepped every step, or None.
        num_samples: eval images shown in the sample grid of each validation.
        skip_nonfinite_batches: batches with a NaN/inf loss skipped before training stops with an error.
        channels_last: train in the channels-last memory format (faster convolutions on GPU tensor cores).
        compile: ``torch.compile`` the TransformerNet and the VGG16 trunk (the first steps of each size compile).
        activation_checkpointing: keep only the TransformerNet's input for backward and recompute its
            activations there (on CPU, 300 MB less at batch 4 and 256 px for about 10% more time).
        check_finite_every_n_steps: look for a non-finite loss every N steps; each look waits for the device, so
            GPUs use a large N. Skipping bad batches (``skip_nonfinite_batches``) looks at every step.
    """

    def __init__(
        self,
        net: TransformerNet,
        criterion: PerceptualLoss,
        style_image: torch.Tensor,
        style_name: str,
        optimizer: Callable,
        scheduler: Callable | None = None,
        num_samples: int = 8,
        skip_nonfinite_batches: int = 0,
        channels_last: bool = False,
        compile: bool = False,
        activation_checkpointing: bool = False,
        check_finite_every_n_steps: int = 1,
    ):
        super().__init__()
        self.net = net
        self.criterion = criterion
        self.style_name = style_name
        self.register_buffer("style_image", style_image, persistent=False)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.num_samples = num_samples
        self.skip_nonfinite_batches = skip_nonfinite_batches
        if check_finite_every_n_steps < 1:
            raise FstError(f"performance.check_finite_every_n_steps must be >= 1, got {check_finite_every_n_steps}")
        self.check_finite_every_n_steps = 1 if skip_nonfinite_batches else check_finite_every_n_steps
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.compile_models = compile
        self.activation_checkpointing = activation_checkpointing
        self.nonfinite_batches = 0
        self.skipped_files: set[str] = set()
        self._reported_skipped = 0
        self._samples: list[tuple[torch.Tensor, torch.Tensor]] = []
        # Set by continue_from: Adam's moments start afresh there, and its first steps at the full LR
        # (every weight moved by about lr) would undo much of the training; ramp the LR up instead.
        self.lr_warmup_start, self.lr_warmup_steps = 0, 0

    def configure_model(self) -> None:
        # In place, so parameter names (and checkpoints) stay those of the plain modules.
        self.net.to(memory_format=self.memory_format)
        self.criterion.to(memory_format=self.memory_format)
        if self.compile_models:
            self.net.compile(dynamic=False)
            self.criterion.vgg.compile(dynamic=False)

    def on_fit_start(self) -> None:
        self.criterion.set_style(self.style_image)  # once per run, on the training device

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.contiguous(memory_format=self.memory_format))

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor | None:
        self.skipped_files.update(batch["skipped"])
        images = batch["image"].contiguous(memory_format=self.memory_format)
        if self.activation_checkpointing:
            stylized = checkpoint(self.net, images, use_reentrant=False)
        else:
            stylized = self.net(images)
        losses = self.criterion(stylized, images)
        total = losses.pop("total")
        if self.global_step % self.check_finite_every_n_steps == 0 and self._any_rank_nonfinite(total):
            return self._skip_nonfinite_batch(losses)
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, batch_size=len(images))
        self.log("train/total", total, prog_bar=True, batch_size=len(images))
        return total

    def on_before_optimizer_step(self, optimizer) -> None:
        # Before Lightning clips (trainer.gradient_clip_val): a jump here is the first sign of a diverging run.
        norms = [p.grad.norm() for p in self.net.parameters() if p.grad is not None]
        if norms:  # none after a skipped non-finite batch
            self.log("train/grad_norm", torch.stack(norms).norm())

    def _any_rank_nonfinite(self, total: torch.Tensor) -> bool:
        # All DDP ranks must agree, or one would skip its backward while the others wait for it.
        return self.trainer.strategy.reduce_boolean_decision(not torch.isfinite(total).item(), all=False)

    def _skip_nonfinite_batch(self, losses: dict[str, torch.Tensor]) -> None:
        self.nonfinite_batches += 1
        terms = ", ".join(f"{k}={v.item():.4g}" for k, v in losses.items())
        if self.nonfinite_batches > self.skip_nonfinite_batches:
            raise NonFiniteLossError(
                f"non-finite loss at step {self.global_step} ({terms}); training stopped and the last good "
                f"checkpoint is kept in {self.trainer.default_root_dir}/checkpoints. Lower optimizer.lr or the loss "
                "weights, or allow skipping with skip_nonfinite_batches=N"
            )
        log.warning(
            "non-finite loss at step %d (%s): batch skipped (%d of %d allowed)",
            self.global_step, terms, self.nonfinite_batches, self.skip_nonfinite_batches,
        )
        return None  # Lightning skips backward and the optimizer step

    def on_train_epoch_end(self) -> None:
        self._report_skipped_files()
        if self.skipped_files:
            self.log("data/skipped_files", float(len(self.skipped_files)))

    def on_train_end(self) -> None:
        self._report_skipped_files()

    def _report_skipped_files(self) -> None:
        """Once per epoch: how many unreadable training images were skipped, and the first few."""
        if len(self.skipped_files) > self._reported_skipped:
            first = "; ".join(sorted(self.skipped_files)[:3])
            log.warning("skipped %d unreadable training image(s) so far, e.g. %s", len(self.skipped_files), first)
            self._reported_skipped = len(self.skipped_files)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        images = batch["image"]
        stylized = self(images)
        losses = self.criterion(stylized, images)
        self.log_dict({f"val/{k}": v for k, v in losses.items()}, batch_size=len(images), sync_dist=True)
        missing = self.num_samples - sum(len(contents) for contents, _ in self._samples)
        if missing > 0:
            self._samples.append((images[:missing].cpu(), stylized[:missing].float().clamp(0, 1).cpu()))

    def on_validation_epoch_end(self) -> None:
        samples, self._samples = self._samples, []
        if not samples or self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return
        # One column per eval photo: content on the top row, stylized below.
        contents = torch.cat([c for c, _ in samples])
        stylized = torch.cat([s for _, s in samples])
        grid = make_grid(torch.cat([contents, stylized]), nrow=len(contents), padding=2, pad_value=1.0)
        path = Path(self.trainer.default_root_dir) / "samples" / f"step_{self.global_step:07d}.jpg"
        save_image(grid, path)
        if hasattr(self.logger, "log_image"):
            self.logger.log_image(key="val/samples", images=[grid], step=self.global_step)

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None) -> None:
        done = self.global_step - self.lr_warmup_start + 1
        if not self.lr_warmup_steps or not 0 < done < self.lr_warmup_steps:
            return super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        # Scaled for this step only: the LR scheduler goes on from the unscaled LR.
        factor = done / self.lr_warmup_steps
        for group in optimizer.param_groups:
            group["lr"] *= factor
        super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        for group in optimizer.param_groups:
            group["lr"] /= factor

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.net.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer=optimizer)
        with warnings.catch_warnings():  # stepped before any optimizer.step(), on purpose
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(self.trainer.global_step):  # a run continued from an export starts past step 0
                scheduler.step()
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        if not all(torch.isfinite(p).all() for p in self.net.parameters()):
            # Raised before anything is written: the previous checkpoint stays the last good one.
            raise NonFiniteLossError(
                f"the network's weights became non-finite by step {self.global_step}; not saving them. "
                f"The last good checkpoint is kept in {self.trainer.default_root_dir}/checkpoints"
            )
        # The frozen VGG16 is rebuilt from its weights file; keep 60 MB of it out of every checkpoint.
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k.startswith(NET_PREFIX)}
        checkpoint["fst"] = {"model_config": self.net.config, "style": self.style_name}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["state_dict"].update({f"criterion.{k}": v for k, v in self.criterion.state_dict().items()})
