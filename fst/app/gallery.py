"""The styles the app offers: the shipped models, then the models of ``models=<folder>``, each with a thumbnail."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from matplotlib import cbook

from fst.data.images import IMAGE_EXTENSIONS, ImageLoadError, load_image, save_image
from fst.errors import FstError
from fst.inference.stylizer import Stylizer
from fst.models.card import ModelCard
from fst.models.mixing import chosen_style
from fst.models.serialization import load_style_model, read_card
from fst.models.zoo import shipped_models
from fst.options import AppOptions

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 256  # pixels, the long side
# A photo every install has (matplotlib's sample data: Grace Hopper, a US Navy photo in the public domain), painted
# by the models that have no painting to show.
SAMPLE_PHOTO = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@dataclass(frozen=True)
class StyleModel:
    """A model of the gallery: what the page and the API call it, its file, its card and its thumbnail."""

    name: str
    path: Path
    card: ModelCard
    thumbnail: Path

    @property
    def styles(self) -> list[str]:
        """The styles a multi-style model paints and mixes (a model that paints any painting: those it knows by
        name); empty for a one-style model."""
        return self.card.style_names if self.card.multi_style or self.card.arbitrary else []

    @property
    def caption(self) -> str:
        if self.card.arbitrary:
            return f"{self.name} (any painting)"
        return f"{self.name} ({len(self.styles)} styles)" if self.styles else self.name


def model_files(folder: str | None) -> dict[str, Path]:
    """The shipped models by name, then the ``.safetensors`` files under ``folder`` (by file name; a name already
    taken gets the file's path in the folder)."""
    models = dict(shipped_models())
    if folder is None:
        return models
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FstError(f"models={folder}: folder not found; give a folder of style models (.safetensors)")
    files = sorted(root.rglob("*.safetensors"), key=lambda path: (path.name, path))
    if not files:
        raise FstError(f"models={folder}: no style models (.safetensors) in it; train one or export one there")
    for path in files:
        name = path.stem if path.stem not in models else f"{root.name}/{path.relative_to(root).with_suffix('')}"
        models[name] = path
    return models


def _painting(folder: str | None, style: str) -> Path | None:
    """``<folder>/<style>.jpg`` (or another image type), when there is one."""
    if folder is None:
        return None
    found = [Path(folder).expanduser() / f"{style}{extension}" for extension in IMAGE_EXTENSIONS]
    return next((path for path in found if path.is_file()), None)


def thumbnail(path: Path, card: ModelCard, options: AppOptions, destination: Path) -> Path:
    """The painting of a one-style model (``options.paintings``), else the sample photo in the model's (first) style."""
    styles = card.style_names
    painting = _painting(options.painting_folder, styles[0]) if len(styles) == 1 else None
    try:
        image = load_image(painting, long_side=THUMBNAIL_SIDE) if painting else None
    except ImageLoadError as exc:
        log.warning("fst: %s; showing a sample of the style instead", exc)
        image = None
    if image is None:
        net, card = load_style_model(path)
        several = card.multi_style or card.arbitrary
        weights, _ = chosen_style(card, styles[0] if several else None, net=net)
        whole = options.stylizer_options(tile_size=max(options.tile_size, THUMBNAIL_SIDE))  # a thumbnail needs no tiles
        image = Stylizer(net, whole, style=weights)(load_image(SAMPLE_PHOTO, long_side=THUMBNAIL_SIDE)[None])[0]
    save_image(image, destination)
    return destination


def build_gallery(options: AppOptions, folder: Path) -> dict[str, StyleModel]:
    """Every model the app offers, by name, with its thumbnail written into ``folder``. Files under ``models=``
    that are not style models are skipped with a warning; no model at all is an error."""
    folder.mkdir(parents=True, exist_ok=True)
    gallery = {}
    for index, (name, path) in enumerate(model_files(options.models).items()):
        try:
            card = read_card(path)
        except FstError as exc:
            log.warning("fst: skipped %s", exc)
            continue
        gallery[name] = StyleModel(name, path, card, thumbnail(path, card, options, folder / f"{index}.jpg"))
    if not gallery:
        raise FstError(f"no style models to offer: none ship with this install and models={options.models} has none that load")
    if options.webcam_model is not None and options.webcam_model not in gallery:
        raise FstError(f"webcam_model={options.webcam_model} is not a model of this app; give one of {', '.join(gallery)} "
                       "(or webcam_model=null: the webcam runs the chosen model)")
    return gallery
