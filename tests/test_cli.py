"""The command layer as a new user meets it: every mistake gets one line naming the option and the fix, nothing
silently does the wrong thing, nothing is written where it should not be, and the output says what happens."""

from __future__ import annotations

import json
import logging
import os
import re
import stat

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import (
    assert_one_line_error,
    compose_config,
    make_net,
    random_image,
    run_script,
    save_toy_model,
    tiny_overrides,
)
from fst.commands.stylize import stylize_config
from fst.config import options_of
from fst.errors import FstError
from fst.export.formats import export
from fst.hardware import cpu_training_precision
from fst.models import read_card
from fst.options import ExportOptions

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    torch.manual_seed(0)
    return save_toy_model(make_net(width=0.25, num_residual_blocks=1), tmp_path_factory.mktemp("toy") / "toy.safetensors")


@pytest.fixture
def photo(tmp_path):
    random_image((40, 30), seed=1).save(tmp_path / "photo.jpg")
    return tmp_path / "photo.jpg"


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["inptu=x.jpg"], ["unknown option 'inptu'; did you mean input=...?"]),
        (["--input", "x.jpg"], ["write input=x.jpg, not --input"]),
        (["ckpt=TOY", "input=PHOTO", "size=abc"], ["size=abc: expected a whole number"]),
        (["ckpt=TOY", "input=PHOTO", "preserve_color=yes_please"], ["preserve_color=yes_please: expected true or false"]),
        (["ckpt=TOY", "input=PHOTO", "preserve_color=2"], ["preserve_color=2: not a yes/no value"]),
        (["ckpt=TOY", "input=PHOTO", "strength=3"], ["strength must be between 0 and 1, got 3.0"]),
        (["ckpt=TOY", "input=PHOTO", "style=candy"], ["style=candy: this model paints one style, toy"]),
        (["ckpt=TOY", "input=PHOTO", "output=out.xyz"], ["output=out.xyz: fst does not write .xyz files"]),
        (["ckpt=TOY", "input=PHOTO", "output=clip.mp4"], ["names video file but input is image"]),
        (["ckpt=TOY", "input=PHOTO", "output=PHOTO/inside.jpg"], ["is a file, not a folder"]),
    ],
)
def test_stylize_mistakes_are_one_line_before_any_work(toy, photo, tmp_path, args, fragments):
    args = [a.replace("TOY", str(toy)).replace("PHOTO", str(photo)) for a in args]
    result = run_script("stylize.py", *args, cwd=tmp_path)
    assert_one_line_error(result, *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg"]  # nothing written


def test_yes_and_no_are_booleans(toy, photo, tmp_path):
    no = run_script("stylize.py", f"ckpt={toy}", f"input={photo}", "preserve_color=no", "output=no.png", cwd=tmp_path)
    false = run_script("stylize.py", f"ckpt={toy}", f"input={photo}", "preserve_color=false", "output=false.png", cwd=tmp_path)
    yes = run_script("stylize.py", f"ckpt={toy}", f"input={photo}", "preserve_color=yes", "output=yes.png", cwd=tmp_path)
    assert no.returncode == false.returncode == yes.returncode == 0, no.stderr[-2000:]
    pixels = {name: np.asarray(Image.open(tmp_path / f"{name}.png")) for name in ("no", "false", "yes")}
    assert np.array_equal(pixels["no"], pixels["false"]) and not np.array_equal(pixels["no"], pixels["yes"])


@pytest.mark.parametrize("script", ["train", "stylize", "export", "evaluate", "optimize", "models"])
def test_help_describes_the_command_its_options_and_examples(script):
    result = run_script(f"{script}.py", "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    assert "Powered by Hydra" not in text and text.startswith(f"fst-{script}: ")
    examples = text.split("examples:")[1].split("options")[0]
    assert 3 <= len([line for line in examples.splitlines() if line.strip().startswith("fst-")]) <= 5
    options = text.split("options (key=default, then what it does):")[1]
    assert re.search(r"^  \w[\w.]*=\S", options, re.M)
    if script == "stylize":  # its own options, not the training groups
        assert "ckpt=???" in options and "strength=1.0" in options and "trainer" not in text and "experiment" not in text


def test_a_misspelt_style_name_is_an_error_listing_the_styles(tiny_data, tmp_path):
    result = run_script("train.py", *tiny_overrides(tiny_data, tmp_path / "run"), "style.name=starry_nigth",
                        f"style.image={tiny_data}/styles/starry_nigth.jpg")
    assert_one_line_error(result, "style.name=starry_nigth is not a known style (candy", "style.image=/path/to/painting.jpg")
    assert not list(tmp_path.glob("**/*.ckpt"))


def test_resuming_another_runs_checkpoint_under_other_settings_is_refused_with_the_command_that_resumes_it(tiny_data, tmp_path):
    first = run_script("train.py", *tiny_overrides(tiny_data, tmp_path / "first"), "logger=none")
    assert first.returncode == 0, first.stderr[-2000:]
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    # the same command line, minus the image size and the step count: the defaults (256 px, 40 000 steps) differ
    trap = [o for o in tiny_overrides(tiny_data, tmp_path / "second") if not o.startswith(("data.image_size", "trainer.max_steps"))]
    refused = run_script("train.py", *trap, "logger=none", f"ckpt_path={last}")
    assert_one_line_error(refused, "is from a run with other settings", "data.image_size 32 (now 256)",
                          "trainer.max_steps 4 (now 40000)", "resume it as it was with: python scripts/train.py")
    assert not (tmp_path / "second" / "checkpoints").exists()
    command = refused.stderr.split("resume it as it was with: ")[1].strip().split()
    assert "data.image_size=32" in command and "trainer.max_steps=4" in command and f"ckpt_path={last}" in command
    # asking for other settings on the command line is allowed: here, more steps
    more = run_script("train.py", *tiny_overrides(tiny_data, tmp_path / "third"), "logger=none", f"ckpt_path={last}", "trainer.max_steps=6")
    assert more.returncode == 0, more.stderr[-2000:]
    assert read_card(tmp_path / "third" / "tiny.safetensors").training.steps == 6


def test_rerunning_an_experiment_in_its_folder_without_an_override_it_started_with_is_refused(tiny_data, tmp_path):
    """The experiment is the run's own, so it asks for nothing new: the dropped image size must not pass unseen."""
    first = run_script("train.py", *tiny_overrides(tiny_data, tmp_path), "experiment=demo", "logger=none")
    assert first.returncode == 0, first.stderr[-2000:]
    trap = [o for o in tiny_overrides(tiny_data, tmp_path) if not o.startswith("data.image_size")]
    refused = run_script("train.py", *trap, "experiment=demo", "logger=none", "ckpt_path=last", "trainer.max_steps=6")
    assert_one_line_error(refused, "is from a run with other settings", "data.image_size 32 (now 128)")
    # the command offered is the first run's (this run's Hydra record was rewritten), with its image size
    assert "data.image_size=32" in refused.stderr.split("resume it as it was with: ")[1].split()


def test_outputs_of_other_file_types(toy, photo, tmp_path):
    result = run_script("stylize.py", f"ckpt={toy}", f"input={photo}", "output=x.tiff", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "x.tiff").is_file() and Image.open(tmp_path / "x.tiff").format == "TIFF"


@pytest.mark.parametrize("what", ["image", "folder", "video", "export"])
def test_an_unwritable_output_is_refused_before_the_model_loads(toy, photo, tmp_path, monkeypatch, what):
    readonly = tmp_path / "readonly"  # root may write anywhere: the permission is what os.access answers
    readonly.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(readonly) else real_access(path, mode))
    for module in ("fst.inference.files", "fst.export.formats"):
        monkeypatch.setattr(f"{module}.load_style_model", lambda *_: pytest.fail("the model was loaded"))
    inputs = {"image": photo, "folder": photo.parent, "video": tmp_path / "clip.mp4", "export": None}
    outputs = {"image": readonly / "out.jpg", "folder": readonly / "out", "video": readonly / "out.mp4", "export": readonly / "m.onnx"}
    (tmp_path / "clip.mp4").write_bytes(b"not decoded before the check")
    with pytest.raises(FstError, match=f"output: cannot write {outputs[what]}.*: {readonly} is not writable"):
        if what == "export":
            export(options_of(compose_config("export", [f"ckpt={toy}", f"output={outputs[what]}"]), ExportOptions))
        else:
            stylize_config(compose_config("stylize", [f"ckpt={toy}", f"input={inputs[what]}", f"output={outputs[what]}"]))
    assert not any(readonly.iterdir())


def test_a_folder_rerun_with_other_options_redoes_its_outputs(toy, tmp_path, caplog):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        random_image((60, 40), seed=i).save(photos / f"{i}.png")
    out = tmp_path / "out"
    caplog.set_level(logging.INFO, logger="fst")

    def run(size):
        return stylize_config(compose_config("stylize", [f"ckpt={toy}", f"input={photos}", f"output={out}", f"size={size}"]))

    assert len(run(30)) == 2 and Image.open(out / "0.png").size == (30, 20)
    assert run(30) == []  # the same options: kept
    assert "kept 2 images already stylized with these options" in caplog.text
    assert len(run(48)) == 2 and Image.open(out / "0.png").size == (48, 32)  # other options: redone
    assert "options changed since the last run into this folder (size 30 -> 48)" in caplog.text
    assert json.loads((out / ".fst-stylize.json").read_text())["size"] == 48


def test_export_writes_to_an_exports_folder_with_normal_permissions_and_little_output(tmp_path):
    result = run_script("export.py", "ckpt=candy", "format=torchscript", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "fst: wrote exported/candy.pt" and not result.stderr.strip()
    mode = stat.S_IMODE((tmp_path / "exported" / "candy.pt").stat().st_mode)
    assert mode == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("content,fragment", [(b"\x00\x01garbage" * 100, "neither a safetensors file nor a PyTorch checkpoint"),
                                              (None, "it is a JPEG image, not a weights file")])
def test_a_file_that_is_not_a_model_is_named_for_what_it_is(photo, tmp_path, content, fragment):
    model = tmp_path / "model.pth"
    if content is None:
        model.write_bytes(photo.read_bytes())
    else:
        model.write_bytes(content)
    result = run_script("stylize.py", f"ckpt={model}", f"input={photo}", cwd=tmp_path)
    assert_one_line_error(result, f"cannot read checkpoint {model}", fragment)
    assert "weights_only" not in result.stderr


def test_training_says_which_preset_it_picked_counts_steps_to_max_steps_and_keeps_quiet(tiny_data, tmp_path):
    overrides = [o for o in tiny_overrides(tiny_data, tmp_path) if not o.startswith("trainer.max_steps")]
    result = run_script("train.py", *overrides, "trainer.max_steps=5", "trainer.val_check_interval=5")
    assert result.returncode == 0, result.stderr[-2000:]
    precision = cpu_training_precision()
    assert re.search(rf"^fst: trainer=cpu \({'bf16-mixed' if precision == 'bf16-mixed' else 'fp32'}", result.stdout, re.M)
    assert read_card(tmp_path / "tiny.safetensors").training.precision == precision
    assert "train steps: 100%" in result.stdout and "5/5" in result.stdout and "Epoch" not in result.stdout
    output = result.stdout + result.stderr
    for chatter in ["litlogger", "anonymous setting", "LeafSpec", "GPU available"]:
        assert chatter not in output, chatter
    verbose = run_script("train.py", *overrides, "trainer.max_steps=1", "verbose=true", f"paths.output_dir={tmp_path / 'v'}",
                         f"hydra.run.dir={tmp_path / 'v'}")
    assert verbose.returncode == 0 and "GPU available" in verbose.stdout + verbose.stderr


def test_a_large_image_shows_its_tiles_progress(toy, tmp_path):
    random_image((700, 300), seed=3).save(tmp_path / "wide.png")
    result = run_script("stylize.py", f"ckpt={toy}", f"input={tmp_path / 'wide.png'}", "tile_size=256", "stroke_size=1",
                        "device=cpu", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"tiles: +\d+%.*\| \d+/\d+ \[", result.stderr)  # a bar, cleared when the image is done
