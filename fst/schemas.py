"""The type and range of every command option: Hydra structured configs under the yaml files' values.

Each command's primary yaml starts its defaults list with its schema (``- stylize_schema``), so Hydra checks
every value's type as it composes the config (``size=abc`` and ``preserve_color=maybe`` are refused), and an
unknown key is refused too. :func:`check_ranges` then checks the ranges, each schema's ``check``.
The defaults themselves live in the yaml files only: every field here is ``MISSING`` until the yaml sets it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from fst.errors import FstError


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
class StylizerSchema(Schema):
    """conf/inference/stylizer/default.yaml (stylize, export, evaluate)."""

    device: str = MISSING
    precision: str = MISSING
    channels_last: Optional[bool] = MISSING
    compile: bool = MISSING
    tile_size: int = MISSING
    tile_overlap: int = MISSING
    stats_size: Optional[int] = MISSING
    strength: float = MISSING
    preserve_color: bool = MISSING
    stroke_size: Any = MISSING
    backend: str = MISSING
    calibration: str = MISSING
    calibration_size: int = MISSING

    def check(self) -> None:
        _require(self.precision in ("auto", "fp32", "bf16", "fp16", "int8"), f"precision={self.precision}: use auto, fp32, bf16, fp16 or int8")
        _require(self.backend in ("auto", "torch", "onnxruntime"), f"backend={self.backend}: use auto, torch or onnxruntime")
        _positive("calibration_size", self.calibration_size)
        _require(self.tile_size >= 64, f"tile_size must be >= 64, got {self.tile_size}")
        _require(0 <= self.tile_overlap <= self.tile_size // 2, f"tile_overlap must be between 0 and tile_size/2, got {self.tile_overlap}")
        _positive("stats_size", self.stats_size, allow_none=True)
        _require(0 <= self.strength <= 1, f"strength must be between 0 and 1, got {self.strength}")
        size = self.stroke_size
        _require(size == "auto" or (isinstance(size, (int, float)) and size > 0), f"stroke_size must be auto or a number > 0, got {size}")


@dataclass
class StylizeSchema(StylizerSchema):
    ckpt: str = MISSING
    input: str = MISSING
    style: Any = MISSING
    output: Optional[str] = MISSING
    overwrite: bool = MISSING
    size: Optional[int] = MISSING
    batch_size: int = MISSING
    temporal: Any = None

    def check(self) -> None:
        super().check()
        _positive("size", self.size, allow_none=True)
        _positive("batch_size", self.batch_size)


@dataclass
class ExportSchema(Schema):
    ckpt: str = MISSING
    format: str = MISSING
    style: Any = MISSING
    precision: str = MISSING
    output: Optional[str] = MISSING
    overwrite: bool = MISSING
    opset: int = MISSING
    calibration: str = MISSING
    calibration_size: int = MISSING

    def check(self) -> None:
        _require(self.format in ("onnx", "torchscript", "safetensors"), f"format={self.format}: use onnx, torchscript or safetensors")
        _require(self.precision in ("fp32", "fp16", "int8"), f"precision={self.precision}: use fp32, fp16 or int8")
        _positive("calibration_size", self.calibration_size)


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
class EvaluateSchema(StylizerSchema):
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

    def check(self) -> None:
        for name in ("content_weight", "style_weight", "tv_weight", "temporal_weight"):
            _require(getattr(self, name) >= 0, f"loss.{name} must be >= 0, got {getattr(self, name)}")


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
    """conf/data/default.yaml: fst.data.datamodule.ContentDataModule."""

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

    def check(self) -> None:
        for name in ("image_size", "batch_size", "eval_batch_size"):
            _positive(f"data.{name}", getattr(self, name))
        _require(self.num_workers >= 0, f"data.num_workers must be >= 0, got {self.num_workers}")
        _require(self.color_jitter >= 0, f"data.color_jitter must be >= 0, got {self.color_jitter}")
        _positive("data.eval_max_images", self.eval_max_images, allow_none=True)


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
        _require(max_steps is None or max_steps > 0, f"trainer.max_steps must be > 0, got {max_steps}")


@dataclass
class AppSchema(StylizerSchema):
    """conf/app.yaml: the web app."""

    host: str = MISSING
    port: Optional[int] = MISSING
    share: bool = MISSING
    models: Optional[str] = MISSING
    paintings: Optional[str] = MISSING
    size: Optional[int] = MISSING
    max_upload_mb: float = MISSING
    concurrency: int = MISSING
    queue_size: int = MISSING
    keep_minutes: float = MISSING
    batch_size: int = MISSING
    webcam_size: int = MISSING
    webcam_model: Optional[str] = MISSING
    temporal: Any = None

    def check(self) -> None:
        super().check()
        _require(self.port is None or 0 < self.port < 65536, f"port must be between 1 and 65535, got {self.port}")
        for name in ("size", "max_upload_mb", "concurrency", "queue_size", "keep_minutes", "batch_size", "webcam_size"):
            _positive(name, getattr(self, name), allow_none=name == "size")
        # The app builds a network per request, so each request would compile it again.
        _require(not self.compile, "compile=true does not suit the app: it builds the network anew for every request "
                                   "and would compile it each time; leave compile=false")


@dataclass
class ModelsSchema(Schema):
    name: Optional[str] = MISSING


SCHEMAS = {
    "train_schema": TrainSchema,
    "stylize_schema": StylizeSchema,
    "export_schema": ExportSchema,
    "evaluate_schema": EvaluateSchema,
    "optimize_schema": OptimizeSchema,
    "models_schema": ModelsSchema,
    "app_schema": AppSchema,
}


def register_schemas() -> None:
    store = ConfigStore.instance()
    for name, schema in SCHEMAS.items():
        store.store(name=name, node=schema)


def check_ranges(cfg: DictConfig) -> None:
    """Check the range of every option of a composed config: a one-line FstError for the first one out of range."""
    _check(OmegaConf.to_object(cfg))


def _check(node: object) -> None:
    if dataclasses.is_dataclass(node):
        node.check()
        for item in dataclasses.fields(node):
            _check(getattr(node, item.name))
