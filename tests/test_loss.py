import urllib.error

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models import VGG16_Weights, vgg19
from torchvision.models.vgg import cfgs, make_layers

from conftest import compose_config, make_loss, make_net
from fst.errors import FstError
from fst.losses.perceptual import gram_matrix, total_variation
from fst.losses.vgg import LAYERS, VGGFeatures

pytestmark = pytest.mark.filterwarnings("ignore:loss.vgg_weights=random")
VGG16_LAYERS = LAYERS["vgg16"]


def reference_features(seed=0, config="D") -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return make_layers(cfgs[config]).eval()


def features_file(tmp_path, name="vgg.pth", prefix="", config="D"):
    state = {f"{prefix}{k}": v for k, v in reference_features(config=config).state_dict().items()}
    path = tmp_path / name
    if name.endswith(".safetensors"):
        save_file(state, path)
    else:
        torch.save(state, path)
    return path


def test_layer_names_match_manual_vgg_slicing(tmp_path):
    vgg = VGGFeatures("vgg16", ["relu1_2", "relu2_2", "relu3_3", "relu4_3"], weights=str(features_file(tmp_path)))
    reference = reference_features()
    x = torch.rand(1, 3, 64, 64)
    normalized = (x - vgg.mean) / vgg.std
    out = vgg(x, ["relu1_2", "relu2_2", "relu3_3", "relu4_3"])
    # Johnson / pytorch-examples taps: features[:4], [:9], [:16], [:23].
    for name, end in {"relu1_2": 4, "relu2_2": 9, "relu3_3": 16, "relu4_3": 23}.items():
        torch.testing.assert_close(out[name], reference[:end](normalized))
    assert VGG16_LAYERS["relu4_3"] == 22 and VGG16_LAYERS["conv1_1"] == 0 and VGG16_LAYERS["pool5"] == 30


def test_vgg19_layer_names_are_torchvisions_layers():
    with torch.device("meta"):  # torchvision's own vgg19, without allocating its 143 M parameters
        features = vgg19().features
    layers = LAYERS["vgg19"]
    assert layers["relu5_4"] == len(features) - 2 and layers["pool5"] == len(features) - 1 == 36
    assert (layers["conv1_1"], layers["relu1_1"], layers["relu2_1"], layers["relu3_1"], layers["relu4_1"], layers["conv4_2"],
            layers["relu5_1"]) == (0, 1, 6, 11, 20, 21, 29)
    for name, index in layers.items():
        kind = {"conv": torch.nn.Conv2d, "relu": torch.nn.ReLU, "pool": torch.nn.MaxPool2d}[name[:4].rstrip("0123456789_")]
        assert isinstance(features[index], kind), name
    assert sum(name.startswith("conv") for name in layers) == 16 and sum(name.startswith("conv") for name in VGG16_LAYERS) == 13


def test_vgg19_taps_match_slicing_its_features(tmp_path):
    path = features_file(tmp_path, "vgg19.safetensors", config="E")
    taps = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "conv4_2", "relu5_1"]
    vgg = VGGFeatures("vgg19", taps, weights=str(path))
    reference = reference_features(config="E")
    x = torch.rand(1, 3, 48, 48)
    out = vgg(x, taps)
    for name in taps:
        torch.testing.assert_close(out[name], reference[: LAYERS["vgg19"][name] + 1]((x - vgg.mean) / vgg.std))


def test_vgg16_weights_are_refused_for_vgg19_and_back(tmp_path):
    with pytest.raises(FstError, match="are vgg16 weights, not vgg19's 16 conv layers"):
        VGGFeatures("vgg19", ["relu3_1"], weights=str(features_file(tmp_path, "vgg16.pth")))
    with pytest.raises(FstError, match="are vgg19 weights, not vgg16's 13 conv layers"):
        VGGFeatures("vgg16", ["relu2_2"], weights=str(features_file(tmp_path, "vgg19.pth", config="E")))
    with pytest.raises(FstError, match="loss.backbone=vgg11 is not one of vgg16, vgg19"):
        make_loss(backbone="vgg11")
    with pytest.raises(FstError, match="unknown vgg16 layer 'relu5_4'"):
        make_loss(style_layers={"relu5_4": 1.0})


