"""``fst-train`` / ``python scripts/train.py style=starry_night``: train a style model (conf/train.yaml)."""

from pathlib import Path

from omegaconf import DictConfig

from fst.commands.cli import check_dashes, check_group_choices, command, preflight
from fst.config import compose
from fst.hardware import cpu_has_fast_bf16
from fst.messages import say
from fst.schemas import check_ranges

EXAMPLES = [
    "fst-train experiment=demo                            # a quick demo model, minutes on a CPU",
    "fst-train style=candy                                # a shipped style's painting and weights",
    "fst-train style.name=mine style.image=painting.jpg   # any painting",
    "fst-train experiment=multi_style                     # the 8 zoo styles in one network",
    "fst-train experiment=adapt style.name=mine style.image=painting.jpg   # a new painting in minutes",
]


def fastest_trainer(argv: list[str]) -> list[str]:
    """With no trainer preset named, the fastest one for this machine that keeps quality, said in one line."""
    if any(arg.partition("=")[0].lstrip("+~") == "trainer" for arg in argv) or {"--help", "-h"} & set(argv):
        return argv
    import torch

    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        preset = "gpu"
        why = f"bf16-mixed on {torch.cuda.get_device_name()}" + ("" if bf16 else "; it has no bf16: add trainer.precision=16-mixed")
    else:
        preset = "cpu"
        why = "bf16-mixed: this CPU runs bf16 natively" if cpu_has_fast_bf16() else "fp32: this CPU emulates bf16, 10x slower"
    say(f"trainer={preset} ({why}); name another preset with trainer=...")
    return [f"trainer={preset}", *argv]  # first: Hydra takes no overrides after its flags


def train_with(overrides: list[str]) -> Path:
    """Training from Python (``fst.train``): the config that fst-train composes for these options, checked alike."""
    check_dashes(overrides)
    check_group_choices("train", overrides)
    preflight("train", overrides)
    overrides = fastest_trainer(overrides)
    cfg = compose("train", overrides, run_dir=True)
    check_ranges(cfg)
    from fst.training.run import train

    return train(cfg)


@command("train", EXAMPLES, complete=fastest_trainer, lightning=True)
def main(cfg: DictConfig) -> None:
    """Train a feed-forward style network for a painting (or several in one network) against a VGG perceptual loss."""
    # The library (torch and all) loads only once the options are checked: --help and mistakes answer at once.
    from fst.training.run import train

    path = train(cfg)
    if path is not None and Path(path).is_file():
        say(f"style model written to {path}")


if __name__ == "__main__":
    main()
