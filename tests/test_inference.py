"""The stylization engine: tiling, precision, strength, colour and export (videos: test_video.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import (
    assert_one_line_error,
    make_net,
    make_stylizer,
    random_image,
    run_onnx_alone,
    run_script,
    save_toy_model,
    toy_card,
)
from fst.errors import FstError
from fst.inference.color import keep_colors, rgb_to_ycbcr
from fst.inference.device import default_precision
from fst.inference.tiling import spans
from fst.models import ModelCard, read_card


@pytest.fixture(scope="module")
def ckpt(net, tmp_path_factory):
    return save_toy_model(net, tmp_path_factory.mktemp("m") / "toy.safetensors", dtype="float32")


def photo(width=420, height=300, seed=0) -> torch.Tensor:
    return torch.from_numpy(np.array(random_image((width, height), seed=seed))).permute(2, 0, 1).float().div(255)[None]


def seam_positions(length: int, tile: int, overlap: int) -> list[int]:
    spans_ = spans(length, tile, overlap, multiple=4)
    return [(spans_[i][1] + spans_[i + 1][0]) // 2 for i in range(len(spans_) - 1)]


def test_tiled_matches_untiled_away_from_borders(net):
    image = photo()
    full = make_stylizer(net, precision="fp32", tile_size=4096)(image)
    # statistics measured on the whole image (it fits the stats pass), as for any image up to the tile size
    tiled = make_stylizer(net, precision="fp32", tile_size=128, tile_overlap=64, stats_size=4096)(image)
    assert tiled.shape == full.shape == image.shape
    difference = (tiled - full).abs()[..., 8:-8, 8:-8]
    assert difference.max() < 0.02 and difference.mean() < 1e-3


def column_gradient(x: torch.Tensor) -> torch.Tensor:
    return (x[..., :, 1:] - x[..., :, :-1]).abs().mean(dim=(0, 1, 2))


def row_gradient(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean(dim=(0, 1, 3))


@pytest.mark.parametrize("stats_size", [4096, 260])  # exact statistics, and ones from a half-size copy
def test_tiles_show_no_seam(net, stats_size):
    image = photo(520, 400, seed=3)
    tiled = make_stylizer(net, precision="fp32", tile_size=128, tile_overlap=64, stats_size=stats_size)(image)
    for gradient, length in [(column_gradient, 520), (row_gradient, 400)]:
        change = gradient(tiled)
        seams = seam_positions(length, 128, 64)
        assert seams
        for seam in seams:  # across a seam pixels change no more than just beside it
            near = change[seam - 6 : seam + 6].max()
            beside = torch.cat([change[seam - 40 : seam - 8], change[seam + 8 : seam + 40]]).max()
            assert near <= 1.25 * beside, (seam, near, beside)


def test_naive_tiling_would_differ(net):
    """Each tile normalized on its own (what fst avoids) gives visibly different tiles."""
    image = photo()
    full = make_stylizer(net, precision="fp32", tile_size=4096)(image)
    naive = full.clone()
    with torch.no_grad():
        naive[..., :128, :128] = net(image[..., :128, :128]).clamp(0, 1)
    assert (naive - full)[..., 16:112, 16:112].abs().mean() > 10 * 1e-3


def test_tiles_with_downscaled_statistics_stay_near_the_untiled_result(net):
    image = photo(520, 400, seed=3)
    full = make_stylizer(net, precision="fp32", tile_size=4096)(image)
    tiled = make_stylizer(net, precision="fp32", tile_size=128, tile_overlap=64, stats_size=260)(image)
    assert (tiled - full).abs().mean() < 0.1  # the same picture; the tone shifts a little


@pytest.mark.parametrize("size", [(301, 207), (129, 65), (64, 64)])
def test_exact_output_size_tiled_or_not(net, size):
    image = photo(*size)
    assert make_stylizer(net, precision="fp32", tile_size=128, tile_overlap=32)(image).shape == image.shape


def test_strength_blends_and_zero_returns_the_input(net):
    image = photo(64, 48)
    assert torch.equal(make_stylizer(net, strength=0.0)(image), image)
    full = make_stylizer(net, precision="fp32")(image)
    half = make_stylizer(net, precision="fp32", strength=0.5)(image)
    torch.testing.assert_close(half, (image + full) / 2)


def test_preserve_color_keeps_the_input_chroma_and_the_stylized_luminance(net):
    content = 0.3 + 0.4 * photo(64, 48)  # colours well inside the gamut, so nothing is clipped
    stylized = 0.25 + 0.5 * torch.rand(1, 3, 48, 64)
    kept = keep_colors(stylized, content)
    torch.testing.assert_close(rgb_to_ycbcr(kept)[:, 1:], rgb_to_ycbcr(content)[:, 1:], atol=1e-4, rtol=0)
    torch.testing.assert_close(rgb_to_ycbcr(kept)[:, 0], rgb_to_ycbcr(stylized)[:, 0], atol=1e-4, rtol=0)
    image = photo(64, 48)
    expected = keep_colors(make_stylizer(net, precision="fp32")(image), image)
    torch.testing.assert_close(make_stylizer(net, precision="fp32", preserve_color=True)(image), expected)


@pytest.mark.parametrize("native_bf16,precision", [(True, "bf16"), (False, "fp32")])
def test_cpu_default_precision_is_bf16_only_where_native(monkeypatch, native_bf16, precision):
    monkeypatch.setattr("fst.inference.device.cpu_has_fast_bf16", lambda: native_bf16)
    assert default_precision(torch.device("cpu")) == precision


def test_bf16_and_channels_last_stay_close_to_fp32(net):
    image = photo(96, 64)
    reference = make_stylizer(net, precision="fp32")(image)
    assert (make_stylizer(net, precision="bf16")(image) - reference).abs().mean() < 0.01
    torch.testing.assert_close(make_stylizer(net, precision="fp32", channels_last=True)(image), reference, atol=1e-5, rtol=0)


def test_bad_engine_options_are_user_errors(net):
    with pytest.raises(FstError, match="fp16 needs a GPU"):
        make_stylizer(net, precision="fp16")
    with pytest.raises(FstError, match="strength"):
        make_stylizer(net, strength=1.5)


@pytest.mark.slow
def test_compiled_network_matches_eager(net):
    image = photo(64, 48)
    eager = make_stylizer(net, precision="fp32")(image)
    torch.testing.assert_close(make_stylizer(net, precision="fp32", compile=True)(image), eager, atol=1e-4, rtol=0)


@pytest.mark.slow
def test_checkpoint_of_the_wrong_shape_is_a_one_line_error(tmp_path):
    from safetensors.torch import load_file, save_file

    net = make_net(width=0.5)
    path = save_toy_model(net, tmp_path / "w.safetensors")
    card = toy_card(net).replace(network={**net.config, "width": 1.0})  # claims another width
    save_file(load_file(path), path, metadata={"format": "fst-style-model/2", "fst_card": card.to_json()})
    random_image((20, 20)).save(tmp_path / "a.png")
    result = run_script("stylize.py", f"ckpt={path}", f"input={tmp_path / 'a.png'}", f"output={tmp_path / 'o.png'}")
    assert_one_line_error(result, "shape")


@pytest.mark.slow
def test_onnx_export_matches_pytorch_and_needs_no_torch(ckpt, net, tmp_path):
    result = run_script("export.py", f"ckpt={ckpt}", "format=onnx", f"output={tmp_path / 'toy.onnx'}")
    assert result.returncode == 0, result.stderr[-2000:]
    for shape in [(1, 3, 64, 80), (2, 3, 37, 51)]:
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        out = torch.from_numpy(run_onnx_alone(tmp_path / "toy.onnx", {"image": x}, tmp_path))
        with torch.no_grad():
            torch.testing.assert_close(out, net(torch.from_numpy(x)), atol=1e-4, rtol=1e-4)
    import onnx

    properties = {p.key: p.value for p in onnx.load(str(tmp_path / "toy.onnx")).metadata_props}
    assert ModelCard.from_json(properties["fst_card"]) == read_card(ckpt)  # the card travels with the model


@pytest.mark.slow
def test_torchscript_export_matches_pytorch(ckpt, net, tmp_path):
    result = run_script("export.py", f"ckpt={ckpt}", "format=torchscript", f"output={tmp_path / 'toy.pt'}")
    assert result.returncode == 0, result.stderr[-2000:]
    extra_files = {"fst_card.json": ""}
    scripted = torch.jit.load(str(tmp_path / "toy.pt"), _extra_files=extra_files)
    assert ModelCard.from_json(extra_files["fst_card.json"]) == read_card(ckpt)
    for shape in [(1, 3, 64, 80), (2, 3, 37, 51)]:
        x = torch.rand(shape)
        with torch.no_grad():
            torch.testing.assert_close(scripted(x), net(x), atol=1e-5, rtol=0)


@pytest.mark.slow
def test_export_of_a_shipped_model_by_name_goes_to_the_working_folder(tmp_path):
    result = run_script("export.py", "ckpt=mosaic", "format=torchscript", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "exported" / "mosaic.pt").is_file() and "wrote exported/mosaic.pt" in result.stdout


def test_stroke_size_paints_a_smaller_copy_and_restores_the_photos_detail(net):
    image = photo(240, 160, seed=5)
    full = make_stylizer(net, precision="fp32", stroke_size=1)(image)
    double = make_stylizer(net, precision="fp32", stroke_size=2)(image)
    assert double.shape == full.shape == image.shape
    # the network painted the image at half size: without the detail, the result is that painting scaled up
    small = torch.nn.functional.interpolate(image, size=(80, 120), mode="area")
    painted = torch.nn.functional.interpolate(make_stylizer(net, precision="fp32", stroke_size=1)(small), size=(160, 240),
                                              mode="bicubic", align_corners=False)
    assert (double - painted).abs().mean() < 0.1 and (double - full).abs().mean() > 0.01
    # the restored detail is the photo's: the result's fine structure follows the photo more than the bare painting's does
    def fine(x):
        return x - torch.nn.functional.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)
    assert torch.corrcoef(torch.stack([fine(double).mean(1).flatten(), fine(image).mean(1).flatten()]))[0, 1] > \
        torch.corrcoef(torch.stack([fine(painted.clamp(0, 1)).mean(1).flatten(), fine(image).mean(1).flatten()]))[0, 1]


def test_auto_stroke_size_paints_large_images_at_1536_px(net):
    stylizer = make_stylizer(net, precision="fp32")
    assert stylizer.options.stroke_size == "auto"
    assert stylizer.stroke_factor(1000, 1500) == 1.0 and stylizer.stroke_factor(4000, 6144) == 4.0
    with pytest.raises(FstError, match="stroke_size must be auto or a number > 0"):
        make_stylizer(net, stroke_size=0)
