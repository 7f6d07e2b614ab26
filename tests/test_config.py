"""Every config group composes, and the composed objects instantiate."""

import subprocess
import sys
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from conftest import SHARED, compose_config, needs_shared
from fst.models.transformer_net import TransformerNet
from fst.resources import CONF_DIR

GROUPS = ["style", "data", "model", "loss", "trainer", "logger", "experiment", "scheduler", "paths"]
STYLES = sorted(p.stem for p in (CONF_DIR / "style").glob("*.yaml"))


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def test_the_ten_styles_are_configured():
    assert STYLES == sorted(
        ["starry_night", "great_wave", "the_scream", "composition_vii", "candy", "mosaic", "udnie", "feathers", "la_muse", "rain_princess"]
    )


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in options(g)])
def test_every_option_composes(group, option, tmp_path):
    cfg = compose_config("train", [f"{group}={option}", f"paths.output_dir={tmp_path}"])
    # Resolving every interpolation catches typos in keys and paths.
    container = OmegaConf.to_container(cfg, resolve=True)
    assert container["trainer"]["max_steps"] > 0
    assert container["style"]["name"]


def test_style_sets_its_image_and_weights():
    cfg = compose_config("train", ["style=great_wave", "paths.data_dir=/d", "paths.output_dir=/o"])
    assert cfg.style.image == "/d/styles/great_wave.jpg"
    assert cfg.loss.style_weight > 0


def test_a_new_style_needs_no_yaml():
    cfg = compose_config("train", ["style.name=mine", "style.image=/art/painting.jpg", "paths.output_dir=/o"])
    assert cfg.style.name == "mine" and cfg.style.image == "/art/painting.jpg"
    assert cfg.callbacks.export.name == "mine"


def test_environment_sets_data_dir_and_vgg_weights(monkeypatch):
    monkeypatch.setenv("FST_DATA_DIR", "/somewhere")
    monkeypatch.setenv("FST_VGG_WEIGHTS", "/w/vgg.safetensors")
    cfg = compose_config("train", ["paths.output_dir=/o"])
    assert cfg.data.train_dir == "/somewhere/content/train"
    assert cfg.loss.vgg_weights == "/w/vgg.safetensors"


def test_demo_experiment_is_quick_and_uses_the_cpu_preset():
    cfg = compose_config("train", ["experiment=demo", "paths.output_dir=/o"])
    assert cfg.trainer.max_steps <= 500 and cfg.data.image_size <= 128
    assert cfg.trainer.accelerator == "cpu" and cfg.trainer.precision in ("bf16-mixed", "32-true")


@pytest.mark.parametrize("native_bf16,precision", [(True, "bf16-mixed"), (False, "32-true")])
def test_cpu_preset_uses_bf16_only_where_the_cpu_runs_it_natively(monkeypatch, native_bf16, precision):
    monkeypatch.setattr("fst.hardware.cpu_has_fast_bf16", lambda: native_bf16)
    cfg = compose_config("train", ["trainer=cpu", "paths.output_dir=/o"])
    assert cfg.trainer.precision == precision
    # an explicit choice wins over the preset
    cfg = compose_config("train", ["trainer=cpu", "trainer.precision=bf16-mixed", "paths.output_dir=/o"])
    assert cfg.trainer.precision == "bf16-mixed"


@pytest.mark.parametrize("trainer", ["cpu", "gpu"])
def test_zoo_experiment_is_the_documented_recipe_on_either_device(trainer):
    cfg = compose_config("train", ["experiment=zoo", f"trainer={trainer}", "paths.output_dir=/o"])
    assert (cfg.data.image_size, cfg.data.batch_size, cfg.trainer.max_steps) == (256, 4, 5000)
    assert cfg.performance.channels_last and not cfg.performance.activation_checkpointing
    assert cfg.trainer.gradient_clip_val == 500 and cfg.ckpt_path == "last" and cfg.run_name == "zoo"
    # the LR decays to 0 over exactly the run's steps
    assert cfg.scheduler._target_.endswith("CosineAnnealingLR") and cfg.scheduler.T_max == cfg.trainer.max_steps


def test_model_config_instantiates_default_transformer_net():
    cfg = compose_config("train", ["paths.output_dir=/o"])
    net = instantiate(cfg.model)
    assert isinstance(net, TransformerNet) and net.config["num_residual_blocks"] == 5


def test_trainer_presets_instantiate(tmp_path):
    for preset in ["default", "cpu", "ddp_sim"]:
        cfg = compose_config("train", [f"trainer={preset}", f"paths.output_dir={tmp_path}", "trainer.accelerator=cpu"])
        trainer = instantiate(cfg.trainer, logger=False, enable_progress_bar=False)
        assert trainer.max_steps == cfg.trainer.max_steps


def test_stylize_config_composes():
    cfg = compose_config("stylize", ["ckpt=a.safetensors", "input=b.jpg"])
    assert cfg.output is None and cfg.overwrite is False and cfg.device == "auto"


@needs_shared
@pytest.mark.parametrize("style", STYLES)
def test_every_style_image_exists_in_shared_data(style):
    cfg = compose_config("train", [f"style={style}", f"paths.data_dir={SHARED / 'data'}", "paths.output_dir=/o"])
    assert Path(cfg.style.image).is_file()


def test_group_choices_are_checked_in_multirun_sweeps():
    from fst.commands.cli import check_group_choices
    from fst.errors import FstError

    check_group_choices("train", ["style=candy,mosaic", "trainer=cpu", "style=glob(*)"])  # all exist, or Hydra's to expand
    with pytest.raises(FstError, match="unknown style 'monet'; choose one of: candy"):
        check_group_choices("train", ["style=candy,monet"])


def test_importing_fst_changes_no_global_state():
    """No warning filters and no OmegaConf resolvers until a command (or a test) asks for them."""
    check = (
        "import warnings, torch, pytorch_lightning, hydra, torchvision, torchmetrics\n"
        "from omegaconf import OmegaConf\n"
        "before = list(warnings.filters)\n"
        "import fst.models, fst.training.run, fst.inference.files, fst.evaluation.measure, fst.export.formats, fst.config\n"
        "assert list(warnings.filters) == before, [f for f in warnings.filters if f not in before]\n"
        "assert not OmegaConf.has_resolver('cpu_precision')\n"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
