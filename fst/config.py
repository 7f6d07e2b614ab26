"""Hydra plumbing shared by the commands: the config folder, resolvers, instantiation with one-line errors."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path

import hydra
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from fst.errors import FstError, exit_on_user_error
from fst.hardware import cpu_training_precision
from fst.resources import CONF_DIR


# Each command's config folder under conf/. The inference commands have their own, so that the training
# groups (style, trainer, ...) are not theirs: `stylize style=candy` picks a style of a multi-style model.
CONFIG_DIRS = {"stylize": "inference", "export": "inference"}


def config_dir(config_name: str) -> Path:
    return CONF_DIR / CONFIG_DIRS.get(config_name, "")


def register_resolvers() -> None:
    """OmegaConf resolvers the configs use: ``${cpu_precision:}`` (conf/trainer/cpu.yaml) and
    ``${fst_conf_dir:<folder>}`` (a folder of conf/, wherever fst is installed)."""
    OmegaConf.register_new_resolver("cpu_precision", cpu_training_precision, replace=True)
    OmegaConf.register_new_resolver("fst_conf_dir", lambda folder: str(CONF_DIR / folder), replace=True)


def compose(config_name: str, overrides: list[str]) -> DictConfig:
    """A command's config as its command line would give it, for library use (benchmarks, tests, apps)."""
    register_resolvers()
    with hydra.initialize_config_dir(config_dir=str(config_dir(config_name)), version_base="1.3"):
        return hydra.compose(config_name=config_name, overrides=overrides)


def build(cfg: DictConfig, **kwargs):
    """``hydra.utils.instantiate`` that surfaces our one-line user errors instead of Hydra's wrapper."""
    try:
        return instantiate(cfg, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, (FstError, ValueError)):
            raise FstError(str(cause)) from None
        raise


def check_group_choices(overrides: list[str], root: Path = CONF_DIR) -> None:
    """One-line error for ``group=option`` when <root>/<group>/<option>.yaml does not exist."""
    for override in overrides:
        key, has_value, value = override.partition("=")
        key = key.lstrip("+~")
        group = root / key
        if not has_value or key.startswith("hydra") or "." in key or not group.is_dir() or value in ("", "null"):
            continue
        if "(" in value:  # sweep functions (glob, choice, range) are Hydra's to check
            continue
        for option in value.split(","):  # a multirun sweep: -m style=candy,mosaic
            if not (group / f"{option}.yaml").is_file():
                choices = ", ".join(sorted(p.stem for p in group.glob("*.yaml")))
                hint = "; or train any painting with style.name=<name> style.image=<file>" if key == "style" else ""
                raise FstError(f"unknown {key} '{option}'; choose one of: {choices}{hint}")


def quote_commas(argv: list[str], keys: tuple[str, ...]) -> list[str]:
    """``key=a:1,b:2`` as the string Hydra would otherwise refuse as ambiguous (a sweep without ``-m``)."""
    quoted = []
    for arg in argv:
        key, has_value, value = arg.partition("=")
        if has_value and key.lstrip("+") in keys and "," in value and value[:1] not in "'\"[{":
            arg = f"{key}='{value}'"
        quoted.append(arg)
    return quoted


def command(config_name: str, string_options: tuple[str, ...] = ()) -> Callable[[Callable[[DictConfig], None]], Callable[[], None]]:
    """Turn ``run(cfg)`` into a command over ``conf/<config_name>.yaml`` (scripts/ and the fst-* commands).

    User mistakes (unknown group options, missing values, FstError) end with one line, not a traceback.
    ``string_options`` take comma-separated values as one string (``style=candy:0.3,udnie:0.7``).
    """

    def decorate(run: Callable[[DictConfig], None]) -> Callable[[], None]:
        @hydra.main(version_base="1.3", config_path=str(config_dir(config_name)), config_name=config_name)
        @exit_on_user_error
        def hydra_main(cfg: DictConfig) -> None:
            run(cfg)

        @exit_on_user_error
        @functools.wraps(run)
        def main() -> None:
            register_resolvers()
            sys.argv[1:] = quote_commas(sys.argv[1:], string_options)
            check_group_choices(sys.argv[1:], config_dir(config_name))
            hydra_main()

        return main

    return decorate
