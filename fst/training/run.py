"""A training run as ``conf/train.yaml`` describes it: build everything, resume or continue, fit, export."""

from __future__ import annotations

import dataclasses
import signal
import sys
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import LearningRateMonitor, TQDMProgressBar
from pytorch_lightning.utilities import rank_zero_warn
from pytorch_lightning.utilities.exceptions import SIGTERMException

from fst.config import build
from fst.data.styles import load_style_image
from fst.errors import FstError
from fst.hardware import cpu_has_fast_bf16
from fst.losses.perceptual import PerceptualLoss
from fst.messages import say
from fst.models.arbitrary_net import (
    ENCODER_SIZE,
    ArbitraryStyleNet,
    at_encoder_size,
    painting_statistics,
    start_from_multi_style,
    to_multi_style,
)
from fst.models.card import StyleSpec
from fst.models.conditional_net import add_styles, is_multi_style, to_single_style
from fst.models.mixing import chosen_style
from fst.models.serialization import load_style_model
from fst.models.zoo import resolve_model
from fst.training.callbacks import ExportStyleModel
from fst.training.checkpoint_io import AtomicCheckpointIO
from fst.training.checks import (
    build_callback,
    build_trainer,
    check_seed,
    check_trainer,
    optimizer_factory,
    scheduler_factory,
)
from fst.training.loggers import build_logger, log_config
from fst.training.module import Adaptation, StyleTransferModule
from fst.training.resume import (
    check_resume_files,
    continue_from_export,
    override_key,
    resolve_resume_path,
    start_at_step,
)
from fst.training.styles import known_style_settings, training_styles

PAINTINGS_TO_NORMALIZE = 64  # corpus paintings whose statistics set the style encoder's input normalization

# Notices that tell a user of fst nothing: the frozen VGG stays in eval mode on purpose; the CSV logger adds to a
# resumed run's folder (fst.training.loggers.ResumableCSVLogger keeps its history); Lightning's model summary
# cannot count FLOPs under bf16; and a deprecation inside Lightning itself.
QUIET = [
    r".*module\(s\) in eval mode.*",
    r"Experiment logs directory .* exists and is not empty",
    r".*is not supported by the model summary.*",
    r".*isinstance\(treespec, LeafSpec\).*",
]


def check_overrides_apply(cfg: DictConfig, asked: list[str]) -> None:
    """One-line error for a command-line override this run would ignore without a word."""
    keys = [override_key(override) for override in asked]
    if cfg.base:  # the network and the loss are the base model's, so its styles keep painting as they were trained
        allowed = ("loss.style_weight", "loss.vgg_weights")
        ignored = [k for k in keys if k.split(".")[0] in ("model", "loss") and k not in allowed]
        if ignored:
            raise FstError(
                f"{ignored[0]}: base={cfg.base} brings its own network and loss, so this would be ignored; drop it "
                "(loss.style_weight sets the new style's weight)"
            )
    elif cfg.styles and all(isinstance(entry, str) for entry in cfg.styles):
        ignored = [k for k in keys if k == "loss.style_weight" or k.split(".")[0] == "style"]
        if ignored:
            raise FstError(
                f"{ignored[0]} would be ignored: each of styles=[...] takes its painting, size and weight from "
                "conf/style/<name>.yaml; give yours per style, e.g. styles=[{name: candy, style_weight: 5.0e4},udnie]"
            )


def build_module(cfg: DictConfig, styles: list[tuple[StyleSpec, torch.Tensor]]) -> StyleTransferModule:
    """The LightningModule of ``cfg``: network, loss, the styles and their paintings, optimizer and speed switches."""
    specs, images = [spec for spec, _ in styles], [image for _, image in styles]
    optimizer, scheduler = optimizer_factory(cfg.optimizer), scheduler_factory(cfg.get("scheduler"))  # an optional group
    if cfg.base:
        net, criterion, specs, adapt = adaptation(cfg, specs, images)
    else:
        model = cfg.model.copy()
        if cfg.styles and "num_styles" not in model and "known_styles" not in model:  # else it would train the first alone
            raise FstError("styles=[...] trains its styles in one conditional network: add experiment=multi_style")
        if "num_styles" in model:  # a conditional network paints the run's styles (its yaml leaves it null)
            model.num_styles = len(specs)
        if "known_styles" in model:  # a network that paints any painting knows the run's styles by name
            model.known_styles = len(specs)
        net, criterion, adapt = build(model), build(cfg.loss), None
    return StyleTransferModule(
        name=cfg.model_name,
        net=net,
        criterion=criterion,
        styles=specs,
        style_images=images,
        adapt=adapt,
        optimizer=optimizer,
        scheduler=scheduler,
        num_samples=cfg.num_samples,
        skip_nonfinite_batches=cfg.skip_nonfinite_batches,
        teachers=load_teachers(cfg.teachers, [spec for spec, _ in styles]) if cfg.teachers else None,
        teacher_names=tuple(str(ref) for ref in cfg.teachers or ()),
        distill_weight=cfg.distill_weight,
        anchors=anchor_positions(cfg.anchor_styles, specs),
        anchor_share=cfg.anchor_share,
        **cfg.performance,
    )


