"""The pictures of a multi-style model: a gallery row per style, a strip mixing two styles, and the model beside the
one-style models of its styles.

    python tools/multi_style_figures.py --ckpt multi_style --photos a.jpg b.jpg c.jpg --gallery docs/multi_style_gallery.jpg
    python tools/multi_style_figures.py --ckpt multi_style --photos a.jpg --mix starry_night great_wave --strip docs/multi_style_mix.jpg
    python tools/multi_style_figures.py --ckpt multi_style_fast --photos a.jpg b.jpg --side-by-side docs/light_side_by_side.jpg
    python tools/multi_style_figures.py --ckpt arbitrary --photos a.jpg b.jpg --styles art/*.jpg --gallery gallery.jpg
    python tools/multi_style_figures.py --ckpt arbitrary --photos a.jpg --styles the_scream udnie \
        --adapted the_scream=runs/the_scream/adapt/the_scream.safetensors --compare held_out.jpg

The gallery has a row per style (--styles, or every style of the model): its painting (from --style-dir, where it
is there) and each photo in that style. A model that paints any painting also takes painting files as --styles.
The strip is one photo painted from the first style of --mix to the second in --steps steps (weights 1:0, 0.75:0.25,
... 0:1), the mixes `stylize style=a:0.75,b:0.25` paints. The side-by-side picture has a row per style: its painting,
then each photo painted by the shipped one-style model of that style and by this model. The comparison has a row per
--styles painting: the painting, then for each photo the photo, this model's painting of it (zero-shot, for a model
that paints any painting), an adapted model's (--adapted STYLE=MODEL) and the one-style model's (--one-style
STYLE=MODEL, by default the shipped model named STYLE); a model not given leaves a white tile. Photos are resized
(short side) and centre-cropped to --size. Each picture is written in the format of its name's suffix.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from PIL import Image

from fst.commands.cli import exit_on_user_error
from fst.data.datamodule import eval_transform
from fst.data.images import open_rgb
from fst.data.styles import find_style_image
from fst.errors import FstError
from fst.evaluation.report import labelled_grid
from fst.io import atomic_path
from fst.models import load_style_model, resolve_model, shipped_models
from fst.models.mixing import chosen_style


def paint(net: torch.nn.Module, photo: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """``photo`` painted by ``net``: in the style ``weights`` of a multi-style network, or by a one-style one."""
    inputs = (photo[None],) if weights is None else (photo[None], weights[None])
    with torch.no_grad():
        return net(*inputs)[0].clamp(0, 1)


def painting_tile(style_dir: Path, name: str, size: int) -> torch.Tensor:
    """The style's painting (a file, or the style's in ``style_dir``), centre-cropped to a square, or a white tile
    where ``style_dir`` lacks it."""
    try:
        path = Path(name) if Path(name).is_file() else find_style_image(style_dir, name)
        return eval_transform(size)(open_rgb(path))
    except FstError:
        print(f"no painting '{name}.*' in --style-dir {style_dir}: its tile stays white")
        return torch.ones(3, size, size)


def save(picture, path: Path) -> None:
    """Writes ``picture`` in the format its name asks for (JPEG at quality 90 unless PIL knows the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image_format = Image.registered_extensions().get(path.suffix.lower(), "JPEG")
    with atomic_path(path) as tmp:
        picture.save(tmp, format=image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    print(f"wrote {path} ({picture.width}x{picture.height})")


def style_painter(ref: str, style: str):
    """A function painting a photo in ``style`` with model ``ref`` (file or shipped name): a multi-style model's
    style of that name, or a one-style model."""
    net, card = load_style_model(resolve_model(ref, option=f"the model of {style}"))
    net = net.float().eval()
    weights = chosen_style(card, style, net=net)[0] if card.multi_style or card.arbitrary else None
    return lambda photo: paint(net, photo, weights)


def named_models(pairs: list[str] | None, option: str) -> dict[str, str]:
    """``STYLE=MODEL`` arguments as a dict."""
    models = {}
    for pair in pairs or []:
        style, sep, model = pair.partition("=")
        if not sep or not style or not model:
            raise FstError(f"{option} takes STYLE=MODEL (e.g. {option} udnie=runs/udnie/adapt/udnie.safetensors), got {pair!r}")
        models[style] = model
    return models


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="a multi-style model: file or shipped name")
    parser.add_argument("--photos", nargs="+", type=Path, required=True)
    parser.add_argument("--styles", nargs="+", help="the gallery's rows: styles of the model, or painting files for a "
                        "model that paints any painting (default: every style of the model)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--style-dir", type=Path, default=Path(os.environ.get("FST_DATA_DIR", "data")) / "styles")
    parser.add_argument("--gallery", type=Path, help="write the gallery (a row per style) here")
    parser.add_argument("--mix", nargs=2, metavar=("FROM", "TO"), help="the two styles of the strip")
    parser.add_argument("--steps", type=int, default=5, help="pictures in the strip, both ends included")
    parser.add_argument("--strip", type=Path, help="write the strip here (the first photo, --mix in --steps steps)")
    parser.add_argument("--side-by-side", type=Path,
                        help="write here each style's shipped one-style model beside this model, a row per style")
    parser.add_argument("--compare", type=Path, help="write here, a row per --styles painting: the painting, then each "
                        "photo, this model's painting of it, the adapted and the one-style model's")
    parser.add_argument("--adapted", nargs="+", metavar="STYLE=MODEL", help="the comparison's adapted models")
    parser.add_argument("--one-style", nargs="+", metavar="STYLE=MODEL",
                        help="the comparison's one-style models (default: the shipped model named STYLE)")
    args = parser.parse_args()
    adapted, one_style = named_models(args.adapted, "--adapted"), named_models(args.one_style, "--one-style")
    net, card = load_style_model(resolve_model(args.ckpt, option="--ckpt"))
    if not (card.multi_style or card.arbitrary):
        raise FstError(f"--ckpt {args.ckpt} paints one style; these pictures are of a multi-style model")
    if args.steps < 2:
        raise FstError(f"--steps must be at least 2 (both ends), got {args.steps}")
    if args.strip and not args.mix:
        raise FstError("--strip needs --mix FROM TO, two of the model's styles: " + ", ".join(card.style_names))
    missing = [str(p) for p in args.photos if not p.is_file()]
    if missing:
        raise FstError(f"--photos: no such file: {', '.join(missing)}")
    net = net.float().eval()
    names = card.style_names
    gallery_styles = args.styles or names
    weights_of = {spec: chosen_style(card, spec, net=net)[0] for spec in gallery_styles}  # checks each: one line if wrong
    photos = [eval_transform(args.size)(open_rgb(path)) for path in args.photos]
    if args.gallery:
        rows = [[torch.ones(3, args.size, args.size), *photos]]
        for spec in gallery_styles:
            rows.append([painting_tile(args.style_dir, spec, args.size), *(paint(net, p, weights_of[spec]) for p in photos)])
        columns = ["painting", *(p.stem for p in args.photos)]
        row_names = [Path(spec).stem if Path(spec).is_file() else spec for spec in gallery_styles]
        save(labelled_grid(rows, columns, row_names=["photo", *row_names]), args.gallery)
    if args.strip:
        first, second = args.mix
        steps = torch.linspace(0, 1, args.steps).tolist()
        mixes = [chosen_style(card, {first: 1 - t, second: t}, net=net)[0] for t in steps]
        labels = [first if t == 0 else second if t == 1 else f"{round(100 * (1 - t))} : {round(100 * t)}" for t in steps]
        row = [photos[0], *(paint(net, photos[0], weights) for weights in mixes)]
        save(labelled_grid([row], [args.photos[0].stem, *labels]), args.strip)
    if args.side_by_side:
        rows = [[torch.ones(3, args.size, args.size), *(p for p in photos for _ in range(2))]]
        for name in names:
            one_style = load_style_model(resolve_model(name, option=f"the one-style model of {name}"))[0].float().eval()
            weights = chosen_style(card, name, net=net)[0]
            pairs = [(paint(one_style, p), paint(net, p, weights)) for p in photos]
            rows.append([painting_tile(args.style_dir, name, args.size), *(image for pair in pairs for image in pair)])
        columns = ["painting", *(label for _ in args.photos for label in ("one-style model", card.name))]  # photos: top row
        save(labelled_grid(rows, columns, row_names=["photo", *names]), args.side_by_side)
    if args.compare:
        blank, rows, row_names = torch.ones(3, args.size, args.size), [], []
        for spec in gallery_styles:
            name = Path(spec).stem if Path(spec).is_file() else spec
            others = [adapted.get(name), one_style.get(name, name if name in shipped_models() else None)]
            painters = [style_painter(ref, name) if ref else None for ref in others]
            row = [painting_tile(args.style_dir, spec, args.size)]
            for photo in photos:
                row += [photo, paint(net, photo, weights_of[spec]), *(f(photo) if f else blank for f in painters)]
            rows.append(row)
            row_names.append(name)
        zero_shot = "zero-shot" if card.arbitrary else card.name
        columns = ["painting", *(label for _ in photos for label in ("photo", zero_shot, "adapted", "one-style"))]
        save(labelled_grid(rows, columns, row_names=row_names), args.compare)


if __name__ == "__main__":
    main()
