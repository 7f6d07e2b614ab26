"""The values of the optimizer, scheduler, trainer and callbacks that torch and Lightning accept when built and only
fail on (with a traceback) or quietly misuse once training runs: each checked before any work, a one-line FstError
naming the option. Their groups are open-ended (any torch optimizer or scheduler), so what can be is tried out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

import torch
from hydra.errors import InstantiationException
from omegaconf import DictConfig
from pytorch_lightning.utilities.exceptions import MisconfigurationException

from fst.config import build
from fst.errors import FstError, one_line_reason

# Keyword arguments of torch's optimizers and schedulers, by the range they need. A zero LR is allowed, as torch
# allows it: a run that continues a model without changing it (tests/test_train.py).
POSITIVE = ("T_max", "step_size", "gamma", "total_iters")
NON_NEGATIVE = ("lr", "weight_decay", "eps", "momentum", "dampening", "eta_min")
# What a library raises for a bad value, and Hydra for an unknown _target_ (ImportError).
BAD_VALUE = (MisconfigurationException, ValueError, TypeError, ZeroDivisionError, ImportError)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_ranges(group: str, options: Mapping) -> None:
    for name in POSITIVE + NON_NEGATIVE:
        value = options.get(name)
        if value is None:
            continue
        strict = name in POSITIVE
        if not _is_number(value) or (value <= 0 if strict else value < 0):
            raise FstError(f"{group}.{name} must be {'>' if strict else '>='} 0, got {value}")


def _build(cfg: DictConfig, option: str, **kwargs):
    try:
        return build(cfg, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, ImportError):
            raise FstError(f"{option}._target_={cfg._target_} cannot be imported; name a class, e.g. torch.optim.Adam") from None
        if isinstance(cause, BAD_VALUE):
            raise FstError(f"{option}: {one_line_reason(cause)}") from None
        raise


def _try(option: str, attempt: Callable[[], object]) -> None:
    try:
        attempt()
    except BAD_VALUE as exc:
        raise FstError(f"{option}: {one_line_reason(exc)}") from None


def optimizer_factory(cfg: DictConfig) -> Callable:
    """The optimizer's partial (``params -> Optimizer``), built once on a stand-in parameter: torch checks its
    values only when Lightning builds it, after the VGG and the data have loaded."""
    check_ranges("optimizer", cfg)
    factory = _build(cfg, "optimizer")
    _try("optimizer", lambda: factory(params=[torch.zeros(1, requires_grad=True)]))
    return factory


def scheduler_factory(cfg: DictConfig | None) -> Callable | None:
    """The LR scheduler's partial (``optimizer -> scheduler``), or None; stepped a few times on a stand-in
    optimizer, since some values only fail when stepped (a period of 0 divides by zero)."""
    if not cfg:
        return None
    check_ranges("scheduler", cfg)
    factory = _build(cfg, "scheduler")

    def steps() -> None:
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        schedule = factory(optimizer=optimizer)
        for _ in range(3):
            optimizer.step()
            schedule.step()

    _try("scheduler", steps)
    return factory


def check_trainer(cfg: DictConfig) -> None:
    """The trainer's values that Lightning takes and then divides by, or that would train nothing."""
    interval = cfg.get("val_check_interval")
    if interval is not None and not (_is_number(interval) and interval > 0):
        raise FstError(f"trainer.val_check_interval must be > 0 (training steps between validations), got {interval}")
    batches = cfg.get("accumulate_grad_batches")
    if batches is not None and not (isinstance(batches, int) and batches >= 1):
        raise FstError(f"trainer.accumulate_grad_batches must be >= 1, got {batches}")
    clip = cfg.get("gradient_clip_val")
    if clip is not None and not (_is_number(clip) and clip >= 0):
        raise FstError(f"trainer.gradient_clip_val must be >= 0 (or null: no clipping), got {clip}")
    epochs = cfg.get("max_epochs")
    if epochs is not None and not (isinstance(epochs, int) and (epochs == -1 or epochs > 0)):
        raise FstError(f"trainer.max_epochs={epochs} would train nothing: leave it at -1 (trainer.max_steps sets the length)")


def build_trainer(cfg: DictConfig, **kwargs):
    """The Lightning Trainer of ``cfg``; its own refusals (an unknown precision, no GPU for accelerator=gpu) in one line."""
    check_trainer(cfg)
    return _build(cfg, "trainer", **kwargs)


def build_callback(name: str, cfg: DictConfig):
    """A callback of ``callbacks.<name>``; Lightning's refusals of its values in one line."""
    interval = cfg.get("train_time_interval")
    if interval is not None and _build(interval, f"callbacks.{name}.train_time_interval") < timedelta(0):
        raise FstError(f"callbacks.{name}.train_time_interval must not be negative, e.g. minutes: 15 (0: every step)")
    return _build(cfg, f"callbacks.{name}")


def check_seed(seed: int | None) -> None:
    top = 2**32 - 1  # numpy's seeds, which Lightning seeds too
    if seed is not None and not 0 <= seed <= top:
        raise FstError(f"seed must be between 0 and {top}, got {seed}")