def test_gatys_preset_is_vgg19_with_its_layers(monkeypatch):
    monkeypatch.delenv("FST_VGG19_WEIGHTS", raising=False)
    cfg = compose_config("train", ["loss=gatys", "paths.output_dir=/o"])
    assert cfg.loss.backbone == "vgg19" and cfg.loss.vgg_weights == "imagenet" and cfg.loss.content_layer == "conv4_2"
    assert list(cfg.loss.style_layers) == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    loss = make_loss(**{k: cfg.loss[k] for k in ("backbone", "content_layer")}, style_layers=dict(cfg.loss.style_layers))
    assert len(loss.vgg.features) == LAYERS["vgg19"]["relu5_1"] + 1 and loss.config["backbone"] == "vgg19"


def test_vgg_is_truncated_frozen_and_stays_in_eval():
    with pytest.warns(UserWarning, match="untrained vgg16"):
        vgg = VGGFeatures("vgg16", ["relu2_2"], weights="random")
    assert len(vgg.features) == VGG16_LAYERS["relu2_2"] + 1
    assert not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training and not vgg.features.training


@pytest.mark.parametrize("name,prefix", [("vgg.pth", ""), ("full.pth", "features."), ("vgg.safetensors", "")])
def test_vgg_weights_from_local_files(tmp_path, name, prefix):
    vgg = VGGFeatures("vgg16", ["relu3_3"], weights=str(features_file(tmp_path, name, prefix)))
    torch.testing.assert_close(vgg.features[0].weight, reference_features()[0].weight)


