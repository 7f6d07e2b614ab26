"""``fst-stylize`` / ``python scripts/stylize.py ckpt=starry_night input=photo.jpg``: stylize images, folders,
videos and GIFs (conf/stylize.yaml)."""

import os

from omegaconf import DictConfig

from fst.config import command
from fst.inference.files import stylize


@command("stylize", string_options=("style",))
def main(cfg: DictConfig) -> None:
    written = stylize(cfg)
    where = f": {os.path.commonpath(written) if len(written) > 1 else written[0]}" if written else ""
    print(f"fst: wrote {len(written)} file(s){where}")


if __name__ == "__main__":
    main()
