"""The training speed switches (bf16, compile, channels_last, activation checkpointing, fewer syncs) keep results."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from conftest import compose_config, make_loss, make_net, tiny_overrides
from fst.losses.perceptual import PerceptualLoss
from fst.models import load_style_model
from fst.models.serialization import load_training_checkpoint
from fst.models.transformer_net import ReflectionPad2d, TransformerNet
from fst.training.module import NonFiniteLossError
from fst.training.run import train


def net_and_loss(seed: int = 0) -> tuple[TransformerNet, PerceptualLoss]:
    torch.manual_seed(seed)
    net = make_net(width=0.5, num_residual_blocks=2)
    criterion = make_loss()
    criterion.set_style(torch.rand(1, 3, 64, 64))
    return net, criterion


def step(net, criterion, images, dtype=None) -> tuple[dict[str, float], list[torch.Tensor]]:
    """Losses and the TransformerNet's gradients for one batch."""
    net.zero_grad()
    with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        losses = criterion(net(images), images)
    losses["total"].backward()
    return {k: v.item() for k, v in losses.items()}, [p.grad.clone() for p in net.parameters()]


def images(size: int = 48) -> torch.Tensor:
    return torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1))


def test_reflection_padding_keeps_the_input_dtype_under_autocast():
    x = torch.rand(1, 4, 12, 10).to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        padded = ReflectionPad2d(3)(x)
    assert padded.dtype == torch.bfloat16  # torch's own module would return a float32 copy here
    assert torch.equal(padded, F.pad(x.float(), [3, 3, 3, 3], mode="reflect").to(torch.bfloat16))


def test_bf16_autocast_losses_and_gradients_stay_close_to_fp32():
    net, criterion = net_and_loss()
    fp32_losses, fp32_grads = step(net, criterion, images())
    bf16_losses, bf16_grads = step(net, criterion, images(), dtype=torch.bfloat16)
    for term in ("content", "style", "total"):
        assert bf16_losses[term] == pytest.approx(fp32_losses[term], rel=0.03), term
    cosine = F.cosine_similarity(torch.cat([g.flatten() for g in bf16_grads]), torch.cat([g.flatten() for g in fp32_grads]), dim=0)
    assert cosine > 0.99


def test_channels_last_gives_the_same_outputs_and_gradients():
    net, criterion = net_and_loss()
    plain_losses, plain_grads = step(net, criterion, images())
    net.to(memory_format=torch.channels_last)
    criterion.to(memory_format=torch.channels_last)
    batch = images().contiguous(memory_format=torch.channels_last)
    assert net(batch).is_contiguous(memory_format=torch.channels_last)
    cl_losses, cl_grads = step(net, criterion, batch)
    assert cl_losses == pytest.approx(plain_losses, rel=1e-4)
    for plain, cl in zip(plain_grads, cl_grads):
        torch.testing.assert_close(cl, plain, rtol=1e-3, atol=1e-6)


def test_compile_gives_the_losses_and_gradients_of_eager_mode():
    net, criterion = net_and_loss()
    eager_losses, eager_grads = step(net, criterion, images(32))
    net.compile(dynamic=False)
    criterion.vgg.compile(dynamic=False)
    compiled_losses, compiled_grads = step(net, criterion, images(32))
    assert compiled_losses == pytest.approx(eager_losses, rel=1e-4)
    for eager, compiled in zip(eager_grads, compiled_grads):
        torch.testing.assert_close(compiled, eager, rtol=1e-3, atol=1e-5)


def train_tiny(data_dir, run_dir, *extra: str):
    overrides = [*tiny_overrides(data_dir, run_dir), "model.width=0.25", "model.num_residual_blocks=1", *extra]
    return load_style_model(train(compose_config("train", overrides)))


def test_channels_last_and_activation_checkpointing_train_the_same_weights(tiny_data, tmp_path):
    plain, _ = train_tiny(tiny_data, tmp_path / "plain", "trainer.max_steps=3", "callbacks.export.dtype=float32")
    switched, card = train_tiny(
        tiny_data,
        tmp_path / "switched",
        "trainer.max_steps=3",
        "callbacks.export.dtype=float32",
        "performance.channels_last=true",
        "performance.activation_checkpointing=true",
        "callbacks.progress_bar.refresh_rate=2",
    )
    assert card.training.steps == 3
    # Outputs, not weights: Adam turns the float noise in the (output-free) gradients of biases before an
    # instance norm into full-size steps.
    with torch.no_grad():
        torch.testing.assert_close(switched(images()), plain(images()), rtol=1e-3, atol=1e-4)


def test_gradient_accumulation_takes_one_optimizer_step_per_n_batches(tiny_data, tmp_path):
    _, card = train_tiny(tiny_data, tmp_path, "trainer.max_steps=2", "trainer.accumulate_grad_batches=2")
    assert card.training.steps == 2 and card.training.batch_size == 4  # images per optimizer step
    last = load_training_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    assert last["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]["processed"] == 4  # batches
    assert all(state["step"] == 2 for state in last["optimizer_states"][0]["state"].values())


def test_sparse_finite_checks_still_stop_a_diverged_run(tiny_data, tmp_path, monkeypatch):
    from fst.losses import perceptual

    original, calls = perceptual.total_variation, [0]

    def nan_from_the_third_call(image):  # training step 2 onwards (0-based), as a diverged run would
        calls[0] += 1
        return original(image) * (float("nan") if calls[0] >= 3 else 1.0)

    monkeypatch.setattr(perceptual, "total_variation", nan_from_the_third_call)
    overrides = [
        *tiny_overrides(tiny_data, tmp_path),
        "trainer.max_steps=20",
        "trainer.val_check_interval=100",
        "callbacks.checkpoint.every_n_train_steps=100",
        "performance.check_finite_every_n_steps=4",
    ]
    with pytest.raises(NonFiniteLossError, match="non-finite loss at step 4 "):  # the first check after step 2
        train(compose_config("train", overrides))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
def test_gpu_preset_trains_in_mixed_precision(tiny_data, tmp_path, precision):
    if precision == "bf16-mixed" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    net, card = train_tiny(tiny_data, tmp_path, "trainer=gpu", f"trainer.precision={precision}", "trainer.max_steps=3")
    assert card.training.steps == 3 and all(torch.isfinite(p).all() for p in net.parameters())
