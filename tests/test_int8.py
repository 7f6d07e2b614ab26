"""INT8: quantized stylize and export (ONNX Runtime), their calibration, the ONNX Runtime backend and its cache."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest
import torch
from test_multi_style import conditional_net

from conftest import (
    assert_one_line_error,
    make_stylizer,
    random_image,
    run_onnx_alone,
    run_script,
    save_toy_model,
    toy_card,
)
from fst.errors import FstError
from fst.export.formats import export_onnx
from fst.export.quantize import conv_layers, quantize_onnx
from fst.inference import onnx_runtime
from fst.models import ModelCard, load_style_model, resolve_model
from fst.models.serialization import CARD_KEY


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """ONNX models made by these tests go to a folder of their own, shared by the module's tests."""
    monkeypatch.setenv("FST_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "fst-cache"))


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A calibration folder of smooth synthetic photos, and a batch of others to measure on."""
    folder = tmp_path_factory.mktemp("calibration")
    for seed in range(6):
        random_image((96, 80), seed=seed).save(folder / f"photo{seed}.png")
    held_out = torch.stack([torch.from_numpy(np.array(random_image((96, 96), seed=20 + i))).permute(2, 0, 1) / 255 for i in range(2)])
    return folder, held_out


@pytest.fixture(scope="module")
def candy():
    return load_style_model(resolve_model("candy"))


def mean_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().mean().item()


def test_int8_stylize_stays_close_to_fp32_and_fp32_onnxruntime_matches_torch(candy, photos):
    net, _ = candy
    folder, images = photos
    reference = make_stylizer(net, precision="fp32")(images)
    onnx_fp32 = make_stylizer(net, backend="onnxruntime", precision="fp32")
    torch.testing.assert_close(onnx_fp32(images), reference, atol=1e-4, rtol=1e-4)
    int8 = make_stylizer(net, precision="int8", calibration=str(folder), calibration_size=96)
    assert int8.backend == "onnxruntime"
    output = int8(images)
    assert output.shape == images.shape
    assert 0 < mean_difference(output, reference) < 0.03  # quantized (not the float model), and close to it
    assert mean_difference(output, reference) < mean_difference(images, reference) / 5


def test_the_onnx_model_is_made_once_per_model_and_calibration(candy, photos, monkeypatch):
    net, _ = candy
    folder, images = photos
    make_stylizer(net, precision="int8", calibration=str(folder), calibration_size=96)  # made (or already cached)

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_runtime, "export_onnx", no_export)
    make_stylizer(net, precision="int8", calibration=str(folder), calibration_size=96)
    with pytest.raises(AssertionError, match="exported again"):  # other calibration, another model
        make_stylizer(net, precision="int8", calibration=str(folder), calibration_size=64)


def test_conv_layers_name_the_float_roles(net, tmp_path):
    export_onnx(net, tmp_path / "toy.onnx", None, torch.float32, 18)
    layers = list(conv_layers(onnx.load(str(tmp_path / "toy.onnx"))).values())
    assert layers[0] == ("encoder.0.0.1", "first")
    assert [module for module, role in layers if role == "upsampling"] == ["decoder.0.1.1", "decoder.1.1.1"]
    assert layers[-1] == ("decoder.2.1", "last")
    assert len(layers) == 3 + 2 * 2 + 3  # encoder, 2 residual blocks, decoder


@pytest.mark.slow
def test_int8_export_runs_on_onnxruntime_alone_and_records_its_calibration(candy, photos, tmp_path):
    folder, images = photos
    output = tmp_path / "candy.int8.onnx"
    result = run_script("export.py", "ckpt=candy", "format=onnx", "precision=int8", f"calibration={folder}",
                        "calibration_size=96", f"output={output}")
    assert result.returncode == 0, result.stderr[-2000:]
    stylized = torch.from_numpy(run_onnx_alone(output, {"image": images.numpy()}, tmp_path))
    net, _ = candy
    with torch.no_grad():
        reference = net.float()(images).clamp(0, 1)
    assert mean_difference(stylized.clamp(0, 1), reference) < 0.03
    model = onnx.load(str(output))
    assert any(node.op_type == "QuantizeLinear" for node in model.graph.node)
    card = ModelCard.from_json({p.key: p.value for p in model.metadata_props}[CARD_KEY])
    assert card.name == "candy" and card.styles[0].name == "candy"
    q = card.quantization
    assert (q.photos, q.size, q.calibration) == (6, 96, str(folder))
    assert q.kept_float == ["encoder.0.0.1", "decoder.0.1.1", "decoder.1.1.1", "decoder.2.1"]
    assert q.quantized == "12 of 16 convolutions"


def test_a_multi_style_model_quantizes_with_its_style_input(tmp_path, photos):
    folder, images = photos
    net = conditional_net(num_styles=3).eval()
    card = toy_card(net, "trio").replace(styles=toy_card(net).styles * 3)
    export_onnx(net, tmp_path / "trio.onnx", card, torch.float32, 18)
    record = quantize_onnx(tmp_path / "trio.onnx", tmp_path / "trio.int8.onnx", card, folder, 64)
    assert record.photos == 6
    session = onnx_runtime.OnnxNetwork(tmp_path / "trio.int8.onnx")
    outputs = []
    for style in torch.eye(3):
        weights = style.expand(len(images), -1)
        with torch.no_grad():
            reference = net(images, weights)
        output = session(images, weights)
        assert mean_difference(output, reference) < 0.1 * reference.abs().mean().item()
        outputs.append(output)
    assert mean_difference(outputs[0], outputs[1]) > 0.01  # each style still paints its own


def test_tiled_images_on_onnxruntime_use_the_pytorch_network(net, photos):
    folder, images = photos
    whole = make_stylizer(net, backend="onnxruntime", precision="fp32")(images[:1])
    tiled = make_stylizer(net, backend="onnxruntime", precision="fp32", tile_size=64, tile_overlap=16, stats_size=96)(images[:1])
    assert mean_difference(tiled, whole) < 0.02


@pytest.mark.parametrize(
    "options, message",
    [
        ({"precision": "int8", "backend": "torch"}, "precision=int8 runs on ONNX Runtime"),
        ({"precision": "bf16", "backend": "onnxruntime"}, "backend=onnxruntime runs precision=fp32 or int8"),
        ({"backend": "onnxruntime", "compile": True}, "compile=true is for backend=torch"),
    ],
)
def test_backend_and_precision_mistakes_are_named(net, options, message):
    with pytest.raises(FstError, match=message):
        make_stylizer(net, **options)


def test_a_missing_onnx_package_is_named_with_the_extra_that_installs_it(net, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if not installed
    with pytest.raises(FstError, match=r"needs onnxscript: pip install 'fst\[export\]'"):
        make_stylizer(net, backend="onnxruntime")


@pytest.mark.slow
def test_calibration_folder_mistakes_get_one_line_errors(tmp_path, net):
    ckpt = save_toy_model(net, tmp_path / "toy.safetensors", dtype="float32")
    random_image((40, 40)).save(tmp_path / "a.png")
    (tmp_path / "empty").mkdir()
    result = run_script("stylize.py", f"ckpt={ckpt}", f"input={tmp_path / 'a.png'}", f"output={tmp_path / 'o.png'}",
                        "precision=int8", f"calibration={tmp_path / 'missing'}")
    assert_one_line_error(result, "calibration", "folder not found", str(tmp_path / "missing"))
    assert not (tmp_path / "o.png").exists()
    result = run_script("export.py", f"ckpt={ckpt}", "precision=int8", f"calibration={tmp_path / 'empty'}",
                        f"output={tmp_path / 'm.onnx'}")
    assert_one_line_error(result, "calibration", "no images", str(tmp_path / "empty"))
    result = run_script("export.py", f"ckpt={ckpt}", "precision=int8", "format=torchscript", f"output={tmp_path / 'm.pt'}")
    assert_one_line_error(result, "precision=int8 is for format=onnx")
    assert not list(tmp_path.glob("m.*"))


def test_calibration_chatter_shows_only_when_verbose(net, photos, tmp_path, capfd, caplog):
    import logging

    folder, _ = photos
    export_onnx(net, tmp_path / "toy.onnx", None, torch.float32, 18)
    chatter = ("Collecting tensor data", "histogram", "optimal threshold")
    quantize_onnx(tmp_path / "toy.onnx", tmp_path / "quiet.onnx", None, folder, 64)
    out, err = capfd.readouterr()
    assert not [word for word in chatter if word in out + err], out + err
    caplog.set_level(logging.INFO)  # what verbose=true leaves the root logger at
    quantize_onnx(tmp_path / "toy.onnx", tmp_path / "verbose.onnx", None, folder, 64)
    assert "Collecting tensor data" in capfd.readouterr().out


@pytest.mark.slow
def test_a_first_int8_stylize_prints_only_fsts_lines(net, photos, tmp_path):
    folder, _ = photos
    model = save_toy_model(net, tmp_path / "toy.safetensors")
    random_image((64, 48), seed=7).save(tmp_path / "photo.jpg")
    result = run_script("stylize.py", f"ckpt={model}", f"input={tmp_path / 'photo.jpg'}", f"output={tmp_path / 'out.jpg'}",
                        "precision=int8", f"calibration={folder}", "calibration_size=64",
                        env={"FST_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert lines and all(line.startswith("fst: ") for line in lines), lines
