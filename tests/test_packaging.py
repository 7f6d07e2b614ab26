"""The built wheel carries conf/ and checkpoints/: installed into a fresh virtual environment, every command
works from any working directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from PIL import Image

from conftest import REPO, random_image
from fst.models import read_card

pytestmark = pytest.mark.slow


def run(*command, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=600, env={**environment, **(env or {})})
    assert result.returncode == 0, f"{command}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with fst installed from its wheel; it reuses this environment's dependencies."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for folder in ("fst", "conf", "checkpoints"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "eval"))
    shutil.copytree(REPO / "demo", source / "demo")  # its content/eval/ photos ship too
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", root / "dist", source, cwd=root)
    (wheel,) = (root / "dist").glob("fst-*.whl")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    target = Path(run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root).stdout.strip())
    # The dependencies (torch, Lightning, ...) come from this environment; fst itself only from the wheel.
    (target / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--no-deps", "--no-index", wheel, cwd=root)
    return venv


def test_the_wheel_holds_the_configs_and_the_shipped_models(installed):
    where = run(installed / "bin" / "python", "-c", "import fst.resources as r; print(r.CONF_DIR); print(r.CHECKPOINTS_DIR)", cwd=installed)
    conf, checkpoints = map(Path, where.stdout.split())
    assert installed in conf.parents and conf.name == "conf" and (conf / "train.yaml").is_file()
    assert sorted(p.name for p in (conf / "style").glob("*.yaml")) == sorted(p.name for p in (REPO / "conf" / "style").glob("*.yaml"))
    shipped = sorted(p.name for p in (REPO / "checkpoints").glob("*.safetensors"))
    assert installed in checkpoints.parents and sorted(p.name for p in checkpoints.glob("*.safetensors")) == shipped


def test_installed_commands_work_from_any_folder(installed, tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    random_image((40, 30), seed=3).save(work / "photo.jpg")
    result = run(installed / "bin" / "fst-stylize", "ckpt=starry_night", "input=photo.jpg", "device=cpu", cwd=work)
    assert "wrote 1 file(s)" in result.stdout
    assert Image.open(work / "stylized" / "starry_night" / "photo.jpg").size == (40, 30)
    models = run(installed / "bin" / "fst-models", cwd=work)
    steps = read_card(REPO / "checkpoints" / "starry_night.safetensors").training.steps
    assert f"| starry_night | transformer_net | starry_night | {steps} |" in models.stdout
    config = run(installed / "bin" / "fst-train", "experiment=demo", "--cfg", "job", cwd=work)
    assert "max_steps: 300" in config.stdout
    for command in ("fst-export", "fst-evaluate", "fst-optimize", "fst-app"):  # their configs (and so their help) are found
        assert run(installed / "bin" / command, "--help", cwd=work).stdout.startswith(f"{command}: ")
