"""The LightningModule that trains a style network against the perceptual loss of its styles."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import ChainedScheduler, LinearLR
from torch.utils.checkpoint import checkpoint as recompute
from torchvision.utils import make_grid

from fst.data.images import save_image
from fst.errors import FstError
from fst.hardware import device_name
from fst.losses.perceptual import PerceptualLoss
from fst.losses.stability import feature_difference, luminance_change, random_motion, temporal_difference
from fst.models.arbitrary_net import ENCODER_LAYERS, ArbitraryStyleNet, feature_statistics, painting_statistics
from fst.models.card import LossSpec, ModelCard, StyleSpec, TrainingRecord
from fst.models.conditional_net import is_multi_style, is_per_style, keep_styles
from fst.models.registry import architecture_of
from fst.models.serialization import NET_PREFIX, OVERRIDES_KEY, checkpoint_card
from fst.training.loggers import log_image

log = logging.getLogger(__name__)


class NonFiniteLossError(FstError):
    """Training produced NaN or inf; the run stops without saving the bad state."""


@dataclass(frozen=True)
class Adaptation:
    """New styles learned on a trained multi-style model (experiment=adapt).

    Args:
        base: the base model, as its card records it (e.g. ``multi_style (12000 steps)``).
        styles: the indices of the new styles, the only ones training draws.
        shared_lr: also train the shared weights (the convolutions) at this LR, while the new styles' scales
            and shifts take the optimizer's; None: only the new styles' scales and shifts train, and every other
            weight stays bit-identical.
    """

    base: str
    styles: tuple[int, ...]
    shared_lr: float | None = None

    @property
    def train_shared(self) -> bool:
        return self.shared_lr is not None


class StyleTransferModule(pl.LightningModule):
    """Trains ``net`` to minimise ``criterion`` against its styles; its checkpoints carry the model card.

    A network with ``num_styles`` (conditional instance norm) trains all its styles at once: every batch item
    draws a style, so one batch can hold several, each measured against its own painting and weight.

    Args:
        name: the model's name, recorded in its card.
        net: the style network being trained (the only trained parameters), of a registered architecture.
        criterion: the perceptual loss (frozen VGG; never saved in checkpoints).
        styles: the styles, as the card records them.
        style_images: one (1, 3, H, W) painting in [0, 1] per style that trains, at its style size.
        optimizer: ``params -> Optimizer`` (a Hydra partial).
        scheduler: ``optimizer -> LR scheduler`` stepped every step, or None.
        num_samples: eval images shown in the sample grid of each validation.
        skip_nonfinite_batches: batches with a NaN/inf loss skipped before training stops with an error.
        adapt: learn new styles on a trained multi-style network (only they train), or None.
        teachers: trained one-style networks, one per style that trains, whose outputs the network also learns to match
            (``distill_weight`` times the mean squared difference): a dense target that trains a multi-style
            network from per-style models many times faster than the perceptual loss alone. None: no teachers.
            ``teacher_names`` (names or files) go into the card.
        anchors, anchor_share: of a network that paints any painting: the styles it must keep painting by name
            (positions in ``styles``) and the share of training steps that draw them instead of corpus paintings,
            as a multi-style network's steps do (distilled from their teachers where there are teachers).
        channels_last, compile, activation_checkpointing, check_finite_every_n_steps: the speed switches of
            ``performance.*`` (conf/trainer/default.yaml says what each does).
    """

    def __init__(
        self,
        name: str,
        net: nn.Module,
        criterion: PerceptualLoss,
        styles: list[StyleSpec],
        style_images: list[torch.Tensor],
        adapt: Adaptation | None,
        optimizer: Callable,
        scheduler: Callable | None,
        num_samples: int,
        skip_nonfinite_batches: int,
        teachers: list[nn.Module] | None,
        distill_weight: float,
        channels_last: bool,
        compile: bool,
        activation_checkpointing: bool,
        check_finite_every_n_steps: int,
        anchors: tuple[int, ...] = (),
        anchor_share: float = 0.0,
        teacher_names: tuple[str, ...] = (),
    ):
        super().__init__()
        self.trained = list(adapt.styles) if adapt else list(range(len(styles)))  # the styles training draws
        if len(self.trained) != len(style_images):
            raise ValueError("one style image per style that trains")
        self.conditional = is_multi_style(net)
        self.arbitrary = isinstance(net, ArbitraryStyleNet)  # its styles are the paintings it knows by name
        if self.arbitrary and net.known_statistics.shape[0] != len(styles):
            raise FstError(f"the model knows {net.known_statistics.shape[0]} styles by name but the run has {len(styles)}")
        if self.conditional and not self.arbitrary and net.num_styles != len(styles):
            raise FstError(f"the model paints {net.num_styles} styles but the run has {len(styles)}")
        if not self.conditional and len(styles) > 1:
            raise FstError(f"{len(styles)} styles need a conditional model: model=conditional_transformer_net "
                           "(experiment=multi_style sets it)")
        self.name = name
        self.net = net
        self.criterion = criterion
        if teachers is not None and len(teachers) != len(self.trained):
            raise FstError(f"teachers: {len(teachers)} models for {len(self.trained)} styles; give one per style, in order")
        self.adapt = adapt
        self.teachers = nn.ModuleList(teachers).requires_grad_(False).eval() if teachers else None
        self.distill_weight = distill_weight
        self.teacher_names = tuple(teacher_names)  # as the run named them, for the card
        if anchors and not self.arbitrary:
            raise FstError("anchor_styles keeps the named styles of a network that paints any painting: add experiment=arbitrary")
        if not 0 <= anchor_share < 1:
            raise FstError(f"anchor_share must be in [0, 1), got {anchor_share}")
        self.anchors, self.anchor_share = tuple(anchors), anchor_share
        self.styles = list(styles)
        self.style_images = list(style_images)  # moved to the device in on_fit_start
        if adapt and not adapt.train_shared:
            self._train_only_styles(adapt.styles)
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
        # Set when a run continues from an export: Adam's moments start afresh there, and its first steps at the
        # full LR (every weight moved by about lr) would undo much of the training, so the LR ramps up instead.
        self.lr_warmup_steps = 0
        self.command_overrides: list[str] | None = None  # set by a command: its overrides go into checkpoints
        # Training wall time, summed over every resumed run (kept in the card of each checkpoint).
        self.seconds_before, self._started = 0.0, None
        # The model an adapted model was adapted from, when a run continues one (all its styles training jointly).
        self.continued_base: str | None = None
        # The trained convolutions' LR when a run starts from a trained model's (start_from), else None: one LR.
        self.shared_lr: float | None = None
        self._base_schedule = None

    # --- set-up ----------------------------------------------------------------------------------------

    def _train_only_styles(self, styles: tuple[int, ...]) -> None:
        """Freeze every weight but the scale and shift of ``styles``: the rest of each conditional norm's
        parameters gets zero gradients, so Adam leaves it bit-identical."""
        mask = torch.zeros(len(self.styles), 1)
        mask[list(styles)] = 1
        for name, parameter in self.net.named_parameters():
            per_style = is_per_style(name)
            parameter.requires_grad_(per_style)
            if per_style:
                parameter.register_hook(lambda grad: grad * mask.to(grad))

    def configure_model(self) -> None:
        # In place, so parameter names (and checkpoints) stay those of the plain modules.
        self.net.to(memory_format=self.memory_format)
        self.criterion.to(memory_format=self.memory_format)
        if self.compile_models:
            self.net.compile(dynamic=False)
            self.criterion.vgg.compile(dynamic=False)

    def on_fit_start(self) -> None:
        # Once per run, on the training device: the Gram targets of every style that trains.
        weights = [self.styles[index].style_weight for index in self.trained]
        self.criterion.set_styles([image.to(self.device) for image in self.style_images], weights)
        if self.arbitrary:  # the paintings it knows by name, as its encoder sees them (the loss's VGG is its VGG)
            statistics = [painting_statistics(self.criterion.vgg, image.to(self.device)) for image in self.style_images]
            self.net.known_statistics.copy_(torch.cat(statistics))

    def on_train_start(self) -> None:
        self._started = time.monotonic()

    def train_seconds(self) -> float:
        return self.seconds_before + (time.monotonic() - self._started if self._started is not None else 0.0)

    # --- steps -----------------------------------------------------------------------------------------

    def forward(self, images: torch.Tensor, trained_ids: torch.Tensor) -> torch.Tensor:
        """Stylize ``images``, each in the style ``trained_ids`` names (positions in the styles that train;
        ignored by a one-style network)."""
        inputs = (images.contiguous(memory_format=self.memory_format),)
        if self.conditional:
            style_ids = torch.tensor(self.trained, device=images.device)[trained_ids]
            if self.arbitrary:
                inputs += (self.net.style_vector(self.net.known_statistics[style_ids]).to(images.dtype),)
            else:
                inputs += (F.one_hot(style_ids, len(self.styles)).to(images.dtype),)
        return self._run(*inputs)

    def _run(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.activation_checkpointing and torch.is_grad_enabled():
            return recompute(self.net, *inputs, use_reentrant=False)
        return self.net(*inputs)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor | None:
        self.skipped_files.update(batch["skipped"])
        images = batch["image"]
        paintings = batch.get("painting")
        if paintings is not None and self.anchors and torch.rand(()) < self.anchor_share:
            paintings = None  # a step for the styles it paints by name, which the corpus paintings would pull away
            drawn = torch.randint(len(self.anchors), (len(images),))
            style_ids = torch.tensor(self.anchors)[drawn].to(images.device)
        elif len(self.trained) > 1:
            style_ids = torch.randint(len(self.trained), (len(images),), device=images.device)
        else:
            style_ids = torch.zeros(len(images), dtype=torch.long, device=images.device)
        if paintings is not None:  # a network that paints any painting: each photo with a painting of its own
            losses, stylized = self._painting_losses(images, paintings)
        elif self.criterion.temporal_weight > 0 or self.criterion.temporal_feature_weight > 0:
            losses, stylized = self._video_losses(images, style_ids)
        else:
            stylized = self(images, style_ids)
            losses = self.criterion(stylized, images, style_ids, per_item=len(self.trained) > 1)
        if self.teachers is not None and paintings is None and self.distill_weight > 0:  # a painting's is unknown
            losses["distill"] = self.distill_weight * (stylized.float() - self._teach(images, style_ids)).pow(2).mean()
            losses["total"] = losses["total"] + losses["distill"]
        total = losses.pop("total")
        if self.global_step % self.check_finite_every_n_steps == 0 and self._any_rank_nonfinite(total):
            return self._skip_nonfinite_batch(losses)
        if "style_per_item" in losses:  # each style drawn in this batch: its mean style loss
            per_item = losses.pop("style_per_item")
            for position in style_ids.unique().tolist():
                drawn = style_ids == position
                name = self.styles[self.trained[position]].name
                self.log(f"train/style/{name}", per_item[drawn].mean(), batch_size=int(drawn.sum()))
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, batch_size=len(images))
        self.log("train/total", total, prog_bar=True, batch_size=len(images))
        return total

    def _painting_losses(self, images: torch.Tensor, paintings: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Each photo painted in the style the encoder reads off its painting, against that painting's Gram matrices
        (one pass of the loss's VGG gives both: the encoder's VGG holds the same weights)."""
        grams, features = self.criterion.style_targets(paintings, list(ENCODER_LAYERS))
        vectors = self.net.style_vector(feature_statistics(features))
        stylized = self._run(images.contiguous(memory_format=self.memory_format), vectors.to(images.dtype))
        losses = self.criterion.terms(stylized, self.criterion.content_target(images), style_grams=grams)
        return losses, stylized

    def _video_losses(self, images: torch.Tensor, style_ids: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The perceptual loss and the stability terms (fst.losses.stability) of a batch and a moved copy of it, as
        two consecutive video frames: the stylization of the moved crop should be the moved stylization, in its
        output and in its features. Returns the terms and the batch's stylization."""
        criterion = self.criterion
        moved, grid, visible = random_motion(images)
        features: list[torch.Tensor] = []
        hook = self._last_residual().register_forward_hook(lambda module, args, output: features.append(output)) \
            if criterion.temporal_feature_weight > 0 else None
        try:  # one pass for both frames: the hook sees their features together
            stylized, stylized_moved = self(torch.cat([images, moved]), style_ids.repeat(2)).chunk(2)
        finally:
            if hook is not None:
                hook.remove()
        per_item = len(self.trained) > 1
        if criterion.temporal_both_frames:
            losses = criterion(torch.cat([stylized, stylized_moved]), torch.cat([images, moved]), style_ids.repeat(2), per_item)
            if per_item:
                losses["style_per_item"] = losses["style_per_item"].view(2, -1).mean(dim=0)
        else:
            losses = criterion(stylized, images, style_ids, per_item)
        allowed = luminance_change(moved, images, grid) if criterion.temporal_luminance else None
        if criterion.temporal_weight > 0:
            difference = temporal_difference(stylized_moved, stylized, grid, visible, allowed)
            losses["temporal"] = criterion.temporal_weight * difference
            losses["total"] = losses["total"] + losses["temporal"]
        if criterion.temporal_feature_weight > 0:
            features_of_images, features_of_moved = features[0].chunk(2)  # the first call: recomputation may add more
            difference = feature_difference(features_of_moved, features_of_images, grid, visible)
            losses["temporal_features"] = criterion.temporal_feature_weight * difference
            losses["total"] = losses["total"] + losses["temporal_features"]
        return losses, stylized

    def _last_residual(self) -> nn.Module:
        """The network's last residual block: its output is the features at the lowest resolution."""
        residuals = getattr(self.net, "residuals", None)
        if not residuals:
            raise FstError("loss.temporal_feature_weight needs a network with residual blocks (model.num_residual_blocks >= 1)")
        return residuals[-1]

    @torch.no_grad()
    def _teach(self, images: torch.Tensor, style_ids: torch.Tensor) -> torch.Tensor:
        """Each image as its style's teacher paints it (float32)."""
        self.teachers.eval()  # Lightning's train() reaches them too
        taught = torch.empty(images.shape, device=images.device)
        for index in style_ids.unique().tolist():
            drawn = style_ids == index
            taught[drawn] = self.teachers[index](images[drawn]).float()
        return taught

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
        """Every eval photo in every style: the losses (per style too, for several) and the sample grid."""
        images = batch["image"]
        per_style, stylized = [], []
        for position, index in enumerate(self.trained):
            style, style_ids = self.styles[index], torch.full((len(images),), position, device=images.device)
            output = self(images, style_ids)
            per_style.append(self.criterion(output, images, style_ids))
            stylized.append(output)
            suffix = f"/{style.name}" if len(self.trained) > 1 else ""
            if suffix:
                self.log_dict({f"val/{k}{suffix}": per_style[-1][k] for k in ("content", "style")},
                              batch_size=len(images), sync_dist=True)
            if self.teachers is not None:  # the student's losses as a share of its teacher's: 1.0 paints as well
                teacher = self.criterion(self.teachers[position](images).float(), images, style_ids)
                self.log_dict({f"val/{k}_vs_teacher{suffix}": per_style[-1][k] / teacher[k] for k in ("content", "style")},
                              batch_size=len(images), sync_dist=True)
        mean = {k: torch.stack([losses[k] for losses in per_style]).mean() for k in per_style[0]}
        self.log_dict({f"val/{k}": v for k, v in mean.items()}, batch_size=len(images), sync_dist=True)
        missing = self.num_samples - sum(len(contents) for contents, _ in self._samples)
        if missing > 0:
            rows = [output[:missing].float().clamp(0, 1).cpu() for output in stylized]
            self._samples.append((images[:missing].cpu(), rows))

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.sanity_checking:  # when each validation happened, in training time: loss against time
            self.log("time/train_minutes", self.train_seconds() / 60)
        samples, self._samples = self._samples, []
        if not samples or self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return
        # One column per eval photo: the photos on the top row, then a row per style.
        contents = torch.cat([c for c, _ in samples])
        rows = [torch.cat([styles[position] for _, styles in samples]) for position in range(len(self.trained))]
        grid = make_grid(torch.cat([contents, *rows]), nrow=len(contents), padding=2, pad_value=1.0)
        save_image(grid, Path(self.trainer.default_root_dir) / "samples" / f"step_{self.global_step:07d}.jpg")
        log_image(self.logger, "val/samples", grid, self.global_step)

    # --- optimizer and LR schedule ---------------------------------------------------------------------

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self._parameter_groups())
        schedulers = []
        if self.scheduler_factory is not None:
            schedule = self.scheduler_factory(optimizer=optimizer)
            with warnings.catch_warnings():  # stepped before any optimizer.step(), on purpose
                warnings.simplefilter("ignore", UserWarning)
                for _ in range(self.trainer.global_step):  # a run continued from an export starts past step 0
                    schedule.step()
            schedulers.append(schedule)
        if self.lr_warmup_steps:
            # Multiplies whatever LR the schedule gives by 1/N, 2/N, ... 1 over the first N steps.
            schedulers.insert(0, LinearLR(optimizer, start_factor=1 / self.lr_warmup_steps, total_iters=self.lr_warmup_steps))
        self._base_schedule = schedulers[-1] if schedulers else None  # its base_lrs are the starting LRs
        if not schedulers:
            return optimizer
        scheduler = schedulers[0] if len(schedulers) == 1 else ChainedScheduler(schedulers)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def _parameter_groups(self) -> list:
        """What the optimizer trains. An adaptation of every weight (and a network that paints any painting, started
        from a multi-style model's) trains the scales and shifts at the optimizer's LR and the trained shared
        weights at the slower ``shared_lr``; the first group is the scales and shifts', so the card's LR is theirs."""
        trainable = [(name, p) for name, p in self.net.named_parameters() if p.requires_grad]
        shared_lr = self.adapt.shared_lr if self.adapt and self.adapt.train_shared else self.shared_lr
        if shared_lr is None:
            return [p for _, p in trainable]
        # A network that paints any painting learns its style encoder as the styles' scales and shifts.
        fresh = [p for name, p in trainable if is_per_style(name) or name.startswith("style_encoder.")]
        shared = [p for name, p in trainable if not (is_per_style(name) or name.startswith("style_encoder."))]
        return [{"params": fresh}, {"params": shared, "lr": shared_lr}]

    # --- the card and checkpoints ----------------------------------------------------------------------

    def model_card(self) -> ModelCard:
        """The card of the network as trained so far."""
        trainer = self.trainer
        data = trainer.datamodule
        optimizer = trainer.optimizers[0] if trainer.optimizers else None
        if self._base_schedule is not None:
            lr = self._base_schedule.base_lrs[0]  # the starting LR, not where the schedule has got to
        else:
            lr = optimizer.param_groups[0]["lr"] if optimizer else None
        schedule = None
        if self.scheduler_factory is not None:  # a Hydra partial of a torch scheduler class
            schedule = getattr(self.scheduler_factory, "func", self.scheduler_factory).__name__
        world = trainer.world_size
        training = TrainingRecord(
            steps=trainer.global_step,
            max_steps=trainer.max_steps,
            image_size=getattr(data, "image_size", None),
            # images per optimizer step: the loader's batch on every device, times accumulation
            batch_size=data.batch_size * world * trainer.accumulate_grad_batches if data is not None else None,
            optimizer=type(optimizer).__name__ if optimizer else None,
            lr=lr,
            lr_scheduler=schedule,
            precision=str(trainer.precision),
            seconds=round(self.train_seconds()),
            hardware=(f"{world}x " if world > 1 else "") + device_name(trainer.strategy.root_device),
            base=self.adapt.base if self.adapt else self.continued_base,
            teachers=self.distilled_teachers() or None,
            distill_weight=self.distill_weight if self.distilled_teachers() else None,
        )
        return ModelCard(
            name=self.name,
            architecture=architecture_of(self.net),
            network=dict(self.net.config),
            styles=tuple(self.styles),
            loss=LossSpec(**self.criterion.config),
            training=training,
        )

    def distilled_teachers(self) -> tuple[str, ...]:
        """The teachers whose outputs the network learns (for its card): a network that paints any painting learns
        only its anchors' (the other teachers score its validation)."""
        if self.arbitrary and self.teacher_names:
            return tuple(self.teacher_names[index] for index in self.anchors)
        return self.teacher_names

    def export_model(self) -> tuple[nn.Module, ModelCard]:
        """The network and card a style model file holds. An adaptation that also trained the shared weights
        (``adapt_all``) keeps only its new styles: the base's no longer paint as they were trained to."""
        card = self.model_card()
        if self.adapt and self.adapt.train_shared:
            return keep_styles(self.net, card, self.adapt.styles)
        return self.net, card

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        if not all(torch.isfinite(p).all() for p in self.net.parameters()):
            # Raised before anything is written: the previous checkpoint stays the last good one.
            raise NonFiniteLossError(
                f"the network's weights became non-finite by step {self.global_step}; not saving them. "
                f"The last good checkpoint is kept in {self.trainer.default_root_dir}/checkpoints"
            )
        # The frozen VGG and teachers are rebuilt from their files; keep them out of every checkpoint.
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k.startswith(NET_PREFIX)}
        checkpoint["fst"] = self.model_card().to_dict()
        checkpoint["fst_lr_warmup_steps"] = self.lr_warmup_steps  # the scheduler's shape, for its saved state
        checkpoint[OVERRIDES_KEY] = self.command_overrides

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        # What checkpoints leave out (the VGG, teachers) comes from this run's own modules.
        checkpoint["state_dict"].update({k: v for k, v in self.state_dict().items() if not k.startswith(NET_PREFIX)})
        self.lr_warmup_steps = checkpoint.get("fst_lr_warmup_steps", 0)
        card = checkpoint_card(checkpoint)
        self.seconds_before = float(card.training.seconds or 0.0)
        if not self.adapt:
            self.continued_base = card.training.base
