"""W&B goes offline without credentials; TensorBoard, csv and none work without any account."""

import csv

import pytest
from omegaconf import OmegaConf
from pytorch_lightning.loggers import CSVLogger, WandbLogger

from conftest import compose_config, tiny_overrides
from fst.training.loggers import build_logger, wandb_credentials_available
from fst.training.run import train


@pytest.fixture
def no_wandb_credentials(monkeypatch, tmp_path):
    for var in ["WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_credentials_come_from_env_or_netrc(no_wandb_credentials, monkeypatch):
    assert not wandb_credentials_available()
    (no_wandb_credentials / "netrc").write_text("machine api.wandb.ai\n  login user\n  password abc123\n")
    assert wandb_credentials_available()
    (no_wandb_credentials / "netrc").unlink()
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert wandb_credentials_available()


def wandb_cfg(save_dir):
    cfg = compose_config("train", ["logger=wandb", f"paths.output_dir={save_dir}"])
    return OmegaConf.create(OmegaConf.to_container(cfg.logger, resolve=True))


def test_wandb_goes_offline_with_a_notice_when_no_key(no_wandb_credentials, capsys):
    logger = build_logger(wandb_cfg(no_wandb_credentials))
    assert isinstance(logger, WandbLogger) and logger._offline
    assert "wandb sync" in capsys.readouterr().out


def test_empty_logger_group_means_no_logger(tmp_path):
    assert build_logger(compose_config("train", ["logger=none", f"paths.output_dir={tmp_path}"]).logger) is False
    csv = build_logger(compose_config("train", ["logger=csv", f"paths.output_dir={tmp_path}"]).logger)
    assert isinstance(csv, CSVLogger)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_training_with_wandb_offline_logs_run_and_model(no_wandb_credentials, tiny_data):
    run_dir = no_wandb_credentials / "run"
    overrides = [*tiny_overrides(tiny_data, run_dir), "logger=wandb", "trainer.max_steps=2"]
    train(compose_config("train", overrides))
    import wandb

    wandb.finish()
    offline_runs = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 1
    assert list(offline_runs[0].glob("*.wandb"))  # the run's log, ready for `wandb sync`


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_tensorboard_logs_losses_learning_rate_sample_grids_and_config(tiny_data, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), "logger=tensorboard"]))
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    scalars = events.Tags()["scalars"]
    for key in ["train/total", "train/content", "train/style", "train/grad_norm", "lr-Adam", "val/total"]:
        assert key in scalars, key
    assert [e.step for e in events.Scalars("train/total")] == [0, 1, 2, 3]
    assert [e.step for e in events.Images("val/samples")] == [2, 4]  # a grid at every validation
    assert "style:" in (tmp_path / "tensorboard" / "hparams.yaml").read_text()  # the run's config


@pytest.mark.filterwarnings("ignore:Experiment logs directory")  # fst's training run filters it
def test_csv_logger_keeps_the_history_and_other_ranks_leave_it_alone(tmp_path, monkeypatch):
    from pytorch_lightning.loggers.csv_logs import ExperimentWriter
    from pytorch_lightning.utilities import rank_zero_only

    metrics = tmp_path / "csv" / "metrics.csv"
    metrics.parent.mkdir()
    # Columns in any order; step 1 was logged by a run that stopped before its next checkpoint.
    metrics.write_text("train/total,step\n1.5,0\n9.0,1\n")
    logger = build_logger(compose_config("train", ["logger=csv", f"paths.output_dir={tmp_path}"]).logger)
    monkeypatch.setattr(rank_zero_only, "rank", 1)
    other_rank = logger.experiment  # Lightning's no-op experiment: calls on it do nothing
    assert other_rank is not None and not isinstance(other_rank, ExperimentWriter)
    assert metrics.read_text() == "train/total,step\n1.5,0\n9.0,1\n"
    monkeypatch.setattr(rank_zero_only, "rank", 0)
    # Step 1 trained again (its old row goes), then step 2 with a new column.
    for step, values in [(1, {"train/total": 1.0}), (2, {"val/total": 2.0})]:
        logger.log_metrics(values, step=step)
        logger.save()
    with open(metrics) as f:
        rows = list(csv.DictReader(f))
    assert [(r["step"], r["train/total"], r["val/total"]) for r in rows] == [("0", "1.5", ""), ("1", "1.0", ""), ("2", "", "2.0")]
