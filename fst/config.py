"""Hydra plumbing for the library and the commands: where each command's configs are, the resolvers and schemas
they use, composing a command's config, and instantiation with one-line errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import hydra
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import Container, DictConfig, OmegaConf, open_dict

from fst.errors import FstError
from fst.hardware import cpu_training_precision
from fst.resources import CONF_DIR
from fst.schemas import register_schemas

# Each command's config folder under conf/. The inference commands have their own, so that the training
# groups (style, trainer, ...) are not theirs: `stylize style=candy` picks a style of a multi-style model.
CONFIG_DIRS = {"stylize": "inference", "export": "inference"}


def config_dir(config_name: str) -> Path:
    return CONF_DIR / CONFIG_DIRS.get(config_name, "")


def register_configs() -> None:
    """What the configs need besides their files: the schemas (fst/schemas.py) and the OmegaConf resolvers
    ``${cpu_precision:}`` (conf/trainer/cpu.yaml) and ``${fst_conf_dir:<folder>}`` (a folder of conf/)."""
    register_schemas()
    OmegaConf.register_new_resolver("cpu_precision", cpu_training_precision, replace=True)
    OmegaConf.register_new_resolver("fst_conf_dir", lambda folder: str(CONF_DIR / folder), replace=True)


def compose(config_name: str, overrides: list[str], run_dir: bool = False) -> DictConfig:
    """A command's config as its command line would give it, for library use (benchmarks, tests, fst.train).

    ``run_dir``: set ``paths.output_dir`` to the run folder the command would make (``hydra.run.dir``), which only
    a running Hydra app knows otherwise."""
    register_configs()
    with hydra.initialize_config_dir(config_dir=str(config_dir(config_name)), version_base="1.3"):
        cfg = hydra.compose(config_name=config_name, overrides=overrides, return_hydra_config=run_dir)
    if run_dir:
        if OmegaConf.select(cfg, "paths.output_dir", throw_on_resolution_failure=False) is None:
            cfg.paths.output_dir = cfg.hydra.run.dir
        with open_dict(cfg):
            del cfg["hydra"]
    return cfg


def options_of(cfg: DictConfig, cls: type):
    """The dataclass of options ``cls`` (e.g. StylizeOptions) with the values a composed config gives its fields."""
    return cls(**{item.name: plain(cfg[item.name]) for item in dataclasses.fields(cls)})


def plain(value):
    """A config value as plain Python (dicts and lists for config nodes), for the library's typed arguments."""
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, Container) else value


def build(cfg: DictConfig, **kwargs):
    """``hydra.utils.instantiate`` that surfaces our one-line user errors instead of Hydra's wrapper."""
    try:
        return instantiate(cfg, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, (FstError, ValueError)):
            raise FstError(str(cause)) from None
        raise
