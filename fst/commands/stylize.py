"""``fst-stylize`` / ``python scripts/stylize.py ckpt=starry_night input=photo.jpg``: stylize images, folders,
videos and GIFs (its options: fst/schemas.py StylizeSchema and fst.options.StylizeOptions)."""

import dataclasses
import os
from pathlib import Path

from omegaconf import DictConfig

from fst.commands.cli import command
from fst.config import options_of, plain
from fst.options import StylizeOptions, TemporalOptions

EXAMPLES = [
    "fst-stylize ckpt=candy input=photo.jpg                  # -> stylized/candy/photo.jpg",
    "fst-stylize ckpt=candy input=holiday/ size=1024         # a folder, long side 1024 px",
    "fst-stylize ckpt=candy input=clip.mp4 compile=true      # a video, its audio kept",
    "fst-stylize ckpt=multi_style style=candy:0.3,udnie:0.7 input=photo.jpg   # a mix of styles",
    "fst-stylize ckpt=candy input=photo.jpg strength=0.6 preserve_color=true",
]


def stylize_config(cfg: DictConfig) -> list[Path]:
    """The Python API's :meth:`fst.Model.stylize_file` with the arguments a composed fst-stylize config gives."""
    # The library (torch and all) loads only once the options are checked: --help and mistakes answer at once.
    from fst.api import Model
    from fst.models.serialization import read_card
    from fst.models.zoo import resolve_model

    model = resolve_model(cfg.ckpt)
    temporal = TemporalOptions(**plain(cfg.temporal)) if cfg.get("temporal") else False  # temporal=none: empty
    return Model(model, read_card(model)).stylize_file(
        cfg.input, cfg.output, style=plain(cfg.style), size=cfg.size, batch_size=cfg.batch_size,
        overwrite=cfg.overwrite, temporal=temporal, **dataclasses.asdict(options_of(cfg, StylizeOptions)))


@command("stylize", EXAMPLES, string_options=("style",))
def main(cfg: DictConfig) -> None:
    """Stylize a photo, a folder, a video or a GIF with a style model."""
    written = stylize_config(cfg)
    where = f": {os.path.commonpath(written) if len(written) > 1 else written[0]}" if written else ""
    print(f"fst: wrote {len(written)} file(s){where}")


if __name__ == "__main__":
    main()
