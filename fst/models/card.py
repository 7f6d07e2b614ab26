"""The model card: what a style-model file records about its network, its styles, and how it was made.

One typed definition for every kind of style model. Exports (``.safetensors``) keep it as JSON in their
metadata, Lightning checkpoints in their ``fst`` section; :func:`fst.models.serialization.load_style_model` reads
either. Files written before the card existed (format 1) are read into a card too.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from fst import __version__
from fst.errors import FstError

FORMAT = "fst-style-model"
FORMAT_VERSION = 2


@dataclass(frozen=True)
class StyleSpec:
    """One painting the model paints.

    Args:
        name: the style's name (``conf/style/<name>.yaml``, ``<data_dir>/styles/<name>.jpg``).
        size: the painting's long side, in pixels, when its Gram matrices were computed.
        style_weight: this style's loss weight where it differs from ``LossSpec.style_weight``.
    """

    name: str
    size: int | None = None
    style_weight: float | None = None


@dataclass(frozen=True)
class LossSpec:
    """The perceptual loss the model was trained against (so evaluation measures what training optimized)."""

    backbone: str
    content_layer: str
    style_layers: dict[str, float]
    content_weight: float
    style_weight: float
    tv_weight: float
    # The stability terms' (fst.losses.stability); older cards have none.
    temporal_weight: float = 0.0
    temporal_feature_weight: float = 0.0
    temporal_luminance: bool = False
    temporal_both_frames: bool = False

    def weight_for(self, style: StyleSpec) -> float:
        """The style weight of one of the model's styles."""
        return self.style_weight if style.style_weight is None else style.style_weight

    def for_style(self, style: StyleSpec) -> dict[str, Any]:
        """The loss options for one of the model's styles (``PerceptualLoss(**options, vgg_weights=...)``)."""
        return dataclasses.asdict(self) | {"style_weight": self.weight_for(style)}

    def layers_text(self) -> str:
        """E.g. ``vgg16: content relu2_2, style relu1_2 x1, relu2_2 x1``."""
        styles = ", ".join(f"{name} x{weight:g}" for name, weight in self.style_layers.items())
        return f"{self.backbone}: content {self.content_layer}, style {styles}"


@dataclass(frozen=True)
class TrainingRecord:
    """How the model was trained. ``batch_size`` counts images per optimizer step over all devices."""

    steps: int
    max_steps: int | None = None  # where the run was going (trainer.max_steps)
    image_size: int | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    lr: float | None = None  # the starting learning rate
    lr_scheduler: str | None = None
    precision: str | None = None
    seconds: float | None = None  # wall time summed over every resumed run
    hardware: str | None = None
    base: str | None = None  # the model it was adapted from, when it was (experiment=adapt)
    teachers: tuple[str, ...] | None = None  # the models it was distilled from, one per style (teachers=...)
    distill_weight: float | None = None  # the weight of their term

    def __post_init__(self):
        if self.teachers is not None:  # a JSON list when read back
            object.__setattr__(self, "teachers", tuple(self.teachers))

    @property
    def images_seen(self) -> int | None:
        return self.steps * self.batch_size if self.batch_size else None


@dataclass(frozen=True)
class Evaluation:
    """Means over held-out photos, as ``evaluate.py`` measures them (losses are the training definitions)."""

    photos: int
    size: int
    content: float
    style: float
    ssim: float
    psnr: float
    seconds: float  # stylization time per image
    device: str  # where the time was measured, e.g. "CPU: AMD EPYC (2 cores), fp32"


@dataclass(frozen=True)
class Quantization:
    """How an INT8 model was quantized and calibrated (:mod:`fst.export.quantize`)."""

    toolchain: str  # e.g. "onnxruntime 1.32.0, static QDQ"
    calibration: str  # the folder of photos that set the activation ranges
    photos: int
    size: int  # the side of the square centre crops calibrated on
    method: str  # how ranges were taken from the calibration activations, e.g. "Percentile"
    weights: str  # e.g. "int8, symmetric, per output channel"
    activations: str  # e.g. "uint8, asymmetric, per tensor"
    quantized: str  # what runs in INT8, e.g. "12 of 16 convolutions"
    kept_float: tuple[str, ...]  # the layers left in float, by module name


