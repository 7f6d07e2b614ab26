"""What every fst command does before and around its work: reading ``key=value`` options, answering every
mistake with one line, and ``--help``."""

from __future__ import annotations

import difflib
import functools
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import hydra
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from fst.config import compose, config_dir, group_options, hydra_context, register_configs
from fst.errors import FstError, one_line_reason
from fst.options import describe
from fst.schemas import STORED_GROUPS, check_ranges, schema_of

# Hydra's own flags (and those of them that take a value); any other --flag is a user writing argparse style.
HYDRA_FLAGS = {"--help", "-h", "--hydra-help", "--version", "--cfg", "-c", "--resolve", "--package", "-p", "--run", "-r",
               "--multirun", "-m", "--shell-completion", "-sc", "--config-path", "-cp", "--config-name", "-cn",
               "--config-dir", "-cd", "--info", "-i", "--experimental-rerun"}
FLAGS_WITH_VALUES = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd"}
BOOLEAN_WORDS = {"true", "false", "yes", "no", "1", "0"}


def exit_on_user_error(func):
    """Turn a user mistake raised by a command-line entry point into one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except FstError as exc:
            message = str(exc)
        except MissingMandatoryValue as exc:
            message = f"missing required option {exc.full_key}; pass {exc.full_key}=... on the command line"
        print(f"fst: error: {message}", file=sys.stderr)
        sys.exit(2)

    return wrapper


def quiet_libraries(verbose: bool) -> None:
    """fst's own messages, and other libraries' only when they warn (``verbose=true`` shows their notices too)."""
    logging.getLogger("fst").setLevel(logging.INFO)
    if verbose:
        return
    for name in ("", "pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("WANDB_SILENT", "true")


def take_verbose(argv: list[str]) -> tuple[list[str], bool]:
    """``verbose=true`` is the command's, not the config's: it shows other libraries' notices and progress."""
    rest = [a for a in argv if a.partition("=")[0] != "verbose"]
    values = [a.partition("=")[2].lower() for a in argv if a.partition("=")[0] == "verbose"]
    if any(v not in BOOLEAN_WORDS for v in values):
        raise FstError(f"verbose={values[0]}: write verbose=true or verbose=false")
    return rest, bool(values) and values[-1] in ("true", "yes", "1")


def quote_commas(argv: list[str], keys: tuple[str, ...]) -> list[str]:
    """``key=a:1,b:2`` as the string Hydra would otherwise refuse as ambiguous (a sweep without ``-m``)."""
    quoted = []
    for arg in argv:
        key, has_value, value = arg.partition("=")
        if has_value and key.lstrip("+") in keys and "," in value and value[:1] not in "'\"[{":
            arg = f"{key}='{value}'"
        quoted.append(arg)
    return quoted


def check_dashes(argv: list[str]) -> None:
    """``--input x.jpg`` (argparse style) gets the ``input=x.jpg`` it meant."""
    for index, arg in enumerate(argv):
        flag = arg.partition("=")[0]
        if arg.startswith("-") and flag not in HYDRA_FLAGS and not re.fullmatch(r"-\d.*", arg):
            name = flag.lstrip("-").replace("-", "_")
            value = arg.partition("=")[2] or (argv[index + 1] if index + 1 < len(argv) and "=" not in argv[index + 1] else "...")
            raise FstError(f"options are written key=value, without dashes: write {name}={value}, not {arg}")


def check_group_choices(config_name: str, overrides: list[str]) -> None:
    """One-line error for ``group=option`` when the command's config group has no such option."""
    for override in overrides:
        key, has_value, value = override.partition("=")
        key = key.lstrip("+~")
        if not has_value or key.startswith("hydra") or "." in key or value in ("", "null") or "(" in value:
            continue  # sweep functions (glob, choice, range) are Hydra's to check
        choices = group_options(config_name, key)
        for option in value.split(",") if choices is not None else []:  # a multirun sweep: -m style=candy,mosaic
            if option not in choices:
                hint = "; or train any painting with style.name=<name> style.image=<file>" if key == "style" else ""
                raise FstError(f"unknown {key} '{option}'; choose one of: {', '.join(choices)}{hint}")


def _leaf_keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    keys = []
    for key in cfg.keys():
        node = cfg._get_node(key)
        path = f"{prefix}{key}"
        if isinstance(node, DictConfig) and not node._is_missing() and not node._is_none():
            keys += [path, *_leaf_keys(node, f"{path}.")]
        else:
            keys.append(path)
    return keys


