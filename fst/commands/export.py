"""``fst-export`` / ``python scripts/export.py ckpt=starry_night format=onnx``: write a style model for other
runtimes (its options: fst.options.ExportOptions)."""

from omegaconf import DictConfig

from fst.commands.cli import command
from fst.config import options_of
from fst.options import ExportOptions

EXAMPLES = [
    "fst-export ckpt=candy format=onnx                          # -> exported/candy.onnx",
    "fst-export ckpt=candy format=torchscript precision=fp16",
    "fst-export ckpt=multi_style style=udnie format=safetensors   # one style as a one-style model",
]


@command("export", EXAMPLES, string_options=("style",))
def main(cfg: DictConfig) -> None:
    """Export a style model for other runtimes (ONNX, TorchScript), or one style of a multi-style model."""
    # The library (torch and all) loads only once the options are checked: --help and mistakes answer at once.
    from fst.export.formats import export

    print(f"fst: wrote {export(options_of(cfg, ExportOptions))}")


if __name__ == "__main__":
    main()
