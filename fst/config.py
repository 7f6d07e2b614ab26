"""Hydra plumbing shared by the commands: the config folder, resolvers, instantiation with one-line errors."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import hydra
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from fst.errors import FstError, exit_on_user_error
from fst.hardware import cpu_training_precision
from fst.resources import CONF_DIR


def register_resolvers() -> None:
    """OmegaConf resolvers the configs use: ``${cpu_precision:}`` (conf/trainer/cpu.yaml)."""
    OmegaConf.register_new_resolver("cpu_precision", cpu_training_precision, replace=True)


def build(cfg: DictConfig, **kwargs):
    """``hydra.utils.instantiate`` that surfaces our one-line user errors instead of Hydra's wrapper."""
    try:
        return instantiate(cfg, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, (FstError, ValueError)):
            raise FstError(str(cause)) from None
        raise


def check_group_choices(overrides: list[str]) -> None:
    """One-line error for ``group=option`` when conf/<group>/<option>.yaml does not exist."""
    for override in overrides:
        key, has_value, value = override.partition("=")
        key = key.lstrip("+~")
        group = CONF_DIR / key
        if not has_value or key.startswith("hydra") or "." in key or not group.is_dir() or value in ("", "null"):
            continue
        if "(" in value:  # sweep functions (glob, choice, range) are Hydra's to check
            continue
        for option in value.split(","):  # a multirun sweep: -m style=candy,mosaic
            if not (group / f"{option}.yaml").is_file():
                choices = ", ".join(sorted(p.stem for p in group.glob("*.yaml")))
                hint = "; or train any painting with style.name=<name> style.image=<file>" if key == "style" else ""
                raise FstError(f"unknown {key} '{option}'; choose one of: {choices}{hint}")


def command(config_name: str) -> Callable[[Callable[[DictConfig], None]], Callable[[], None]]:
    """Turn ``run(cfg)`` into a command over ``conf/<config_name>.yaml`` (scripts/ and the fst-* commands).

    User mistakes (unknown group options, missing values, FstError) end with one line, not a traceback.
    """

    def decorate(run: Callable[[DictConfig], None]) -> Callable[[], None]:
        @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)
        @exit_on_user_error
        def hydra_main(cfg: DictConfig) -> None:
            run(cfg)

        @exit_on_user_error
        @functools.wraps(run)
        def main() -> None:
            register_resolvers()
            check_group_choices(sys.argv[1:])
            hydra_main()

        return main

    return decorate