@dataclass(frozen=True)
class ModelCard:
    """Everything needed to rebuild, use and evaluate a style model.

    Args:
        name: the model's name (its file's stem when trained: the style, or e.g. ``multi_style``).
        architecture: the registry key of its network (:mod:`fst.models.registry`).
        network: the options that rebuild the network: ``build_network(architecture, network)``.
        styles: the styles it paints, in the order of its style inputs.
        loss: the loss it was trained against (``None`` only for checkpoints from before fst recorded it).
        training: the training recipe and its cost.
        evaluation: figures from ``evaluate.py record=true`` for each style measured, by style name.
        quantization: how an INT8 export was made (``None`` for float models).
    """

    name: str
    architecture: str
    network: dict[str, Any]
    styles: tuple[StyleSpec, ...]
    loss: LossSpec | None
    training: TrainingRecord
    evaluation: dict[str, Evaluation] = field(default_factory=dict)
    quantization: Quantization | None = None
    fst_version: str = __version__
    format_version: int = FORMAT_VERSION

    @property
    def multi_style(self) -> bool:
        """Whether the network paints several styles (a conditional network, with style weights as an input)."""
        return self.network.get("num_styles") is not None

    @property
    def arbitrary(self) -> bool:
        """Whether the network paints any painting (fst.models.arbitrary_net): style vectors from painting files."""
        return "embedding_size" in self.network

    @property
    def style_names(self) -> list[str]:
        return [style.name for style in self.styles]

    def replace(self, **changes) -> ModelCard:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        version = data.get("format_version")
        if not isinstance(version, int):
            raise FstError("the model card has no format_version")
        if version > FORMAT_VERSION:
            raise FstError(f"the model card is format {version}, newer than this fst reads ({FORMAT_VERSION}); upgrade fst")
        try:
            styles = tuple(_build(StyleSpec, s) for s in data["styles"])
            return cls(
                name=data.get("name") or "+".join(style.name for style in styles),
                architecture=data["architecture"],
                network=dict(data["network"]),
                styles=styles,
                loss=_build(LossSpec, data["loss"]) if data.get("loss") else None,
                training=_build(TrainingRecord, data["training"]),
                evaluation={style: _build(Evaluation, figures) for style, figures in (data.get("evaluation") or {}).items()},
                quantization=_build(Quantization, data["quantization"]) if data.get("quantization") else None,
                fst_version=data.get("fst_version", "?"),
                format_version=version,
            )
        except (KeyError, TypeError) as exc:
            raise FstError(f"the model card is incomplete or malformed ({type(exc).__name__}: {exc})") from None

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FstError(f"the model card is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def _build(cls, data: dict[str, Any]):
    """A card section from its dict; keys from a newer fst that this one does not know are ignored."""
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


# --- format 1: the flat metadata of exports and checkpoints written by fst 0.1 ----------------------------


def card_from_v1(metadata: dict[str, Any], steps: int | None = None) -> ModelCard:
    """Read fst 0.1's flat metadata (exports) or ``fst`` checkpoint section into a card.

    Exports recorded ``model_config``, ``style``, ``steps``, ``loss`` and the training sizes and cost as
    strings; Lightning checkpoints only ``model_config`` and ``style`` (their step is ``global_step``).
    Every fst 0.1 network was a TransformerNet and every loss a VGG16 one.
    """
    try:
        network = _json_field(metadata["model_config"])
        style = metadata["style"]
    except KeyError as exc:
        raise FstError(f"it lacks the {exc.args[0]!r} record of an fst style model") from None
    loss = _json_field(metadata["loss"]) if metadata.get("loss") else None
    optimizer = _json_field(metadata["optimizer"]) if metadata.get("optimizer") else {}
    training = TrainingRecord(
        steps=int(metadata.get("steps", steps or 0)),
        image_size=_int_or_none(metadata.get("image_size")),
        batch_size=_int_or_none(metadata.get("batch_size")),
        optimizer=optimizer.get("name"),
        lr=optimizer.get("lr"),
        lr_scheduler=optimizer.get("lr_scheduler"),
        seconds=float(metadata["train_seconds"]) if metadata.get("train_seconds") is not None else None,
        hardware=metadata.get("hardware"),
    )
    return ModelCard(
        name=style,
        architecture="transformer_net",
        network=network,
        styles=(StyleSpec(name=style, size=_int_or_none(metadata.get("style_size"))),),
        loss=LossSpec(backbone="vgg16", **loss) if loss else None,
        training=training,
        fst_version=metadata.get("fst_version", "0.1.0"),
    )


def _json_field(value):
    return json.loads(value) if isinstance(value, str) else value


def _int_or_none(value) -> int | None:
    return int(value) if value not in (None, "") else None


def describe(card: ModelCard) -> list[tuple[str, str]]:
    """The card as (field, value) rows for people: ``fst-models <name>``."""
    t = card.training
    rows = [
        ("architecture", f"{card.architecture} {json.dumps(card.network)}"),
        ("styles", ", ".join(s.name + (f" (painting at {s.size} px)" if s.size else "") for s in card.styles)),
    ]
    if card.loss:
        weights = [card.loss.weight_for(s) for s in card.styles]
        loss_weights = (f"content {card.loss.content_weight:g}, style {', '.join(f'{w:g}' for w in weights)}, "
                        f"total variation {card.loss.tv_weight:g}")
        if card.loss.temporal_weight:  # trained for video (fst.losses.stability)
            loss_weights += f", temporal {card.loss.temporal_weight:g}"
        if card.loss.temporal_feature_weight:
            loss_weights += f", temporal features {card.loss.temporal_feature_weight:g}"
        rows += [("loss", card.loss.layers_text()), ("loss weights", loss_weights)]
    recipe = f"{t.steps} steps"
    if t.batch_size:
        recipe += f" at batch {t.batch_size} ({t.images_seen} images)"
    if t.image_size:
        recipe += f", {t.image_size} px crops"
    if t.optimizer:
        recipe += f"; {t.optimizer} lr {t.lr:g}" + (f", {t.lr_scheduler}" if t.lr_scheduler else "")
    if t.base:
        recipe += f"; adapted from {t.base}"
    if t.teachers:
        recipe += f"; distilled from {', '.join(t.teachers)}" + (f" at {t.distill_weight:g}" if t.distill_weight else "")
    rows.append(("training", recipe))
    cost = ", ".join(x for x in [f"{t.seconds / 3600:.1f} h" if t.seconds is not None else "", t.precision or "", t.hardware or ""] if x)
    if cost:
        rows.append(("training cost", cost))
    for style, e in card.evaluation.items():
        rows.append((
            "evaluation" if len(card.styles) == 1 else f"evaluation: {style}",
            f"{e.photos} photos at {e.size} px: content {e.content:.3f}, style {e.style:.3f}, SSIM {e.ssim:.3f}, "
            f"PSNR {e.psnr:.2f} dB, {e.seconds:.3f} s/image on {e.device}",
        ))
    if q := card.quantization:
        rows.append(("quantization", f"{q.toolchain}: {q.quantized} in INT8 ({q.weights} weights, {q.activations} "
                                     f"activations), calibrated on {q.photos} photos at {q.size} px from {q.calibration} "
                                     f"({q.method}); float: {', '.join(q.kept_float)}"))
    rows.append(("trained with", f"fst {card.fst_version} (card format {card.format_version})"))
    return rows