def adaptation(cfg: DictConfig, new: list[StyleSpec], images: list[torch.Tensor]) -> tuple[torch.nn.Module, PerceptualLoss, list[StyleSpec], Adaptation]:
    """The network, loss and styles of a run that learns ``new`` styles (``images``: their paintings) on the
    multi-style model ``cfg.base``.

    The network is the base's with a scale and shift more per new style, starting at the mean of the base's styles,
    or, on a model that paints any painting, at what its style encoder predicts from the painting; the loss is the
    one the base was trained with (so the model's card stays true for every style), each new style with this run's
    style weight.
    """
    base, card = load_style_model(resolve_model(cfg.base, option="base"))
    if not (card.multi_style or card.arbitrary) or card.loss is None:
        raise FstError(f"base={cfg.base} is a one-style model; adaptation starts from a multi-style one (experiment=multi_style)")
    clash = sorted({spec.name for spec in new} & set(card.style_names))
    if clash:
        raise FstError(f"base={cfg.base} already paints {', '.join(clash)}; name the new style otherwise (style.name=...)")
    new = [spec if spec.style_weight is not None else dataclasses.replace(spec, style_weight=cfg.loss.style_weight) for spec in new]
    loss = dataclasses.asdict(card.loss) | {"vgg_weights": cfg.loss.vgg_weights}
    criterion = build(OmegaConf.create({"_target_": cfg.loss._target_, **loss}))
    if card.arbitrary:  # its known styles, then each new one as the encoder predicts it from its painting
        with torch.no_grad():
            vectors = [base.style_vector(base.known_statistics), *(base.encode(at_encoder_size(i))[None] for i in images)]
        grown = to_multi_style(base, torch.cat(vectors))
    else:
        grown = add_styles(base, len(new))
    indices = tuple(range(len(card.styles), len(card.styles) + len(new)))
    lineage = f"{card.name} ({card.training.steps} steps)"
    if card.training.base:  # an adapted model adapted further: the card keeps the whole chain
        lineage += f", adapted from {card.training.base}"
    shared_lr = (cfg.adapt_shared_lr or cfg.optimizer.lr / 10) if cfg.adapt_all else None
    adapt = Adaptation(lineage, indices, shared_lr=shared_lr)
    return grown, criterion, [*card.styles, *new], adapt


def start_arbitrary_network(cfg: DictConfig, net: torch.nn.Module, criterion: PerceptualLoss, datamodule) -> None:
    """``net`` (experiment=arbitrary) painting the styles of the multi-style model ``cfg.start_from`` as it does."""
    if not isinstance(net, ArbitraryStyleNet):
        raise FstError("start_from starts a network that paints any painting: add experiment=arbitrary")
    base, card = load_style_model(resolve_model(cfg.start_from, option="start_from"))
    if not card.multi_style:
        raise FstError(f"start_from={cfg.start_from} is a one-style model; give a multi-style one (e.g. multi_style)")
    paintings = getattr(datamodule, "painting_paths", None)
    if not paintings:
        raise FstError("experiment=arbitrary trains on a folder of paintings: set data.painting_dir (docs/paintings.md)")
    generator = torch.Generator().manual_seed(0)
    sample = [paintings[i] for i in torch.randperm(len(paintings), generator=generator)[:PAINTINGS_TO_NORMALIZE].tolist()]
    base_paintings = [known_style_settings(name, cfg)["image"] for name in card.style_names]

    def statistics(files) -> torch.Tensor:
        return torch.cat([painting_statistics(criterion.vgg, load_style_image(f, ENCODER_SIZE)) for f in files])

    start_from_multi_style(net, base, statistics(base_paintings), statistics(sample))
    say(f"starting from {cfg.start_from}'s {len(card.styles)} styles ({', '.join(card.style_names)})")


def anchor_positions(names: list[str], styles: list[StyleSpec]) -> tuple[int, ...]:
    """The positions of ``anchor_styles`` among the run's styles."""
    known = [style.name for style in styles]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise FstError(f"anchor_styles: {unknown[0]} is not one of the run's styles ({', '.join(known)})")
    return tuple(known.index(name) for name in names)