def _node(cfg: DictConfig, dotted: str):
    """The config node at ``dotted``, or None when there is none (e.g. a config group's name)."""
    parent, _, leaf = dotted.rpartition(".")
    container = OmegaConf.select(cfg, parent) if parent else cfg
    return container._get_node(leaf) if isinstance(container, DictConfig) and leaf in container.keys() else None


def preflight(config_name: str, argv: list[str]) -> None:
    """Compose the command's config as Hydra will, and answer a wrong option name or type in one line."""
    if {"-m", "--multirun"} & set(argv):
        return  # sweeps are Hydra's to expand
    overrides = [a for a in argv if "=" in a and not a.startswith(("-", "hydra.", "hydra/", "+hydra", "~hydra"))]
    try:
        cfg = compose(config_name, overrides)
    except ConfigCompositionException as exc:
        raise FstError(_composition_error(config_name, exc)) from None
    for override in overrides:  # booleans: true/false, yes/no, 1/0 and nothing else
        key, _, value = override.lstrip("+~").partition("=")
        node = _node(cfg, key)
        if node is not None and node._metadata.ref_type is bool and value.strip("'\"").lower() not in BOOLEAN_WORDS | {"null"}:
            raise FstError(f"{key}={value}: not a yes/no value; write {key}=true or {key}=false")


def _group_choice_with(config_name: str, key: str) -> str | None:
    """``group=choice`` for an option ``group.option`` that only another choice of the config group has."""
    group = key.partition(".")[0]
    for option in group_options(config_name, group) or []:
        try:
            cfg = compose(config_name, [f"{group}={option}"])
        except ConfigCompositionException:
            continue
        if OmegaConf.select(cfg, key, default="absent", throw_on_missing=False) != "absent":
            return f"{group}={option}"
    return None


def _composition_error(config_name: str, exc: ConfigCompositionException) -> str:
    """One line for what Hydra refused, from the OmegaConf error behind it (its key, value and the option's type)."""
    cause = exc.__cause__
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and cause.full_key:
        key = cause.full_key
        owner = _group_choice_with(config_name, key)
        if owner:  # e.g. temporal.flow=... while temporal=none is chosen
            return f"'{key}' is an option of {owner}; add {owner}"
        known = _leaf_keys(compose(config_name, []))
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}=...?" if close else f"fst-{config_name} --help lists the options"
        return f"unknown option '{key}'; {hint}"
    if isinstance(cause, ValidationError):
        node = _node(compose(config_name, []), cause.full_key)
        kind = node._metadata.ref_type if node is not None else None
        what = {int: "a whole number", float: "a number", bool: "true or false"}.get(kind, "another value")
        return f"{cause.full_key}={cause.value}: expected {what}"
    return one_line_reason(cause if isinstance(cause, OmegaConfBaseException) else exc)


def _yaml_comments(path: Path, package: str) -> dict[str, tuple[str, str]]:
    """``key: value  # comment`` lines of one yaml file: dotted key -> (value, comment)."""
    found, parents, above = {}, [], []
    text = path.read_text()
    if text.startswith("# @package _global_"):
        package = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):  # a comment above a key describes it when it has none of its own
            above.append(line.strip().lstrip("#").strip())
            continue
        match = re.match(r"^(\s*)([A-Za-z_][\w]*):\s*(.*?)\s*(?:#\s*(.*))?$", line)
        comment, above = (match.group(4) or " ".join(above)) if match else "", []
        if not match:
            continue
        indent, key, value = len(match.group(1)), match.group(2), match.group(3)
        parents = [(i, k) for i, k in parents if i < indent]
        dotted = ".".join([*([package] if package else []), *(k for _, k in parents), key])
        parents.append((indent, key))
        if key != "defaults" and not dotted.startswith("hydra") and not key.startswith("_"):
            found[dotted] = (value, comment)
    return found


def _yaml_value(value) -> str:
    """A default as it would be written on the command line."""
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _dataclass_options(schema: type) -> dict[str, tuple[str, str]]:
    """The documented fields of a dataclass of options: a subclass's own first (a command's), then those it
    inherits (e.g. the stylizer's)."""
    rows = {name: (_yaml_value(default), help) for name, default, help in describe(schema)}
    ordered = [name for cls in schema.__mro__ for name in vars(cls).get("__annotations__", {}) if name in rows]
    return {name: rows[name] for name in dict.fromkeys(ordered)}


