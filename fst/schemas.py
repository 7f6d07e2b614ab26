"""Every command's config as Hydra sees it: structured configs that check each value's type as Hydra composes
the config (``size=abc`` and ``preserve_color=maybe`` are refused, and so is an unknown key), then
:func:`check_ranges` checks the ranges, each dataclass's ``check``.

stylize, export and the app are configs of their own, held in Hydra's ConfigStore: their options are the
dataclasses of fst/options.py (default, help and check in one place), and their one config group, ``temporal``,
is :class:`fst.options.TemporalOptions`. They see none of conf/'s training groups, so ``fst-stylize style=candy``
is a multi-style model's style, not the training group ``style``. The other commands' primary yaml files in conf/
start their defaults list with their schema here (``- train_schema``), whose fields are ``MISSING`` until the
yaml sets them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from fst.errors import FstError
from fst.options import REQUIRED, AppOptions, ExportOptions, StylizeOptions, TemporalOptions, option


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise FstError(message)


def _positive(name: str, value: int | float | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    _require(value is not None and value > 0, f"{name} must be > 0, got {value}")


@dataclass
class Schema:
    def check(self) -> None:
        """One-line FstError for a value out of range (types are Hydra's to check)."""


@dataclass
class StylizeSchema(StylizeOptions):
    """fst-stylize: its own options, then the stylizer's (fst/options.py)."""

    ckpt: str = option(REQUIRED, "a shipped model's name (fst-models lists them), a .safetensors export or a training .ckpt")
    input: str = option(REQUIRED, "an image, a folder (searched recursively), a video (mp4 m4v mov mkv webm avi) or a GIF")
    style: Any = option(None, "a multi-style model's style (candy) or mix (candy:0.3,udnie:0.7); fst-models "
                              "name=<model> lists them")
    output: Optional[str] = option(None, "a file (for one image) or a folder; default: stylized/<style>/")
    overwrite: bool = option(False, "replace existing outputs (inputs are never overwritten)")
    size: Optional[int] = option(None, "resize so the long side is this many pixels; null keeps the input size")
    batch_size: int = option(4, "images of the same size (or video frames) stylized together")
    temporal: Any = None


# Where stylize, export and the app write: the current folder, with no .hydra/ record beside the outputs.
IN_PLACE = {"run": {"dir": "."}, "output_subdir": None, "job": {"chdir": False}}


def _defaults(temporal: str | None) -> Any:
    groups = [{"temporal": temporal}] if temporal else []
    return field(default_factory=lambda: ["_self_", *groups, {"override hydra/job_logging": "stdout"}])


@dataclass
class StylizeConfig(StylizeSchema):
    defaults: list[Any] = _defaults("none")  # temporal: none (each frame alone) | flow (steady along the flow)
    hydra: Any = field(default_factory=lambda: IN_PLACE)


@dataclass
class ExportConfig(ExportOptions):
    defaults: list[Any] = _defaults(None)
    hydra: Any = field(default_factory=lambda: IN_PLACE)


@dataclass
class AppConfig(AppOptions):
    defaults: list[Any] = _defaults("flow")  # the page's steady paint; temporal=none hides the box
    temporal: Any = None
    hydra: Any = field(default_factory=lambda: IN_PLACE)


@dataclass
class OptimizationSchema(Schema):
    """conf/optimization/default.yaml: the per-image optimization baseline."""

    optimizer: str = MISSING
    steps: int = MISSING
    lr: Optional[float] = MISSING
    init: str = MISSING
    seed: int = MISSING

    def check(self) -> None:
        _require(self.optimizer in ("lbfgs", "adam"), f"optimizer={self.optimizer}: use lbfgs or adam")
        _positive("steps", self.steps)
        _positive("lr", self.lr, allow_none=True)
        _require(self.init in ("content", "noise"), f"init={self.init}: use content or noise")


@dataclass
class EvaluationBaselineSchema(OptimizationSchema):
    enabled: bool = MISSING


@dataclass
class EvaluateSchema(StylizeOptions):
    ckpts: Any = MISSING
    eval_dir: str = MISSING
    style_dir: str = MISSING
    max_images: Optional[int] = MISSING
    size: int = MISSING
    style_size: int = MISSING
    vgg_weights: Any = MISSING
    output: str = MISSING
    overwrite: bool = MISSING
    save_images: bool = MISSING
    record: bool = MISSING
    progress: bool = MISSING
    optimization: EvaluationBaselineSchema = field(default_factory=EvaluationBaselineSchema)
    paths: Any = MISSING
    logger: Any = None

    def check(self) -> None:
        super().check()
        _positive("size", self.size)
        _positive("style_size", self.style_size)
        _positive("max_images", self.max_images, allow_none=True)


@dataclass
class StyleSchema(Schema):
    name: str = MISSING
    image: str = MISSING
    size: Optional[int] = MISSING

    def check(self) -> None:
        _positive("style.size", self.size, allow_none=True)


@dataclass
class LossSchema(Schema):
    _target_: str = MISSING
    backbone: str = MISSING
    vgg_weights: str = MISSING
    content_layer: str = MISSING
    style_layers: dict[str, float] = MISSING
    content_weight: float = MISSING
    style_weight: float = MISSING
    tv_weight: float = MISSING
    temporal_weight: float = MISSING
    temporal_feature_weight: float = MISSING
    temporal_luminance: bool = MISSING
    temporal_both_frames: bool = MISSING


@dataclass
class OptimizeSchema(OptimizationSchema):
    content: str = MISSING
    size: Optional[int] = MISSING
    device: str = MISSING
    output: Optional[str] = MISSING
    overwrite: bool = MISSING
    progress: bool = MISSING
    style: StyleSchema = field(default_factory=StyleSchema)
    loss: LossSchema = field(default_factory=LossSchema)
    paths: Any = MISSING

    def check(self) -> None:
        super().check()
        _positive("size", self.size, allow_none=True)


@dataclass
class DataSchema(Schema):
    """conf/data/default.yaml: the types of fst.data.datamodule.ContentDataModule's options (it checks their ranges)."""

    _target_: str = MISSING
    train_dir: str = MISSING
    eval_dir: Optional[str] = MISSING
    image_size: int = MISSING
    batch_size: int = MISSING
    num_workers: int = MISSING
    pin_memory: bool = MISSING
    persistent_workers: bool = MISSING
    hflip: bool = MISSING
    color_jitter: float = MISSING
    eval_batch_size: int = MISSING
    eval_max_images: Optional[int] = MISSING
    painting_dir: Optional[str] = MISSING
    painting_size: int = MISSING


@dataclass
class PerformanceSchema(Schema):
    """The speed switches of fst.training.module.StyleTransferModule (conf/trainer/)."""

    channels_last: bool = MISSING
    compile: bool = MISSING
    activation_checkpointing: bool = MISSING
    check_finite_every_n_steps: int = MISSING

    def check(self) -> None:
        _positive("performance.check_finite_every_n_steps", self.check_finite_every_n_steps)


@dataclass
class TrainSchema(Schema):
    seed: Optional[int] = MISSING
    styles: Any = MISSING
    model_name: str = MISSING
    run_name: str = MISSING
    ckpt_path: Optional[str] = MISSING
    continue_from: Optional[str] = MISSING
    continue_warmup_steps: int = MISSING
    base: Optional[str] = MISSING
    start_from: Optional[str] = MISSING
    anchor_styles: Any = MISSING
    anchor_share: float = MISSING
    adapt_all: bool = MISSING
    adapt_shared_lr: Optional[float] = MISSING
    teachers: Any = MISSING
    distill_weight: float = MISSING
    skip_nonfinite_batches: int = MISSING
    num_samples: int = MISSING
    optimizer: Any = MISSING
    callbacks: Any = MISSING
    paths: Any = MISSING
    data: DataSchema = field(default_factory=DataSchema)
    model: Any = MISSING
    loss: LossSchema = field(default_factory=LossSchema)
    style: StyleSchema = field(default_factory=StyleSchema)
    scheduler: Any = None
    trainer: Any = MISSING
    performance: PerformanceSchema = field(default_factory=PerformanceSchema)
    logger: Any = None

    def check(self) -> None:
        _require(self.continue_warmup_steps >= 0, f"continue_warmup_steps must be >= 0, got {self.continue_warmup_steps}")
        _require(self.skip_nonfinite_batches >= 0, f"skip_nonfinite_batches must be >= 0, got {self.skip_nonfinite_batches}")
        _positive("adapt_shared_lr", self.adapt_shared_lr, allow_none=True)
        # Either would otherwise be ignored without a word.
        _require(not self.adapt_all or self.base, "adapt_all=true trains a new style on a multi-style model: add base=... (or experiment=adapt)")
        _require(
            self.adapt_shared_lr is None or self.adapt_all,
            "adapt_shared_lr is the shared weights' LR when they train too: add adapt_all=true (or drop adapt_shared_lr)",
        )
        _require(self.distill_weight >= 0, f"distill_weight must be >= 0, got {self.distill_weight}")
        _require(self.num_samples >= 0, f"num_samples must be >= 0, got {self.num_samples}")
        max_steps = self.trainer.get("max_steps") if isinstance(self.trainer, dict) else None
        whole = isinstance(max_steps, int) and not isinstance(max_steps, bool)
        _require(max_steps is None or (whole and max_steps > 0), f"trainer.max_steps must be > 0, got {max_steps}")


@dataclass
class ModelsSchema(Schema):
    name: Optional[str] = MISSING


# The schemas of the commands whose primary config is a yaml file in conf/, and the commands whose config is
# held here, by command.
SCHEMAS = {
    "train": TrainSchema,
    "evaluate": EvaluateSchema,
    "optimize": OptimizeSchema,
    "models": ModelsSchema,
}
STORED = {"stylize": StylizeConfig, "export": ExportConfig, "app": AppConfig}
STORED_GROUPS = {("temporal", "flow"): TemporalOptions}


def register_schemas() -> None:
    store = ConfigStore.instance()
    for name, schema in SCHEMAS.items():
        store.store(name=f"{name}_schema", node=schema)
    for name, config in STORED.items():
        store.store(name=name, node=config)
    store.store(group="temporal", name="none", node={})
    for (group, name), options in STORED_GROUPS.items():
        store.store(group=group, name=name, node=options)


def schema_of(config_name: str) -> type:
    """The dataclass that types a command's options."""
    return STORED.get(config_name) or SCHEMAS[config_name]


def check_ranges(cfg: DictConfig) -> None:
    """Check the range of every option of a composed config: a one-line FstError for the first one out of range."""
    _check(OmegaConf.to_object(cfg))


def _check(node: object) -> None:
    if dataclasses.is_dataclass(node):
        node.check()
        for item in dataclasses.fields(node):
            _check(getattr(node, item.name))
