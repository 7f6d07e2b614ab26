import urllib.error

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models import VGG16_Weights
from torchvision.models.vgg import cfgs, make_layers

from fst.errors import FstError
from fst.losses.perceptual import PerceptualLoss, gram_matrix, total_variation
from fst.losses.vgg import VGG16_LAYERS, VGG16Features
from fst.models.transformer_net import TransformerNet

pytestmark = pytest.mark.filterwarnings("ignore:loss.vgg_weights=random")


def reference_features(seed=0) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return make_layers(cfgs["D"]).eval()


def features_file(tmp_path, name="vgg.pth", prefix=""):
    state = {f"{prefix}{k}": v for k, v in reference_features().state_dict().items()}
    path = tmp_path / name
    if name.endswith(".safetensors"):
        save_file(state, path)
    else:
        torch.save(state, path)
    return path


def test_layer_names_match_manual_vgg_slicing(tmp_path):
    vgg = VGG16Features(["relu1_2", "relu2_2", "relu3_3", "relu4_3"], weights=str(features_file(tmp_path)))
    reference = reference_features()
    x = torch.rand(1, 3, 64, 64)
    normalized = (x - vgg.mean) / vgg.std
    out = vgg(x, ["relu1_2", "relu2_2", "relu3_3", "relu4_3"])
    # Johnson / pytorch-examples taps: features[:4], [:9], [:16], [:23].
    for name, end in {"relu1_2": 4, "relu2_2": 9, "relu3_3": 16, "relu4_3": 23}.items():
        torch.testing.assert_close(out[name], reference[:end](normalized))
    assert VGG16_LAYERS["relu4_3"] == 22 and VGG16_LAYERS["conv1_1"] == 0 and VGG16_LAYERS["pool5"] == 30


def test_vgg_is_truncated_frozen_and_stays_in_eval():
    with pytest.warns(UserWarning, match="untrained VGG16"):
        vgg = VGG16Features(["relu2_2"], weights="random")
    assert len(vgg.features) == VGG16_LAYERS["relu2_2"] + 1
    assert not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training and not vgg.features.training


@pytest.mark.parametrize("name,prefix", [("vgg.pth", ""), ("full.pth", "features."), ("vgg.safetensors", "")])
def test_vgg_weights_from_local_files(tmp_path, name, prefix):
    vgg = VGG16Features(["relu3_3"], weights=str(features_file(tmp_path, name, prefix)))
    torch.testing.assert_close(vgg.features[0].weight, reference_features()[0].weight)


def test_vgg_weights_errors_name_the_option(tmp_path, monkeypatch):
    with pytest.raises(FstError, match="loss.vgg_weights"):
        VGG16Features(["relu2_2"], weights=str(tmp_path / "missing.pth"))
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(FstError, match="bad.pth"):
        VGG16Features(["relu2_2"], weights=str(tmp_path / "bad.pth"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(VGG16_Weights, "get_state_dict", offline)
    with pytest.raises(FstError, match="FST_VGG_WEIGHTS"):
        VGG16Features(["relu2_2"], weights="imagenet")


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


def test_style_grams_computed_once_and_shared_by_the_batch():
    loss = PerceptualLoss(vgg_weights="random", tv_weight=1.0)
    loss.set_style(torch.rand(1, 3, 40, 48))
    grams = loss.style_grams()
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
    assert loss.style_grams()["relu1_2"] is grams["relu1_2"]  # targets are not recomputed per step


def test_loss_requires_a_style():
    loss = PerceptualLoss(vgg_weights="random")
    with pytest.raises(RuntimeError, match="set_style"):
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
        PerceptualLoss(vgg_weights="random", **options)


def test_losses_go_down_when_overfitting_one_image():
    torch.manual_seed(0)
    loss = PerceptualLoss(vgg_weights="random", style_weight=1e3, tv_weight=1.0)
    loss.set_style(torch.rand(1, 3, 48, 48))
    net = TransformerNet(width=0.5, num_residual_blocks=2)
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
