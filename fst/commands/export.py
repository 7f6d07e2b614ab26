"""``fst-export`` / ``python scripts/export.py ckpt=starry_night format=onnx``: write a style model for other
runtimes (conf/export.yaml)."""

from omegaconf import DictConfig

from fst.config import command
from fst.export.formats import export


@command("export", string_options=("style",))
def main(cfg: DictConfig) -> None:
    print(f"fst: wrote {export(cfg)}")


if __name__ == "__main__":
    main()
