"""``fst-stylize`` / ``python scripts/stylize.py ckpt=starry_night input=photo.jpg``: stylize images, folders,
videos and GIFs (conf/inference/stylize.yaml)."""

import os

from omegaconf import DictConfig

from fst.commands.cli import command
from fst.inference.files import stylize

EXAMPLES = [
    "fst-stylize ckpt=candy input=photo.jpg                  # -> stylized/candy/photo.jpg",
    "fst-stylize ckpt=candy input=holiday/ size=1024         # a folder, long side 1024 px",
    "fst-stylize ckpt=candy input=clip.mp4 compile=true      # a video, its audio kept",
    "fst-stylize ckpt=multi_style style=candy:0.3,udnie:0.7 input=photo.jpg   # a mix of styles",
    "fst-stylize ckpt=candy input=photo.jpg strength=0.6 preserve_color=true",
]


@command("stylize", EXAMPLES, string_options=("style",))
def main(cfg: DictConfig) -> None:
    """Stylize a photo, a folder, a video or a GIF with a style model."""
    written = stylize(cfg)
    where = f": {os.path.commonpath(written) if len(written) > 1 else written[0]}" if written else ""
    print(f"fst: wrote {len(written)} file(s){where}")


if __name__ == "__main__":
    main()
