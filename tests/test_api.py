"""The Python API (fst.list_models, fst.load, Model.stylize and stylize_file, fst.train) on real shipped models: the
same pixels as the command line, every picture type, errors as one FstError line; and the library without Hydra."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import fst
from conftest import random_image, run_script, tiny_overrides
from fst.models.zoo import shipped_models


@pytest.fixture(scope="module")
def candy():
    return fst.load("candy")


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return random_image((72, 56), seed=3)


def test_list_models_names_the_shipped_models():
    names = fst.list_models()
    assert names == list(shipped_models()) and "candy" in names and "multi_style" in names


def test_an_unknown_model_is_one_line_listing_the_shipped_names():
    with pytest.raises(fst.FstError, match="model=nosuch is neither a file nor a shipped model; shipped models: .*candy"):
        fst.load("nosuch")
    with pytest.raises(fst.FstError, match="checkpoint not found: missing/model.safetensors"):
        fst.load("missing/model.safetensors")


def test_a_model_says_what_it_is(candy):
    assert candy.name == "candy" and candy.styles == ["candy"] and not candy.multi_style
    assert "candy" in repr(candy) and candy.path.name == "candy.safetensors"


def test_stylize_gives_the_command_lines_pixels(candy, photo, tmp_path):
    options = dict(strength=0.7, preserve_color=True, precision="fp32", device="cpu")
    photo.save(tmp_path / "photo.png")
    result = run_script("stylize.py", "ckpt=candy", f"input={tmp_path / 'photo.png'}", f"output={tmp_path / 'cli.png'}",
                        *(f"{k}={str(v).lower()}" for k, v in options.items()), "size=48")
    assert result.returncode == 0, result.stderr
    painted = candy.stylize(Image.open(tmp_path / "photo.png"), size=48, **options)
    assert isinstance(painted, Image.Image) and painted.size == (48, 37)
    assert np.array_equal(np.asarray(painted), np.asarray(Image.open(tmp_path / "cli.png")))


def test_stylize_returns_the_type_and_size_it_was_given(candy, photo):
    reference = np.asarray(candy.stylize(photo, precision="fp32", device="cpu"))
    assert reference.shape == (56, 72, 3) and np.abs(reference.astype(float) - np.asarray(photo)).mean() > 10
    as_array = candy.stylize(np.asarray(photo), precision="fp32", device="cpu")
    assert as_array.dtype == np.uint8 and np.array_equal(as_array, reference)
    floats = candy.stylize(np.asarray(photo, dtype=np.float32) / 255, precision="fp32", device="cpu")
    assert floats.dtype == np.float32 and floats.shape == (56, 72, 3)
    assert np.abs(floats * 255 - reference).max() < 1.01  # the same painting, not rounded down to bytes
    tensor = torch.from_numpy(np.array(photo)).permute(2, 0, 1).float() / 255
    one = candy.stylize(tensor, precision="fp32", device="cpu")
    batch = candy.stylize(torch.stack([tensor, tensor.flip(-1)]), precision="fp32", device="cpu")
    assert one.shape == (3, 56, 72) and batch.shape == (2, 3, 56, 72)
    torch.testing.assert_close(batch[0], one, atol=1e-5, rtol=0)
    assert candy.stylize(photo.convert("L"), device="cpu").mode == "RGB"


def test_the_stylizer_is_kept_for_the_same_options(candy):
    first = candy.stylizer(precision="fp32", device="cpu")
    assert candy.stylizer(precision="fp32", device="cpu") is first
    assert candy.stylizer(precision="fp32", device="cpu", strength=0.5) is not first


def test_a_multi_style_model_paints_a_style_or_a_mix(photo):
    model = fst.load("multi_style")
    assert model.multi_style and "candy" in model.styles
    candy = np.asarray(model.stylize(photo, style="candy", precision="fp32", device="cpu"))
    mix = np.asarray(model.stylize(photo, style={"candy": 1, "udnie": 1}, precision="fp32", device="cpu"))
    same_mix = np.asarray(model.stylize(photo, style="candy:0.5,udnie:0.5", precision="fp32", device="cpu"))
    assert np.array_equal(mix, same_mix) and not np.array_equal(candy, mix)
    with pytest.raises(fst.FstError, match="this model paints 8 styles .*pick one with style="):
        model.stylize(photo)


@pytest.mark.parametrize("call,message", [
    (lambda m, p: m.stylize(p, strenght=0.5), "unknown stylize option 'strenght'; the options are style, size, calibration, calibration_size, device"),
    (lambda m, p: m.stylize(p, strength=2), "strength must be between 0 and 1, got 2"),
    (lambda m, p: m.stylize(p, style="udnie"), "style=udnie: this model paints one style, candy"),
    (lambda m, p: m.stylize(p, size=0), "size must be > 0, got 0"),
    (lambda m, p: m.stylize("photo.jpg"), "stylize takes a PIL image, a numpy array or a torch tensor, not str"),
    (lambda m, p: m.stylize(torch.rand(4, 8, 8)), r"a tensor must be \(3, H, W\) or \(B, 3, H, W\)"),
])
def test_mistakes_are_one_fst_error_line(candy, photo, call, message):
    with pytest.raises(fst.FstError, match=message) as caught:
        call(candy, photo)
    assert "\n" not in str(caught.value)


def test_stylize_file_writes_what_the_command_writes(candy, photo, tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    photo.save(folder / "a.png")
    random_image((40, 60), seed=9).save(folder / "sub" / "b.png")
    written = candy.stylize_file(folder, tmp_path / "out", precision="fp32", device="cpu")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["a.png", "sub/b.png"]
    direct = candy.stylize(Image.open(folder / "a.png"), precision="fp32", device="cpu")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a.png")), np.asarray(direct))
    with pytest.raises(fst.FstError, match="output exists"):
        candy.stylize_file(folder / "a.png", tmp_path / "out" / "a.png")


def test_train_from_python_writes_a_model_that_loads(tiny_data, tmp_path):
    path = fst.train([*tiny_overrides(tiny_data, tmp_path / "run"), "trainer=cpu"])
    model = fst.load(path)
    assert path.is_file() and model.name == "tiny"
    assert model.stylize(random_image((40, 32)), device="cpu").size == (40, 32)
    with pytest.raises(fst.FstError, match="unknown option 'optimizer.lrr'"):
        fst.train(["optimizer.lrr=1"])


def test_the_library_imports_neither_hydra_nor_omegaconf():
    """fst's library packages take typed arguments; the configs become those arguments in fst/commands."""
    import fst.models

    modules = ["fst", "fst.api"]
    for package in ("models", "losses", "data", "inference", "export", "app"):
        path = [str(fst.models.__path__[0]).replace("models", package)]
        modules += [f"fst.{package}", *(info.name for info in pkgutil.iter_modules(path, f"fst.{package}."))]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'hydra', 'omegaconf'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]" and len(modules) > 30