def load_teachers(refs: list[str], styles: list[StyleSpec]) -> list[torch.nn.Module]:
    """The one-style models to distil from, one per style and in the styles' order (names or files).

    A multi-style model teaches each of its styles through the one-style network it holds for it: one such model
    (``teachers=[multi_style]``) teaches every style of the run, which is how a multi-style model anchors itself.
    """
    loaded = {str(ref): load_style_model(resolve_model(ref, option=f"teachers[{index}]")) for index, ref in enumerate(refs)}
    if len(refs) == 1 and is_multi_style(loaded[str(refs[0])][0]):
        refs = list(refs) * len(styles)
    if len(refs) != len(styles):
        raise FstError(f"teachers: {len(refs)} models for {len(styles)} styles; give one per style, in order")
    teachers = []
    for index, (ref, style) in enumerate(zip(refs, styles)):
        net, card = loaded[str(ref)]
        if style.name not in card.style_names:
            raise FstError(f"teachers[{index}] ({ref}) paints {'+'.join(card.style_names)}, not the style {style.name}; "
                           "order them as styles")
        teachers.append(to_single_style(net, chosen_style(card, style.name, net=net)[0]) if is_multi_style(net) else net)
    return teachers


def warn_if_bf16_is_emulated(trainer: pl.Trainer) -> None:
    if trainer.strategy.root_device.type == "cpu" and "bf16" in str(trainer.precision) and not cpu_has_fast_bf16():
        rank_zero_warn(
            "fst: this CPU has no native bf16 (AVX-512 or AMX), so bf16-mixed runs over 10x slower than fp32 here; "
            "set trainer.precision=32 (trainer=cpu picks it by itself)"
        )


def _callbacks(cfg: DictConfig, logger) -> list[pl.Callback]:
    callbacks = [build_callback(name, c) for name, c in cfg.callbacks.items() if c]
    if not logger:  # Lightning refuses an LR monitor without a logger
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    if not cfg.trainer.enable_progress_bar:
        callbacks = [c for c in callbacks if not isinstance(c, TQDMProgressBar)]
    return callbacks


def train(cfg: DictConfig) -> Path | None:
    """Train as ``cfg`` says; return the path of the exported style model."""
    with warnings.catch_warnings():
        for message in QUIET:
            warnings.filterwarnings("ignore", message=message)
        return _train(cfg)


def _train(cfg: DictConfig) -> Path | None:
    check_seed(cfg.seed)
    check_trainer(cfg.trainer)
    if cfg.seed is not None:
        pl.seed_everything(cfg.seed, workers=True)
    if cfg.trainer.max_steps <= 0:
        raise FstError(f"trainer.max_steps must be > 0, got {cfg.trainer.max_steps}")
    check_resume_files(cfg.ckpt_path, cfg.continue_from)
    asked = HydraConfig.get().overrides.task if HydraConfig.initialized() else None  # None: called as a library
    if asked is not None:
        check_overrides_apply(cfg, asked)
    # Cheap checks first: the paintings and data folders fail before the VGG is built.
    styles = training_styles(cfg)
    datamodule = build(cfg.data)
    module = build_module(cfg, styles)
    if getattr(datamodule, "painting_paths", None) and not module.arbitrary:
        raise FstError("data.painting_dir trains a network that paints any painting: add experiment=arbitrary")
    if cfg.start_from:
        start_arbitrary_network(cfg, module.net, module.criterion, datamodule)
        module.shared_lr = cfg.optimizer.lr / 10  # trained convolutions take an adaptation's smaller steps
    module.command_overrides = list(asked) if asked is not None else None
    ckpt_path = resolve_resume_path(cfg.ckpt_path, Path(cfg.paths.output_dir), module, cfg, asked)
    start_step = 0
    if cfg.continue_from:
        if ckpt_path:  # a checkpoint of the continued run itself is further along, with Adam's state
            say(f"resuming from {ckpt_path}; continue_from is ignored")
        else:
            start_step = continue_from_export(cfg.continue_from, module, cfg.trainer.max_steps)
            module.lr_warmup_steps = cfg.continue_warmup_steps
    logger = build_logger(cfg.get("logger"))  # logger=none leaves the group empty
    log_config(logger, cfg)
    callbacks = _callbacks(cfg, logger)
    trainer = build_trainer(
        cfg.trainer,
        logger=logger,
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        default_root_dir=cfg.paths.output_dir,
    )
    warn_if_bf16_is_emulated(trainer)
    if start_step:
        start_at_step(trainer, start_step)
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    except SIGTERMException:  # checkpoint already saved by CheckpointOnInterrupt
        sys.exit(128 + signal.SIGTERM)  # the usual status of a process ended by SIGTERM
    exports = [c for c in callbacks if isinstance(c, ExportStyleModel)]
    return exports[0].path if exports else None
