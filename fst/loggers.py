"""Experiment loggers: W&B online when credentials exist, otherwise offline with a notice."""

from __future__ import annotations

import csv
import netrc
import os
import warnings
from pathlib import Path
from urllib.parse import urlparse

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger
from pytorch_lightning.loggers.logger import rank_zero_experiment
from pytorch_lightning.utilities import rank_zero_only

# Said by Lightning's CSV writer, which ResumableCSVLogger keeps from deleting anything.
warnings.filterwarnings("ignore", message=r"Experiment logs directory .* exists and is not empty")


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
    return instantiate(cfg)


class ResumableCSVLogger(CSVLogger):
    """Lightning's CSVLogger, except that a run resumed in its folder adds to metrics.csv.

    Lightning's writer deletes an existing metrics.csv when it starts, which would lose a resumed run's history.
    """

    @property
    @rank_zero_experiment  # other DDP ranks get Lightning's no-op experiment and leave the file alone
    def experiment(self):
        if self._experiment is None:
            metrics_file = Path(self.log_dir) / "metrics.csv"
            history = csv.DictReader(metrics_file.read_text().splitlines()) if metrics_file.is_file() else None
            rows = list(history) if history else []
            writer = super().experiment  # deletes metrics.csv
            if rows:
                # The writer appends under its sorted columns, and rewrites the file when a new metric appears.
                writer.metrics_keys = sorted(history.fieldnames)
                with open(metrics_file, "w", newline="") as f:
                    out = csv.DictWriter(f, fieldnames=writer.metrics_keys)
                    out.writeheader()
                    out.writerows(rows)
        return self._experiment


def log_config(logger: Logger | bool, cfg: DictConfig) -> None:
    if logger:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))


def log_model_artifact(logger: Logger | bool, path: Path, name: str, metadata: dict) -> None:
    """Upload an exported style model as a W&B model artifact (queued for `wandb sync` when offline)."""
    if isinstance(logger, WandbLogger):
        import wandb

        artifact = wandb.Artifact(name=name, type="model", metadata=metadata)
        artifact.add_file(str(path))
        logger.experiment.log_artifact(artifact)