def documented_options(config_name: str) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """A command's options, ``{key: (default, help)}``, and its config groups with a choice to make,
    ``{group: "option, option (default: option)"}``: what ``--help`` prints and the docs' option tables show."""
    with hydra_context(config_name):
        choices = hydra.compose(config_name=config_name, return_hydra_config=True).hydra.runtime.choices
    chosen = {group: option for group, option in choices.items()
              if not group.startswith("hydra") and not group.endswith("schema")}
    options = _dataclass_options(schema_of(config_name))
    root = config_dir(config_name)
    if root is not None:
        options.update(_yaml_comments(root / f"{config_name}.yaml", ""))
    for key, option in chosen.items():
        group, _, package = key.partition("@")  # optimization@_global_: the group's keys at the top level
        prefix = "" if package == "_global_" else package or group
        if (group, option) in STORED_GROUPS:
            rows = _dataclass_options(STORED_GROUPS[group, option]).items()
            options.update({f"{prefix}.{k}" if prefix else k: v for k, v in rows})
        elif root is not None and option not in (None, "null") and (root / group / f"{option}.yaml").is_file():
            path = root / group / f"{option}.yaml"
            for base in re.findall(r"^\s*-\s*/(\S+)\s*$", path.read_text(), re.M):  # e.g. a style's /style_base
                options.update(_yaml_comments(root / f"{base}.yaml", prefix))
            options.update(_yaml_comments(path, prefix))
    options = {key: (value, text) for key, (value, text) in options.items() if value and not value.startswith("_")}
    groups = {}
    for key, option in chosen.items():
        group = key.partition("@")[0]
        available = group_options(config_name, group) or []
        if len(available) > 1:
            groups[group] = f"{', '.join(available)} (default: {option})"
    return options, groups


def print_help(config_name: str, description: str, examples: list[str]) -> None:
    """A command's description, examples, and its own options with their defaults and meanings."""
    options, groups = documented_options(config_name)
    width = min(34, max(len(f"{k}={v}") for k, (v, _) in options.items()))
    lines = [f"fst-{config_name}: {description}", "", f"usage: fst-{config_name} key=value ...   "
             f"(or python scripts/{config_name}.py key=value ... in a checkout)", "", "examples:"]
    lines += [f"  {example}" for example in examples]
    lines += ["", "options (key=default, then what it does):"]
    lines += [f"  {f'{k}={v}':<{width}}  {c}".rstrip() for k, (v, c) in options.items()]
    if groups:
        lines += ["", "config groups (group=option):"]
        lines += [f"  {group}: {choices}" for group, choices in groups.items()]
    lines += ["", f"fst-{config_name} --cfg job prints the whole config; any value in it can be set with key=value.",
              "verbose=true also shows other libraries' notices (Lightning, W&B, the ONNX exporter)."]
    print("\n".join(lines))


def command(
    config_name: str,
    examples: list[str],
    string_options: tuple[str, ...] = (),
    complete: Callable[[list[str]], list[str]] | None = None,
    lightning: bool = False,
) -> Callable[[Callable[[DictConfig], None]], Callable[[], None]]:
    """Turn ``run(cfg)`` (its docstring: what the command does) into a command over its config
    (scripts/ and the fst-* commands).

    Mistakes end with one line on stderr and exit status 2, before any work: unknown options (with a "did you
    mean"), values of the wrong type or range, argparse-style flags, unknown config group options, and every
    FstError. ``string_options`` take comma-separated values as one string (``style=candy:0.3,udnie:0.7``);
    ``complete`` may add overrides the command chooses for the user (e.g. the trainer preset for this machine);
    ``lightning``: the command trains with Lightning, which is imported once the options are checked and before
    its notices are quietened (Lightning sets its loggers to INFO as it is imported).
    """

    def decorate(run: Callable[[DictConfig], None]) -> Callable[[], None]:
        verbose = False

        folder = config_dir(config_name)
        @hydra.main(version_base="1.3", config_path=str(folder) if folder else None, config_name=config_name)
        @exit_on_user_error
        def hydra_main(cfg: DictConfig) -> None:
            check_ranges(cfg)
            if lightning:
                import pytorch_lightning  # noqa: F401
            quiet_libraries(verbose)  # after Hydra has set up logging
            run(cfg)

        @exit_on_user_error
        @functools.wraps(run)
        def main() -> None:
            nonlocal verbose
            register_configs()
            argv, verbose = take_verbose(quote_commas(sys.argv[1:], string_options))
            if {"--help", "-h"} & set(argv):
                return print_help(config_name, " ".join((run.__doc__ or "").split()), examples)
            check_dashes([a for i, a in enumerate(argv) if i == 0 or argv[i - 1] not in FLAGS_WITH_VALUES])
            check_group_choices(config_name, argv)
            preflight(config_name, argv)  # before complete(), which may load torch: mistakes answer at once
            if complete and (completed := complete(argv)) != argv:
                preflight(config_name, completed)
                argv = completed
            sys.argv[1:] = argv
            hydra_main()

        return main

    return decorate
