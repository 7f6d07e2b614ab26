"""Hydra plumbing for the library and the commands: where each command's configs are, the resolvers and schemas
they use, composing a command's config, and instantiation with one-line errors."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import Container, DictConfig, OmegaConf, open_dict

from fst.errors import FstError
from fst.hardware import cpu_training_precision
from fst.resources import CONF_DIR, DEMO_DIR
from fst.schemas import STORED, register_schemas


def config_dir(config_name: str) -> Path | None:
    """The folder of a command's yaml configs (conf/), or None for the commands whose config fst/schemas.py holds
    (stylize, export, the app): they do not see conf/'s training groups."""
    return None if config_name in STORED else CONF_DIR


@contextlib.contextmanager
def hydra_context(config_name: str, reuse: bool = False) -> Iterator[None]:
    """Hydra initialised for a command's configs (compose, and its config loader's group listings). ``reuse``:
    inside a running command (or another context) use the Hydra that is initialised already."""
    register_configs()
    if reuse and GlobalHydra.instance().is_initialized():
        yield
        return
    folder = config_dir(config_name)
    if folder is None:
        with hydra.initialize(config_path=None, version_base="1.3"):
            yield
    else:
        with hydra.initialize_config_dir(config_dir=str(folder), version_base="1.3"):
            yield


def group_options(config_name: str, group: str) -> list[str] | None:
    """The options of a command's config group (Hydra's listing, files and ConfigStore alike); None when the
    command has no such group."""
    with hydra_context(config_name, reuse=True):
        loader = GlobalHydra.instance().config_loader()
        if not loader.repository.group_exists(group):
            return None
        return sorted(loader.get_group_options(group))


def compose_option(group: str, option: str) -> DictConfig:
    """One option of a training config group as Hydra composes it (``style=candy``: the style's settings)."""
    with hydra_context("train", reuse=True):
        return hydra.compose(config_name=f"{group}/{option}")


def register_configs() -> None:
    """What the configs need besides their files: the structured configs (fst/schemas.py) and the OmegaConf
    resolvers ``${cpu_precision:}`` (conf/trainer/cpu.yaml) and ``${fst_demo_dir:}`` (the demo set that ships with
    fst, conf/paths/default.yaml)."""
    register_schemas()
    OmegaConf.register_new_resolver("cpu_precision", cpu_training_precision, replace=True)
    OmegaConf.register_new_resolver("fst_demo_dir", lambda: str(DEMO_DIR), replace=True)


def compose(config_name: str, overrides: list[str], run_dir: bool = False) -> DictConfig:
    """A command's config as its command line would give it, for library use (benchmarks, tests, fst.train).

    ``run_dir``: set ``paths.output_dir`` to the run folder the command would make (``hydra.run.dir``), which only
    a running Hydra app knows otherwise."""
    with hydra_context(config_name):
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