def test_vgg_weights_errors_name_the_option(tmp_path, monkeypatch):
    with pytest.raises(FstError, match="loss.vgg_weights"):
        VGGFeatures("vgg16", ["relu2_2"], weights=str(tmp_path / "missing.pth"))
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(FstError, match="bad.pth"):
        VGGFeatures("vgg16", ["relu2_2"], weights=str(tmp_path / "bad.pth"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(VGG16_Weights, "get_state_dict", offline)
    with pytest.raises(FstError, match="loss.vgg_weights=/path/to/vgg16.pth"):
        VGGFeatures("vgg16", ["relu2_2"], weights="imagenet")


def test_gram_matches_hand_computation():
    features = torch.rand(2, 3, 4, 5)
    gram = gram_matrix(features)
    for b in range(2):
        for i in range(3):
            for j in range(3):
                expected = (features[b, i] * features[b, j]).sum() / (3 * 4 * 5)
                torch.testing.assert_close(gram[b, i, j], expected)


def test_gram_is_float32_under_bf16_autocast():
    features = torch.rand(2, 64, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gram = gram_matrix(features.bfloat16())
    assert gram.dtype == torch.float32
    torch.testing.assert_close(gram, gram_matrix(features.bfloat16().float()))


def test_total_variation_of_constant_image_is_zero():
    assert total_variation(torch.full((1, 3, 8, 8), 0.3)) == 0
    assert total_variation(torch.rand(1, 3, 8, 8)) > 0


def test_gram_gradient_matches_autograd_of_the_plain_product():
    features = torch.randn(2, 5, 6, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f: gram_matrix(f).double(), (features,))
    weights = torch.randn(2, 5, 5)
    (gram_matrix(features.float()) * weights).sum().backward()
    plain = features.detach().float().reshape(2, 5, 42).requires_grad_(True)
    (torch.bmm(plain, plain.transpose(1, 2)) / (5 * 42) * weights).sum().backward()
    torch.testing.assert_close(features.grad.float().reshape(2, 5, 42), plain.grad)


def test_gram_backward_returns_the_features_dtype_under_autocast():
    features = torch.randn(1, 4, 8, 8).bfloat16().requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gram = gram_matrix(features)
    gram.sum().backward()
    assert gram.dtype == torch.float32 and features.grad.dtype == torch.bfloat16


def style_grams(loss) -> dict[str, torch.Tensor]:
    return {name: getattr(loss, f"style_gram_{name}") for name in loss.style_layers}


def test_style_grams_computed_once_and_shared_by_the_batch():
    loss = make_loss(tv_weight=1.0)
    loss.set_style(torch.rand(1, 3, 40, 48))
    grams = style_grams(loss)
    assert set(grams) == {"relu1_2", "relu2_2", "relu3_3", "relu4_3"}
    assert all(g.shape[0] == 1 and g.dtype == torch.float32 for g in grams.values())
    content = torch.rand(3, 3, 32, 32)
    output = content.clone().requires_grad_(True)
    terms = loss(output, content)
    assert terms["content"] == 0  # output equals content
    assert terms["style"] > 0 and terms["tv"] > 0
    torch.testing.assert_close(terms["total"], terms["content"] + terms["style"] + terms["tv"])
    terms["total"].backward()
    assert output.grad is not None and not any(p.grad is not None for p in loss.vgg.parameters())
    assert style_grams(loss)["relu1_2"] is grams["relu1_2"]  # targets are not recomputed per step


def test_each_item_is_measured_against_its_own_style_with_its_own_weight():
    torch.manual_seed(0)
    paintings = [torch.rand(1, 3, 40, 48), torch.rand(1, 3, 56, 40).pow(3)]
    torch.manual_seed(1)  # the same random VGG in every loss below
    several = make_loss(style_weight=10.0)
    several.set_styles(paintings, [None, 1000.0])
    assert style_grams(several)["relu2_2"].shape[0] == 2
    singles = []
    for painting, weight in zip(paintings, [10.0, 1000.0]):
        torch.manual_seed(1)
        single = make_loss(style_weight=weight)
        single.set_style(painting)
        singles.append(single)
    output, content = torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32)
    ids = torch.tensor([0, 1, 1, 0])
    mixed = several(output, content, ids)["style"]
    # the mean over items of each item's loss against its own style, at its style's weight
    expected = torch.stack([singles[i](output[j : j + 1], content[j : j + 1])["style"] for j, i in enumerate(ids.tolist())]).mean()
    torch.testing.assert_close(mixed, expected)
    torch.testing.assert_close(several(output, content)["style"], singles[0](output, content)["style"])  # no ids: style 0


def test_loss_requires_a_style():
    loss = make_loss()
    with pytest.raises(RuntimeError, match="set_styles"):
        loss(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16))


@pytest.mark.parametrize(
    "options,message",
    [
        ({"style_weight": -1.0}, "loss.style_weight"),
        ({"content_layer": "relu9_9"}, "relu9_9"),
        ({"style_layers": {"relu2_2": 1.0, "conv7": 1.0}}, "conv7"),
        ({"style_layers": {}}, "loss.style_layers"),
    ],
)
def test_bad_loss_options_are_user_errors(options, message):
    with pytest.raises(FstError, match=message):
        make_loss(**options)


def test_losses_go_down_when_overfitting_one_image():
    torch.manual_seed(0)
    loss = make_loss(style_weight=1e3, tv_weight=1.0)
    loss.set_style(torch.rand(1, 3, 48, 48))
    net = make_net(width=0.5, num_residual_blocks=2)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    image = torch.rand(1, 3, 32, 32)
    history = []
    for _ in range(30):
        terms = loss(net(image), image)
        optimizer.zero_grad()
        terms["total"].backward()
        optimizer.step()
        history.append({k: v.item() for k, v in terms.items()})
    first, last = history[0], history[-1]
    assert last["total"] < 0.5 * first["total"]
    assert last["style"] < first["style"]
