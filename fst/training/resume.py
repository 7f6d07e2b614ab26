"""Going on with a run: resuming from its Lightning checkpoints, or continuing from its export when they are gone."""

from __future__ import annotations

import dataclasses
import shlex
import sys
from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from fst.errors import FstError
from fst.messages import say
from fst.models.card import LossSpec, ModelCard
from fst.models.registry import architecture_of
from fst.models.serialization import (
    OVERRIDES_KEY,
    checkpoint_card,
    file_state,
    load_style_model,
    load_training_checkpoint,
)
from fst.models.zoo import resolve_model, shipped_models
from fst.training.module import StyleTransferModule


def check_resume_files(ckpt_path: str | None, continue_from: str | None) -> None:
    """One-line errors for a resume file that does not exist, before anything is built."""
    if ckpt_path and ckpt_path != "last" and not Path(ckpt_path).expanduser().is_file():
        raise FstError(f"ckpt_path: checkpoint not found: {Path(ckpt_path).expanduser()}; pass a .ckpt file or ckpt_path=last")
    if continue_from and not Path(continue_from).expanduser().is_file() and continue_from not in shipped_models():
        raise FstError(
            f"continue_from: style model not found: {Path(continue_from).expanduser()}; "
            f"pass a <style>.safetensors that training exported, or a shipped model's name ({', '.join(shipped_models())})"
        )


def resolve_resume_path(
    ckpt_path: str | None, run_dir: Path, module: StyleTransferModule, cfg: DictConfig, asked: list[str] | None
) -> str | None:
    """The checkpoint to resume from, checked before training starts (safe to load, same model).

    ``last`` means the newest checkpoint of this run folder: ``checkpoints/*.ckpt`` (a kill can land between
    writing ``step_N.ckpt`` and ``last.ckpt``) or Lightning's SLURM ``hpc_ckpt_*.ckpt``. Writes are atomic, so
    every one of them is complete. When there is none yet the run starts fresh: one command serves both.
    ``asked`` are the command line's overrides (None outside a command): see :func:`check_same_run`.
    """
    if not ckpt_path:
        return None
    if ckpt_path == "last":
        candidates = [*(run_dir / "checkpoints").glob("*.ckpt"), *run_dir.glob("hpc_ckpt_*.ckpt")]
        if not candidates:
            say(f"ckpt_path=last: no checkpoint in {run_dir} yet; starting the run")
            return None
        path = max(candidates, key=lambda p: p.stat().st_mtime)
    else:
        path = Path(ckpt_path).expanduser()
    checkpoint = load_training_checkpoint(path)
    card = checkpoint_card(checkpoint, path)
    check_same_model("ckpt_path", path, card, module)
    if asked is not None:
        # The overrides of the command that wrote the checkpoint (the run folder's .hydra/ holds this command's).
        started_with = checkpoint.get(OVERRIDES_KEY) or recorded_overrides(path.parent.parent)
        check_same_run(path, card, module, cfg, asked, started_with)
    return str(path)


# What each setting of a run is, and the overrides that ask for it to change.
_SETTINGS = {
    "styles": ("styles", "style", "style.name"),
    "style sizes": ("styles", "style", "style.size"),
    "style weights": ("styles", "style", "loss", "loss.style_weight"),
    "loss": ("loss", "loss.backbone", "loss.content_layer", "loss.style_layers", "loss.content_weight", "loss.tv_weight",
             "loss.temporal_weight", "loss.temporal_feature_weight", "loss.temporal_luminance", "loss.temporal_both_frames"),
    "data.image_size": ("data.image_size",),
    "trainer.precision": ("trainer", "trainer.precision"),
    "trainer.max_steps": ("trainer.max_steps",),
}


def run_settings(card: ModelCard) -> dict[str, object]:
    return {
        "styles": card.style_names,
        "style sizes": [s.size for s in card.styles],
        "style weights": [card.loss.weight_for(s) for s in card.styles] if card.loss else None,
        "loss": (card.loss.backbone, card.loss.content_layer, card.loss.style_layers, card.loss.content_weight,
                 card.loss.tv_weight, card.loss.temporal_weight, card.loss.temporal_feature_weight,
                 card.loss.temporal_luminance, card.loss.temporal_both_frames) if card.loss else None,
        "data.image_size": card.training.image_size,
        "trainer.precision": card.training.precision,
        "trainer.max_steps": card.training.max_steps,
    }


def _precision(value) -> str:
    return {"32": "32-true", "16": "16-mixed", "bf16": "bf16-mixed"}.get(str(value), str(value))


