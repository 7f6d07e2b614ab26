"""Experiment loggers: W&B (online when credentials exist, otherwise offline with a notice), TensorBoard, CSV."""

from __future__ import annotations

import csv
import netrc
import os
from pathlib import Path
from urllib.parse import urlparse

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from pytorch_lightning.loggers.logger import rank_zero_experiment
from pytorch_lightning.utilities import rank_zero_only


def wandb_credentials_available() -> bool:
    """True when W&B could authenticate: WANDB_API_KEY, or a netrc entry from `wandb login`."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    netrc_file = os.environ.get("NETRC") or str(Path.home() / ".netrc")
    try:
        return netrc.netrc(netrc_file).authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def build_logger(cfg: DictConfig | None) -> Logger | bool:
    """Instantiate ``cfg.logger``; an empty group (``logger=none``) turns logging off."""
    if not cfg or "_target_" not in cfg:
        return False
    cfg = cfg.copy()
    is_wandb = cfg._target_.endswith("WandbLogger")
    if is_wandb and os.environ.get("WANDB_MODE") not in ("online", "offline", "disabled"):
        if not cfg.get("offline") and not wandb_credentials_available():
            cfg.offline = True
            rank_zero_only(print)(
                "fst: W&B has no API key (set WANDB_API_KEY or run `wandb login`); logging offline. "
                f"Upload later with: wandb sync {cfg.save_dir}/wandb/offline-run-*"
            )
    logger = instantiate(cfg)
    if isinstance(logger, WandbLogger):
        # Lightning always passes anonymous=None, which wandb warns about on every run as a deprecated setting.
        logger._wandb_init.pop("anonymous", None)
    return logger


class ResumableCSVLogger(CSVLogger):
    """Lightning's CSVLogger, except that a run resumed in its folder adds to metrics.csv.

    Lightning's writer deletes an existing metrics.csv when it starts, which would lose a resumed run's history.
    A run resumed from a checkpoint older than the history's end trains those steps again: their old rows
    (from the first step it logs on) are replaced by the new ones rather than kept twice.
    """

    _history: list[dict] | None = None  # the restored rows, until this run logs its first step

    @property
    @rank_zero_experiment  # other DDP ranks get Lightning's no-op experiment and leave the file alone
    def experiment(self):
        if self._experiment is None:
            rows, columns = _read_metrics(self._metrics_file)
            writer = super().experiment  # deletes metrics.csv
            if rows:
                # The writer appends under its sorted columns, and rewrites the file when a new metric appears.
                writer.metrics_keys = sorted(columns)
                _write_metrics(self._metrics_file, rows, writer.metrics_keys)
                self._history = rows
        return self._experiment

    @rank_zero_only
    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        writer = self.experiment  # restores the history on first use
        if self._history is not None and step is not None:
            kept = [row for row in self._history if _step(row) < step]
            if len(kept) < len(self._history):
                _write_metrics(self._metrics_file, kept, writer.metrics_keys)
            self._history = None
        super().log_metrics(metrics, step)

    @property
    def _metrics_file(self) -> Path:
        return Path(self.log_dir) / "metrics.csv"


def _read_metrics(path: Path) -> tuple[list[dict], list[str]]:
    if not path.is_file():
        return [], []
    reader = csv.DictReader(path.read_text().splitlines())
    return list(reader), list(reader.fieldnames or [])


def _write_metrics(path: Path, rows: list[dict], columns: list[str]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=columns)
        out.writeheader()
        out.writerows(rows)


def _step(row: dict) -> int:
    return int(float(row["step"]))


def log_config(logger: Logger | bool, cfg: DictConfig) -> None:
    if logger:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))


def log_image(logger: Logger | bool, key: str, image: torch.Tensor, step: int) -> None:
    """Log a (3, H, W) image in [0, 1], e.g. the sample grid, to loggers that keep images (W&B, TensorBoard)."""
    if isinstance(logger, WandbLogger):
        logger.log_image(key=key, images=[image], step=step)
    elif isinstance(logger, TensorBoardLogger):
        logger.experiment.add_image(key, image, global_step=step)


def log_model_artifact(logger: Logger | bool, path: Path, name: str, metadata: dict) -> None:
    """Upload an exported style model as a W&B model artifact (queued for `wandb sync` when offline)."""
    if isinstance(logger, WandbLogger):
        import wandb

        artifact = wandb.Artifact(name=name, type="model", metadata=metadata)
        artifact.add_file(str(path))
        logger.experiment.log_artifact(artifact)
