"""fst from Python: the shipped models by name, a loaded model that stylizes images, files and videos, and training.

    import fst
    fst.list_models()                                   # ['candy', 'composition_vii', ...]
    candy = fst.load("candy")                           # a shipped name or a model file
    painted = candy.stylize(Image.open("photo.jpg"), strength=0.8)
    candy.stylize_file("holiday.mp4", "holiday_candy.mp4")

Every mistake raises :class:`fst.FstError` with the one line the command line would print.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from fst.data.images import pil_to_tensor, tensor_to_pil
from fst.errors import FstError
from fst.inference.files import stylize as stylize_files
from fst.inference.stylizer import Stylizer
from fst.inference.temporal import TemporalBlend
from fst.models.card import ModelCard
from fst.models.mixing import chosen_style
from fst.models.serialization import load_style_model, read_card
from fst.models.zoo import resolve_model, shipped_models
from fst.options import StylizeOptions, TemporalOptions

Picture = Image.Image | np.ndarray | torch.Tensor


def list_models() -> list[str]:
    """The names of the models that ship with fst (``fst-models`` describes them)."""
    return list(shipped_models())


def load(model: str | Path) -> Model:
    """A style model: a shipped model's name (:func:`list_models`), a ``.safetensors`` export or a training ``.ckpt``."""
    path = resolve_model(model, option="model")
    return Model(path, read_card(path))


def _options(values: Mapping[str, Any]) -> StylizeOptions:
    known = [item.name for item in dataclasses.fields(StylizeOptions)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise FstError(f"unknown stylize option '{unknown[0]}'; the options are style, size, {', '.join(known)}")
    return StylizeOptions(**values)


class Model:
    """A style model, loaded once; its stylizer is kept for the options of the last call (compiling or quantizing a
    network is slow, so calls with the same options reuse it)."""

    def __init__(self, path: Path, card: ModelCard):
        self.path, self.card = path, card
        self._net: torch.nn.Module | None = None
        self._stylizer: tuple[tuple, Stylizer] | None = None

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def styles(self) -> list[str]:
        """The styles of a multi-style model (``style=`` picks or mixes them); ``[name]`` for a one-style model."""
        return list(self.card.style_names)

    @property
    def multi_style(self) -> bool:
        return self.card.multi_style

    def __repr__(self) -> str:
        return f"fst.Model({self.name!r}, {self.card.architecture}, styles={self.styles}, file={str(self.path)!r})"

    def stylizer(self, style: str | Mapping[str, float] | None = None, **options) -> Stylizer:
        """The engine behind :meth:`stylize`, for batches of (B, 3, H, W) tensors in [0, 1]."""
        options = _options(options)
        if self._net is None and self.card.arbitrary:  # it encodes the painting
            self._net, _ = load_style_model(self.path)
        weights, _ = chosen_style(self.card, style, net=self._net)
        key = (dataclasses.astuple(options), None if weights is None else tuple(weights.tolist()))
        if self._stylizer is None or self._stylizer[0] != key:
            if self._net is None:
                self._net, _ = load_style_model(self.path)
            self._stylizer = key, Stylizer(self._net, options, style=weights)
        return self._stylizer[1]

    def stylize(self, image: Picture, style: str | Mapping[str, float] | None = None, size: int | None = None,
                **options) -> Picture:
        """The image painted in this model's style, of the same type (PIL image, numpy array or tensor) and size
        (``size``: resized first so that its long side is that many pixels, as fst-stylize's ``size=``).

        ``style`` picks a multi-style model's style or mix (``"candy"``, ``"candy:0.3,udnie:0.7"`` or
        ``{"candy": 0.3, "udnie": 0.7}``); ``options`` are fst-stylize's (:class:`fst.StylizeOptions`: strength,
        preserve_color, precision, stroke_size, tile_size, device, ...). A PIL image or a uint8 array gives the
        same pixels as fst-stylize writes for the same options; float arrays ((H, W, 3)) and tensors ((3, H, W) or
        (B, 3, H, W)) hold values in [0, 1].
        """
        if isinstance(image, np.ndarray) and image.dtype == np.uint8:  # as the picture file it would be
            return np.asarray(self.stylize(Image.fromarray(image), style, size, **options))
        if size is not None and size <= 0:
            raise FstError(f"size must be > 0, got {size}")
        stylizer = self.stylizer(style, **options)
        if isinstance(image, Image.Image):
            return tensor_to_pil(stylizer(pil_to_tensor(image, long_side=size)[None])[0])
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3:
                raise FstError(f"a float array must be (height, width, 3) in [0, 1], got shape {image.shape}")
            batch = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
            return stylizer(_resized(batch, size))[0].permute(1, 2, 0).numpy().astype(image.dtype)
        if isinstance(image, torch.Tensor):
            if image.ndim not in (3, 4) or image.shape[-3] != 3:
                raise FstError(f"a tensor must be (3, H, W) or (B, 3, H, W) in [0, 1], got shape {tuple(image.shape)}")
            batch = image if image.ndim == 4 else image[None]
            result = stylizer(_resized(batch.float(), size)).to(image.dtype if image.is_floating_point() else torch.float32)
            return result if image.ndim == 4 else result[0]
        raise FstError(f"stylize takes a PIL image, a numpy array or a torch tensor, not {type(image).__name__}")

    def stylize_file(self, input: str | Path, output: str | Path | None = None, style: str | Mapping[str, float] | None = None,
                     size: int | None = None, batch_size: int = 4, overwrite: bool = False,
                     temporal: bool | TemporalOptions = False, **options) -> list[Path]:
        """fst-stylize: an image, a folder (its layout kept), a video (its audio kept) or a GIF into files; returns
        the files written. ``output`` defaults to ``stylized/<style>/``; ``temporal`` steadies videos along the
        optical flow, as fst-stylize's ``temporal=flow``: ``True`` with its default options, or
        ``fst.TemporalOptions(strength=0.5, ...)``."""
        if temporal is True:
            temporal = TemporalOptions()
        blend = TemporalBlend(**dataclasses.asdict(temporal)) if temporal else None
        return stylize_files(self.path, input, output, style=style, size=size, batch_size=batch_size,
                             overwrite=overwrite, blend=blend, options=_options(options))


def _resized(batch: torch.Tensor, long_side: int | None) -> torch.Tensor:
    """A float batch resized (antialiased, bicubic) so that its long side is ``long_side``."""
    if long_side is None:
        return batch
    height, width = batch.shape[-2:]
    size = [max(1, round(side * long_side / max(height, width))) for side in (height, width)]
    return TF.resize(batch, size, interpolation=TF.InterpolationMode.BICUBIC, antialias=True).clamp(0, 1)


def train(overrides: Sequence[str] = ()) -> Path:
    """Train a style model as ``fst-train`` would with these ``key=value`` options; returns the model file.

        fst.train(["style=candy", "trainer.max_steps=2000"])
    """
    from fst.commands.train import train_with

    return train_with(list(overrides))