def check_same_run(
    path: Path, card: ModelCard, module: StyleTransferModule, cfg: DictConfig, asked: list[str], started_with: list[str]
) -> None:
    """Refuse to resume a checkpoint under settings it was not trained with, unless the command asked for them.

    Resuming another run's checkpoint with this config's defaults would silently train it on another painting,
    size or schedule; the error lists the differences and the command that resumes the run as it was
    (``started_with``, the overrides of the command that trained it).
    """
    loss = LossSpec(**module.criterion.config)
    now = run_settings(card.replace(styles=tuple(module.styles), loss=loss, training=dataclasses.replace(
        card.training, image_size=cfg.data.image_size, precision=_precision(cfg.trainer.precision), max_steps=cfg.trainer.max_steps)))
    then = run_settings(card)
    then["trainer.precision"] = _precision(then["trainer.precision"])
    keys = {override_key(override) for override in asked}
    # An experiment sets many options at once: a new one asks for them all, the run's own asks for nothing new.
    new_experiment = "experiment" in keys and _experiment(asked) != _experiment(started_with)
    differences = [
        f"{name} {then[name]} (now {now[name]})"
        for name in _SETTINGS
        if then[name] is not None and then[name] != now[name] and not keys & set(_SETTINGS[name]) and not new_experiment
    ]
    if differences:
        raise FstError(
            f"ckpt_path {path} is from a run with other settings: {'; '.join(differences)}; resume it as it was with: "
            f"{resume_command(started_with, extra=[f'ckpt_path={path}'])}"
        )


def override_key(override: str) -> str:
    return override.lstrip("+~").partition("=")[0]


def _experiment(overrides: list[str]) -> str | None:
    return next((o.partition("=")[2] for o in overrides if override_key(o) == "experiment"), None)


def recorded_overrides(run_dir: Path) -> list[str]:
    """The overrides of the latest command that ran in ``run_dir`` (Hydra's .hydra/overrides.yaml)."""
    recorded = run_dir / ".hydra" / "overrides.yaml"
    return list(OmegaConf.load(recorded)) if recorded.is_file() else []


def resume_command(overrides: list[str], extra: list[str]) -> str:
    """The command that trains a run with ``overrides`` again, plus ``extra``."""
    keep = [o for o in overrides if override_key(o) not in ("ckpt_path", "run_name", "continue_from")]
    return " ".join([train_command(), *(shlex.quote(o) for o in keep), *extra])


def train_command() -> str:
    """The training command as the user runs it: ``python scripts/train.py`` in a checkout, else ``fst-train`` (the
    installed command, also the one to use after training from Python)."""
    return "python scripts/train.py" if Path(sys.argv[0]).name == "train.py" else "fst-train"


def check_same_model(option: str, path: Path, card: ModelCard, module: StyleTransferModule) -> None:
    """One-line error when a checkpoint's network is not the one this run builds."""
    if card.architecture != architecture_of(module.net):
        raise FstError(f"{option} {path} is a {card.architecture} model; this run trains a {architecture_of(module.net)}")
    now = module.net.config
    differences = [f"model.{k}={card.network.get(k)} in the checkpoint, {v} now" for k, v in now.items() if card.network.get(k) != v]
    if differences:
        raise FstError(f"{option} {path} was trained with another network: {'; '.join(differences)}")


def continue_from_export(path: str, module: StyleTransferModule, max_steps: int) -> int:
    """Load an exported style model's weights, training time and lineage into ``module``; return its steps.

    For runs whose Lightning checkpoints are gone (another machine, a cleaned disk): the export is all that
    survives. Adam's moments are not in it, so they start afresh (under an LR warm-up); everything else goes on
    from its step. An adapted model continues with every weight training, its card still naming its base.
    """
    path = resolve_model(path, "continue_from")
    net, card = load_style_model(path)
    styles = [s.name for s in module.styles]
    if card.style_names != styles:
        if card.multi_style:
            wanted = f"styles=[{','.join(card.style_names)}] (in this order)"
        else:
            wanted = f"style={card.style_names[0]} (or style.name=... for your own painting)"
        painted, asked = "+".join(card.style_names), "+".join(styles)
        raise FstError(f"continue_from {path} is a model of style '{painted}', not '{asked}'; pass {wanted}")
    check_same_model("continue_from", path, card, module)
    steps = card.training.steps
    if steps >= max_steps:
        raise FstError(
            f"continue_from {path} was already trained {steps} steps and trainer.max_steps={max_steps}; "
            "raise trainer.max_steps to train it further"
        )
    # what the file left out (an encoder's frozen VGG16) stays as this run built it
    module.net.load_state_dict({**module.net.state_dict(), **file_state(net)})
    module.seconds_before = float(card.training.seconds or 0.0)
    module.continued_base = card.training.base
    say(f"continuing from {path} at step {steps} (Adam's moments start afresh, the LR ramps up)")
    return steps


def start_at_step(trainer: pl.Trainer, step: int) -> None:
    """Make a new fit count from ``step``, as a run resumed at that step would.

    Lightning keeps its step in the fit loop's progress counters (what a checkpoint restores): the global step
    (so ``trainer.max_steps``, checkpoint names and export steps go on from ``step``), the batches behind
    ``val_check_interval``, and the step the loggers record. The LR scheduler catches up in configure_optimizers.
    """
    loop = trainer.fit_loop.epoch_loop
    for tracker in (loop.automatic_optimization.optim_progress.optimizer.step.total, loop.batch_progress.total):
        for field in ("ready", "started", "processed", "completed"):
            if hasattr(tracker, field):
                setattr(tracker, field, step)
    loop._batches_that_stepped = step
