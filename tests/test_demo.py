"""The demo set that ships with fst (demo/): every image attributed, rebuilt by its script, and enough for
``python scripts/train.py experiment=demo`` on a fresh clone with no data prepared."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import REPO, SHARED, SHARED_VGG, needs_shared
from fst.data.images import find_images
from fst.models import load_style_model
from fst.resources import DEMO_DIR, DEMO_PHOTOS

DEMO = REPO / "demo"


def test_the_demo_set_is_a_data_dir_of_small_photos_and_one_public_domain_painting():
    assert DEMO_DIR == DEMO and DEMO_PHOTOS == DEMO / "content"
    train, held_out = find_images(DEMO / "content" / "train"), find_images(DEMO / "content" / "eval")
    assert len(train) >= 12 and len(held_out) == 4  # the demo's batch of 4, and its 4 sample-grid photos
    assert [p.name for p in find_images(DEMO / "styles")] == ["starry_night.jpg"]
    for path in train + held_out:
        assert min(Image.open(path).size) >= 256  # INT8 calibration's 256 px crops need no upscaling
    assert sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file()) < 5e6


def test_the_demo_attribution_lists_every_image_with_an_author_and_a_licence():
    rows = {}
    for line in (DEMO / "README.md").read_text().splitlines():
        match = re.match(r"\| `([^`]+)` \| (.+)", line)
        if match:
            cells = [cell.strip() for cell in match.group(2).split(" | ")]
            rows[match.group(1)] = cells
    images = sorted(str(p.relative_to(DEMO)) for p in find_images(DEMO))
    assert images and sorted(rows) == images
    for name, (work, author, licence, source) in ((k, v[:4]) for k, v in rows.items()):
        assert work and author and source, name
        assert "public domain" in licence or "CC0" in licence or "CC BY 2.0" in licence, f"{name}: {licence}"
    forbidden = ("la_muse", "rain_princess", "bsds500", "urban100", "sunhays80", "candy", "mosaic", "feathers")
    assert not [row for row in rows.values() for word in forbidden if word in row[-1].lower()]


@needs_shared
def test_the_script_rebuilds_the_demo_set_from_the_shared_data(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "tools" / "make_demo_set.py"), "--shared", str(SHARED / "data"),
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    built = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert built == sorted(str(p.relative_to(DEMO)) for p in DEMO.rglob("*") if p.is_file())
    assert (tmp_path / "README.md").read_text() == (DEMO / "README.md").read_text()
    for name in built:  # the same pixels' size (JPEG bytes may differ between Pillow versions)
        if name.endswith(".jpg"):
            assert Image.open(tmp_path / name).size == Image.open(DEMO / name).size, name


def fresh_clone(destination: Path) -> Path:
    """The files a clone of this working tree would have (tracked or new, not ignored), with no ../shared beside."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is not in a clone of it
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_VGG.is_file(), reason=f"no local VGG16 weights at {SHARED_VGG} (the test has no internet)")
def test_the_demo_trains_on_a_fresh_clone_without_data(tmp_path):
    clone = fresh_clone(tmp_path / "fst")
    assert not (clone.parent / "shared").exists()
    # The clone's fst, not the one installed from this checkout; FST_VGG_WEIGHTS stands in for the download.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FST_") and k not in ("PYTHONHOME",)}
    env |= {"PYTHONPATH": str(clone), "FST_VGG_WEIGHTS": str(SHARED_VGG), "PYTHONWARNINGS": "ignore"}

    def run(*words: str) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, *words], cwd=clone, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    where = run("-c", "import fst.resources as r; print(r.DEMO_DIR)").stdout.strip()
    assert Path(where) == clone / "demo"
    run("scripts/train.py", "experiment=demo", "trainer.max_steps=2", "trainer.val_check_interval=2", "logger=none",
        "data.num_workers=0", "trainer.enable_progress_bar=false")
    (model,) = (clone / "runs" / "demo_starry_night").glob("*/demo_starry_night.safetensors")
    net, card = load_style_model(model)
    assert card.name == "demo_starry_night" and card.style_names == ["starry_night"] and card.training.steps == 2
    # Its stylized photos go to their own folder, not the shipped starry_night's stylized/starry_night/.
    shutil.copy(DEMO / "content" / "eval" / "coffee.jpg", clone / "photo.jpg")
    run("scripts/stylize.py", f"ckpt={model}", "input=photo.jpg", "device=cpu", "size=64")
    assert (clone / "stylized" / "demo_starry_night" / "photo.jpg").is_file()
    assert not (clone / "stylized" / "starry_night").exists()


def test_the_wheel_carries_every_file_of_the_demo_set():
    import tomllib

    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"]["fst.demo"] == "demo" and "fst.demo" in setuptools["packages"]
    packaged = {path for pattern in setuptools["package-data"]["fst.demo"] for path in DEMO.glob(pattern)}
    assert packaged == {path for path in DEMO.rglob("*") if path.is_file()}


def test_without_fst_data_dir_a_painting_the_demo_set_lacks_is_a_one_line_error(monkeypatch, tmp_path):
    from conftest import compose_config
    from fst.errors import FstError
    from fst.training.run import train

    monkeypatch.delenv("FST_DATA_DIR", raising=False)
    cfg = compose_config("train", ["style=candy", "loss.vgg_weights=random", f"paths.output_dir={tmp_path}", "logger=none"])
    with pytest.raises(FstError) as error:
        train(cfg)
    message = str(error.value)
    assert "FST_DATA_DIR is not set" in message and "no candy.jpg (it has starry_night.jpg)" in message
    assert "style.image=/path/to/painting.jpg" in message and "\n" not in message
