"""Stylize images and folders with exported and Lightning checkpoints; user errors are one line."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

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
from fst.data.images import load_image
from fst.errors import FstError
from fst.models import load_style_model, read_card
from fst.training.run import train


@pytest.fixture(scope="module")
def style_model(tmp_path_factory):
    torch.manual_seed(0)
    net = make_net(width=0.5, num_residual_blocks=1)
    return save_toy_model(net, tmp_path_factory.mktemp("ckpt") / "toy.safetensors")


@pytest.fixture
def photos(tmp_path):
    root = tmp_path / "photos"
    (root / "trip" / "day1").mkdir(parents=True)
    random_image((40, 30), seed=1).save(root / "a.jpg")
    random_image((40, 30), seed=2).save(root / "trip" / "b.png")
    random_image((33, 21), seed=3).save(root / "trip" / "day1" / "c.png")
    (root / "readme.txt").write_text("not an image")
    return root


def run(ckpt, input, output=None, **options):
    overrides = [f"ckpt={ckpt}", f"input={input}", f"output={output}" if output else "output=null"]
    overrides += [f"{k}={v}" for k, v in options.items()]
    return stylize_config(compose_config("stylize", overrides))


def test_export_round_trip_keeps_weights_and_card(style_model):
    card = read_card(style_model)
    assert card.name == "toy" and card.training.steps == 7 and card.loss.content_layer == "relu2_2"
    net, loaded_card = load_style_model(style_model)
    assert loaded_card.network == {"width": 0.5, "num_residual_blocks": 1, "norm": "instance", "upsampling": "nearest", "output_activation": "none"}
    assert all(p.dtype == torch.float32 for p in net.parameters())  # fp16 on disk, fp32 to run
    torch.manual_seed(0)
    original = make_net(width=0.5, num_residual_blocks=1)
    for (name, a), b in zip(original.state_dict().items(), net.state_dict().values()):
        torch.testing.assert_close(a.half().float(), b, msg=name)


def test_stylize_one_file_keeps_its_size(style_model, photos, tmp_path):
    written = run(style_model, photos / "trip" / "day1" / "c.png", tmp_path / "out.png")
    assert written == [tmp_path / "out.png"]
    result, original = load_image(tmp_path / "out.png"), load_image(photos / "trip" / "day1" / "c.png")
    assert result.shape == original.shape == (3, 21, 33)
    assert not torch.allclose(result, original, atol=0.05)


def test_stylize_folder_keeps_layout_and_resizes(style_model, photos, tmp_path):
    out = tmp_path / "out"
    written = run(style_model, photos, out, size=20, batch_size=2)
    assert sorted(p.relative_to(out).as_posix() for p in written) == ["a.jpg", "trip/b.png", "trip/day1/c.png"]
    assert load_image(out / "a.jpg").shape == (3, 15, 20)  # long side 20
    assert load_image(out / "trip" / "day1" / "c.png").shape == (3, 13, 20)


def test_default_output_is_a_new_folder_named_after_the_style(style_model, photos, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = run(style_model, photos / "a.jpg")
    assert [p.as_posix() for p in written] == ["stylized/toy/a.jpg"]


def test_never_overwrites_without_permission(style_model, photos, tmp_path):
    target = tmp_path / "out.jpg"
    target.write_bytes(b"precious")
    with pytest.raises(FstError, match="overwrite=true"):
        run(style_model, photos / "a.jpg", target)
    assert target.read_bytes() == b"precious"
    run(style_model, photos / "a.jpg", target, overwrite="true")
    assert load_image(target).shape == (3, 30, 40)
    with pytest.raises(FstError, match="overwrite the input"):
        run(style_model, photos / "a.jpg", photos / "a.jpg", overwrite="true")


def test_folder_skips_outputs_already_written_and_bad_files(style_model, photos, tmp_path):
    out = tmp_path / "out"
    (photos / "broken.png").write_bytes(b"garbage")
    first = run(style_model, photos, out)
    assert len(first) == 3 and not (out / "broken.png").exists()
    (out / "a.jpg").unlink()
    assert run(style_model, photos, out) == [out / "a.jpg"]


def test_lightning_checkpoint_is_accepted(tiny_data, tmp_path, photos):
    train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path / "run"), "trainer.max_steps=2", "logger=none"]))
    written = run(tmp_path / "run" / "checkpoints" / "last.ckpt", photos / "a.jpg", tmp_path / "x.jpg")
    assert load_image(written[0]).shape == (3, 30, 40)


def test_wrong_checkpoints_are_user_errors(style_model, tmp_path, photos):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, foreign)
    with pytest.raises(FstError, match="not an fst style model"):
        load_style_model(foreign)
    wrong = tmp_path / "wrong.safetensors"
    save_toy_model(make_net(width=0.5, num_residual_blocks=1), wrong)
    state = load_file(wrong)
    with safe_open(str(wrong), "pt") as f:
        metadata = f.metadata()
    state["encoder.0.0.1.weight"] = torch.zeros(5, 3, 9, 9, dtype=torch.float16)  # 5 filters where 16 belong
    save_file(state, wrong, metadata=metadata)
    with pytest.raises(FstError, match="shape"):
        load_style_model(wrong)
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(style_model.read_bytes()[:1000])
    with pytest.raises(FstError, match="cannot read checkpoint"):
        load_style_model(truncated)


@pytest.mark.slow
@pytest.mark.parametrize(
    "args,fragments",
    [
        (["ckpt=/no/such.safetensors", "input=PHOTOS/a.jpg"], ["checkpoint not found: /no/such.safetensors"]),
        (["ckpt=starry_nigth", "input=PHOTOS/a.jpg"], ["ckpt=starry_nigth is neither a file nor a shipped model", "starry_night"]),
        (["ckpt=CKPT", "input=PHOTOS/readme.txt"], ["not an image", "readme.txt"]),
        (["ckpt=CKPT", "input=PHOTOS/missing.jpg"], ["input not found"]),
        (["ckpt=PHOTOS/a.jpg", "input=PHOTOS/a.jpg"], ["cannot read checkpoint", "it is a JPEG image, not a weights file"]),
        (["input=PHOTOS/a.jpg"], ["missing required option ckpt"]),
        (["ckpt=CKPT", "input=PHOTOS/broken.jpg"], ["cannot read image", "broken.jpg"]),
    ],
)
def test_stylize_script_errors_are_one_line(style_model, photos, tmp_path, args, fragments):
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    args = [a.replace("PHOTOS", str(photos)).replace("CKPT", str(style_model)) for a in args]
    result = run_script("stylize.py", *args, f"output={tmp_path / 'out'}")
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_stylize_script_writes_an_image(style_model, photos, tmp_path):
    result = run_script("stylize.py", f"ckpt={style_model}", f"input={photos}", f"output={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wrote 3 file(s)" in result.stdout
    assert (tmp_path / "out" / "trip" / "b.png").is_file()


@pytest.mark.slow
def test_console_entry_points_are_installed(style_model, photos, tmp_path):
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / "fst-stylize"), f"ckpt={style_model}", f"input={photos / 'a.jpg'}", f"output={tmp_path / 'o.jpg'}"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "o.jpg").is_file()
    result = subprocess.run([str(bin_dir / "fst-train"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "style" in result.stdout


@pytest.mark.slow
def test_a_shipped_model_stylizes_by_name(photos, tmp_path):
    result = run_script("stylize.py", "ckpt=candy", f"input={photos / 'a.jpg'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    stylized, photo = load_image(tmp_path / "stylized" / "candy" / "a.jpg"), load_image(photos / "a.jpg")
    assert stylized.shape == photo.shape and (stylized - photo).abs().mean() > 0.05