def test_the_library_loads_a_shipped_model_by_name_too():
    from fst.models import load_style_model, read_card

    net, card = load_style_model("candy")
    assert card.name == "candy" and read_card("candy") == card and sum(p.numel() for p in net.parameters()) > 0
    with pytest.raises(fst.FstError, match="model=nosuch is neither a file nor a shipped model"):
        load_style_model("nosuch")


def test_stylize_file_steadies_a_gif_with_the_temporal_options(candy, tmp_path):
    frames = [random_image((40, 32), seed=i) for i in range(3)]
    frames[0].save(tmp_path / "clip.gif", save_all=True, append_images=frames[1:], duration=100)
    for temporal, name in [(True, "default.gif"), (fst.TemporalOptions(strength=0.6), "steadier.gif"), (False, "plain.gif")]:
        written = candy.stylize_file(tmp_path / "clip.gif", tmp_path / name, temporal=temporal, device="cpu")
        with Image.open(written[0]) as gif:
            assert gif.n_frames == 3 and gif.size == (40, 32)
    with pytest.raises(fst.FstError, match=r"temporal.strength must be in \[0, 1\), got 1.5"):
        candy.stylize_file(tmp_path / "clip.gif", tmp_path / "bad.gif", temporal=fst.TemporalOptions(strength=1.5))
