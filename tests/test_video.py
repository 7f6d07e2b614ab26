"""Videos and GIFs: frames, rate, size and audio kept; flicker-free stylization along the optical flow; the
temporal training loss; the video benchmark's clips and warping error."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import (
    assert_one_line_error,
    compose_config,
    make_stylizer,
    random_image,
    run_script,
    save_toy_model,
    tiny_overrides,
)
from fst.commands.stylize import stylize_config
from fst.errors import FstError
from fst.evaluation.clips import synthetic_clip
from fst.evaluation.video_metrics import warping_error
from fst.inference.temporal import TemporalBlend, consistent, gray, optical_flow, warp
from fst.inference.video import stylized_frames
from fst.losses.stability import feature_difference, luminance, luminance_change, random_motion, temporal_difference
from fst.models import read_card
from fst.options import TemporalOptions
from fst.training.run import train


@pytest.fixture(scope="module")
def ckpt(net, tmp_path_factory):
    return save_toy_model(net, tmp_path_factory.mktemp("m") / "tiny.safetensors", name="tiny", dtype="float32")


def texture(width=96, height=64, seed=0) -> np.ndarray:
    """A detailed RGB uint8 image: blurred noise at two scales, which optical flow can follow."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(rng.uniform(0, 255, (height // 8, width // 8, 3)).astype(np.float32), (width, height))
    fine = cv2.GaussianBlur(rng.uniform(0, 255, (height, width, 3)).astype(np.float32), (0, 0), 1.5)
    return np.clip(0.6 * coarse + 0.7 * (fine - fine.mean()) + 40, 0, 255).astype(np.uint8)


def make_video(path, frames=10, size=(64, 48), fps=12, audio=True):
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p" if size[0] % 2 == 0 and size[1] % 2 == 0 else "yuv444p"
        sound = container.add_stream("aac", rate=16000) if audio else None
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.asarray(random_image(size, seed=i)), format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            samples = (np.sin(np.arange(16000 * frames // fps) * 0.05) * 0.3).astype(np.float32)[None]
            chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            chunk.sample_rate = 16000
            container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))


def probe(path):
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        count = sum(1 for _ in container.decode(video=0))
        return count, video.average_rate, (video.codec_context.width, video.codec_context.height), len(container.streams.audio)


def run(ckpt, input, output, **options):
    overrides = [f"ckpt={ckpt}", f"input={input}", f"output={output}", *(f"{k}={v}" for k, v in options.items())]
    return stylize_config(compose_config("stylize", overrides))


# --- files: what goes in comes out, with or without temporal consistency ---


@pytest.mark.parametrize("size,temporal", [((64, 48), "none"), ((63, 47), "none"), ((64, 48), "flow")])
def test_video_round_trip_keeps_frames_rate_size_and_audio(ckpt, tmp_path, size, temporal):
    make_video(tmp_path / "clip.mp4", size=size)
    assert probe(tmp_path / "clip.mp4") == (10, Fraction(12), size, 1)
    run(ckpt, tmp_path / "clip.mp4", tmp_path / "out.mp4", batch_size=3, temporal=temporal)
    assert probe(tmp_path / "out.mp4") == (10, Fraction(12), size, 1)


def test_video_without_audio_and_resized(ckpt, tmp_path):
    make_video(tmp_path / "clip.mov", audio=False)
    run(ckpt, tmp_path / "clip.mov", tmp_path / "out.mkv", size=32, temporal="flow")
    assert probe(tmp_path / "out.mkv") == (10, Fraction(12), (32, 24), 0)


def gif_frames(path) -> tuple[list[np.ndarray], list[int]]:
    frames, durations = [], []
    with Image.open(path) as gif:
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
            durations.append(gif.info["duration"])
    return frames, durations


@pytest.mark.parametrize("temporal", ["none", "flow"])
def test_gif_keeps_frames_and_durations(ckpt, tmp_path, temporal):
    frames = [random_image((40, 30), seed=i) for i in range(4)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=[100, 200, 100, 50], loop=0)
    run(ckpt, tmp_path / "anim.gif", tmp_path / "out.gif", temporal=temporal)
    stylized, durations = gif_frames(tmp_path / "out.gif")
    assert len(stylized) == 4 and stylized[0].shape == (30, 40, 3)
    assert durations == [100, 200, 100, 50]


def test_temporal_none_is_each_frame_stylized_alone(net):
    frames = [np.asarray(random_image((40, 30), seed=i)) for i in range(5)]
    stylizer = make_stylizer(net, precision="fp32")
    alone = [stylizer(torch.from_numpy(f.copy()).permute(2, 0, 1)[None].float().div(255))[0] for f in frames]
    expected = [x.mul(255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy() for x in alone]
    for blend in (None, TemporalBlend(strength=0.0, flow="dis", scene_cut=0.3, scale=0.5)):
        outputs = list(stylized_frames(iter(frames), stylizer, batch_size=2, size=(30, 40), blend=blend))
        # a batch of two may round a few values apart from one frame alone (the CPU's kernels depend on the batch
        # size): a level at most, where any blend of two frames moves pixels by tens
        assert all(np.abs(a.astype(int) - b).max() <= 1 for a, b in zip(outputs, expected, strict=True))


def test_the_default_is_temporal_none():
    assert not compose_config("stylize", ["ckpt=x", "input=y"]).get("temporal")


def test_the_video_paths_defaults_come_from_the_config():
    """temporal=flow's settings are TemporalOptions' defaults, and TemporalBlend runs with what the config gives."""
    defaults = dataclasses.asdict(TemporalOptions())
    assert dict(compose_config("stylize", ["ckpt=x", "input=y", "temporal=flow"]).temporal) == defaults
    changed = compose_config("stylize", ["ckpt=x", "input=y", "temporal=flow", "temporal.strength=0.4"]).temporal
    blend = TemporalBlend(**changed)
    assert (blend.strength, blend.scene_cut, blend.scale, blend.detail_sigma) == (
        0.4, defaults["scene_cut"], defaults["scale"], defaults["detail_sigma"])


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,content,option,fragments",
    [
        ("broken.mp4", b"\x00\x00\x00\x18ftypmp42 this is not a video", "temporal=flow", ["cannot read video", "broken.mp4"]),
        ("notes.txt", b"hello", "temporal=none", ["not an image or video", "notes.txt"]),
    ],
)
def test_unreadable_inputs_are_one_line_errors(ckpt, tmp_path, name, content, option, fragments):
    (tmp_path / name).write_bytes(content)
    result = run_script("stylize.py", f"ckpt={ckpt}", f"input={tmp_path / name}", f"output={tmp_path / 'out'}", option)
    assert_one_line_error(result, *fragments)


@pytest.mark.slow
@pytest.mark.parametrize(
    "option,fragments",
    [
        ("temporal.flow=dis", ["temporal.flow", "add temporal=flow"]),  # an option of a group choice not taken
        ("temporal=flow temporal.flow=raft", ["flow=raft", "dis, dis_fast, farneback"]),
        ("temporal=flow temporal.strength=1.5", ["temporal.strength", "[0, 1)"]),
        ("temporal=smooth", ["temporal", "flow"]),
    ],
)
def test_bad_temporal_options_are_one_line_errors(ckpt, tmp_path, option, fragments):
    make_video(tmp_path / "clip.mp4", frames=2, audio=False)
    result = run_script("stylize.py", f"ckpt={ckpt}", f"input={tmp_path / 'clip.mp4'}", f"output={tmp_path / 'out.mp4'}", *option.split())
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "out.mp4").exists()


# --- optical flow, warping and the occlusion mask ---


def test_warp_moves_pixels_by_a_known_flow():
    image = texture()
    flow = np.zeros((*image.shape[:2], 2), np.float32)
    flow[..., 0], flow[..., 1] = 3, -2  # every pixel x samples x + (3, -2)
    warped = warp(image, flow)
    np.testing.assert_array_equal(warped[2:, :-3], image[:-2, 3:])


def test_estimated_flow_follows_a_known_shift():
    image = texture(seed=1)
    shifted = np.roll(image, (2, 5), axis=(0, 1))  # the content moves 5 px right, 2 px down
    flow = optical_flow("dis")(gray(shifted), gray(image))  # shifted(x) ≈ image(x + flow(x))
    centre = flow[16:-16, 16:-16]
    assert np.abs(centre[..., 0] + 5).mean() < 0.5 and np.abs(centre[..., 1] + 2).mean() < 0.5


def moving_square() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two 192x128 frames of a textured 48 px square moving 8 px right over a still background, and their exact
    flows. The square covers rows 40:88, columns 64:112 in the first frame and 72:120 in the second."""
    background, square = texture(192, 128, seed=2), texture(48, 48, seed=3)
    before, after = background.copy(), background.copy()
    before[40:88, 64:112] = square
    after[40:88, 72:120] = square
    backward = np.zeros((128, 192, 2), np.float32)  # after -> before
    backward[40:88, 72:120, 0] = -8
    forward = np.zeros((128, 192, 2), np.float32)  # before -> after
    forward[40:88, 64:112, 0] = 8
    return before, after, backward, forward


def test_occlusion_mask_flags_exactly_the_uncovered_background():
    _, _, backward, forward = moving_square()
    reliable = consistent(backward, forward)
    uncovered = np.zeros_like(reliable)
    uncovered[40:88, 64:72] = True  # behind the square before it moved: new in the second frame
    np.testing.assert_array_equal(reliable, ~uncovered)


def test_occlusion_mask_from_estimated_flow_finds_the_uncovered_background():
    before, after, _, _ = moving_square()
    estimate = optical_flow("dis")
    reliable = consistent(estimate(gray(after), gray(before)), estimate(gray(before), gray(after)))
    assert (~reliable[42:86, 65:71]).mean() > 0.75  # most of the uncovered strip is flagged
    assert reliable[:, :56].mean() > 0.9 and reliable[44:84, 76:116].mean() > 0.9  # the still background, the square


def constant(value: float) -> np.ndarray:
    return np.full((128, 192, 3), value, np.float32)


def test_blend_keeps_the_carried_paint_where_reliable_and_the_new_paint_where_uncovered():
    before, after, _, _ = moving_square()
    blend = TemporalBlend(strength=0.75, flow="dis", scene_cut=0.3, scale=1.0)
    assert np.array_equal(blend(before, constant(0.2)), constant(0.2))  # the first frame is its own stylization
    output = blend(after, constant(0.6))
    still = np.isclose(output[:, :56], 0.75 * 0.2 + 0.25 * 0.6, atol=1e-5)  # still background: mostly the old paint
    assert still.mean() > 0.9
    assert np.isclose(output[42:86, 65:71], 0.6, atol=1e-5).mean() > 0.75  # uncovered: the frame's own paint
    assert blend.cuts == 0


def test_blend_starts_afresh_at_a_scene_cut():
    blend = TemporalBlend(strength=0.9, flow="dis", scene_cut=0.3, scale=0.5)
    blend(texture(192, 128, seed=4), constant(0.1))
    blend(np.roll(texture(192, 128, seed=4), 1, axis=1), constant(0.9))  # a small pan: blended
    assert blend.cuts == 0
    after_cut = blend(texture(192, 128, seed=5), constant(0.5))  # another scene
    assert blend.cuts == 1 and np.array_equal(after_cut, constant(0.5))


def test_blend_keeps_the_strokes_contrast_that_plain_averaging_washes_out():
    scene = texture(192, 128, seed=4)
    rng = np.random.default_rng(0)
    strokes = [np.clip(0.5 + 0.15 * rng.standard_normal((128, 192, 3)), 0, 1).astype(np.float32) for _ in range(2)]

    def blended(detail_sigma: float) -> np.ndarray:
        blend = TemporalBlend(strength=0.5, flow="dis", scene_cut=0.3, scale=1.0, detail_sigma=detail_sigma)
        blend(scene, strokes[0])
        return blend(scene, strokes[1])  # a still scene painted with other strokes

    def detail(image: np.ndarray) -> float:
        return float((image - cv2.GaussianBlur(image, (0, 0), 3)).std())

    plain, kept = blended(0.0), blended(3.0)
    assert detail(plain) < 0.8 * detail(strokes[1])  # averaging two frames' strokes lowers their contrast
    assert abs(detail(kept) - detail(strokes[1])) < 0.1 * detail(strokes[1])  # restored to one frame's
    assert np.abs(kept - strokes[0]).mean() < 0.8 * np.abs(strokes[1] - strokes[0]).mean()  # and still steadier


def test_blend_checks_its_options():
    with pytest.raises(FstError, match="temporal.strength"):
        TemporalBlend(strength=1.0, flow="dis", scene_cut=0.3, scale=0.5)
    with pytest.raises(FstError, match="temporal.scale"):
        TemporalBlend(strength=0.5, flow="dis", scene_cut=0.3, scale=0)
    with pytest.raises(FstError, match="flow=nope"):
        TemporalBlend(strength=0.5, flow="nope", scene_cut=0.3, scale=0.5)
    with pytest.raises(FstError, match="temporal.detail_sigma"):
        TemporalBlend(strength=0.5, flow="dis", scene_cut=0.3, scale=0.5, detail_sigma=-1)


# --- the temporal training loss ---


def test_temporal_loss_is_zero_for_a_network_that_commutes_with_motion():
    torch.manual_seed(0)
    images = torch.rand(3, 3, 40, 40)
    pointwise = torch.nn.Conv2d(3, 3, 1)  # a colour map: moving then painting = painting then moving
    moved, grid, visible = random_motion(images, noise=0.0)
    assert 0.5 < visible.float().mean() < 1  # the motion is real, and most pixels stay in view
    with torch.no_grad():
        difference = temporal_difference(pointwise(moved), pointwise(images), grid, visible)
    assert difference.item() < 1e-10


def test_temporal_loss_is_positive_for_a_network_that_does_not_commute(net):
    torch.manual_seed(0)
    images = torch.rand(3, 3, 40, 40)
    moved, grid, visible = random_motion(images)
    with torch.no_grad():
        assert temporal_difference(net(moved), net(images), grid, visible).item() > 1e-4


def test_luminance_aware_term_lets_the_output_follow_the_photos_light_and_nothing_else():
    torch.manual_seed(0)
    images = torch.rand(3, 3, 40, 40)
    moved, grid, visible = random_motion(images, noise=0.05)  # the noise changes the light between the frames
    allowed = luminance_change(moved, images, grid)

    def follows_the_light(x):  # paints each pixel by its luminance: its change is exactly the photo's
        return luminance(x).expand(-1, 3, -1, -1)

    assert temporal_difference(follows_the_light(moved), follows_the_light(images), grid, visible).item() > 1e-3
    assert temporal_difference(follows_the_light(moved), follows_the_light(images), grid, visible, allowed).item() < 1e-10
    flicker = follows_the_light(moved) + 0.1 * torch.randn(3, 3, 40, 40)  # a change the photo does not explain
    assert temporal_difference(flicker, follows_the_light(images), grid, visible, allowed).item() > 5e-3


def ramp(batch=2, size=64) -> torch.Tensor:
    """Images that are linear in x and y: bilinear resampling and area averaging move them exactly."""
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    slopes = torch.rand(batch, 3, 2, 1, 1)
    return slopes[:, :, 0] * x + slopes[:, :, 1] * y


def test_feature_term_is_zero_for_features_that_follow_the_motion_and_positive_otherwise():
    torch.manual_seed(0)
    images = ramp()
    moved, grid, visible = random_motion(images, noise=0.0)

    def features(x):  # a quarter of the resolution, as a network's residual blocks see it
        return torch.nn.functional.avg_pool2d(x, 4)

    assert feature_difference(features(moved), features(images), grid, visible).item() < 1e-9
    assert feature_difference(features(images), features(images), grid, visible).item() > 1e-5  # did not move


def test_training_with_every_stability_term_logs_them_and_records_them(tiny_data, tmp_path):
    terms = ["loss.temporal_weight=100", "loss.temporal_feature_weight=10", "loss.temporal_luminance=true",
             "loss.temporal_both_frames=true"]
    export = train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), *terms, "data.eval_dir=null"]))
    loss = read_card(export).loss
    assert (loss.temporal_weight, loss.temporal_feature_weight, loss.temporal_luminance, loss.temporal_both_frames) == (100, 10, True, True)
    header, *rows = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()
    index = {name: header.split(",").index(f"train/{name}") for name in ("content", "style", "tv", "temporal", "temporal_features", "total")}
    logged = [r.split(",") for r in rows if r.split(",")[index["temporal_features"]]]
    assert len(logged) == 4 and all(float(r[index["temporal_features"]]) > 0 for r in logged)
    for row in logged:  # both terms are part of what training minimizes
        parts = sum(float(row[index[name]]) for name in ("content", "style", "tv", "temporal", "temporal_features"))
        assert float(row[index["total"]]) == pytest.approx(parts, rel=1e-4)


def test_training_with_a_temporal_weight_logs_the_term_and_records_it(tiny_data, tmp_path):
    export = train(compose_config("train", [*tiny_overrides(tiny_data, tmp_path), "loss.temporal_weight=100", "data.eval_dir=null"]))
    assert read_card(export).loss.temporal_weight == 100
    header, *rows = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()
    column = header.split(",").index("train/temporal")
    values = [float(r.split(",")[column]) for r in rows if r.split(",")[column]]
    assert len(values) == 4 and all(v > 0 for v in values)
    index = {name: header.split(",").index(f"train/{name}") for name in ("content", "style", "tv", "temporal", "total")}
    for row in (r.split(",") for r in rows if r.split(",")[column]):  # the term is part of what training minimizes
        parts = sum(float(row[index[name]]) for name in ("content", "style", "tv", "temporal"))
        assert float(row[index["total"]]) == pytest.approx(parts, rel=1e-4)


def test_the_temporal_experiment_fine_tunes_a_shipped_model_by_name():
    from fst.training.resume import check_resume_files

    cfg = compose_config("train", ["experiment=temporal", "style=candy"])
    assert (cfg.loss.temporal_weight, cfg.run_name, cfg.trainer.max_steps) == (100, "temporal", 5500)
    assert cfg.data.image_size == 256 and cfg.scheduler.T_max == 5500  # the zoo recipe, its cosine LR going on
    assert cfg.continue_from == "candy" and list(cfg.teachers) == ["candy"] and cfg.distill_weight == 1000  # its own anchor
    check_resume_files(None, "candy")  # a shipped model's name is a model to continue from
    with pytest.raises(FstError, match="continue_from: style model not found"):
        check_resume_files(None, "no_such_style")


@pytest.mark.parametrize("network", ["multi_style", "multi_style_fast"])
def test_the_shipped_multi_style_networks_are_their_temporal_experiments_output(network):
    from hydra.utils import instantiate

    from fst.models.zoo import resolve_model
    from fst.training.styles import styles_entry

    cfg = compose_config("train", [f"experiment=temporal_{network}", "paths.output_dir=/o"])
    card = read_card(resolve_model(network, "continue_from"))
    styles = [styles_entry(i, entry, cfg) for i, entry in enumerate(cfg.styles)]
    assert [s["name"] for s in styles] == card.style_names  # continue_from needs its styles in its order
    assert [s["style_weight"] for s in styles] == [card.loss.weight_for(s) for s in card.styles]
    assert instantiate(cfg.model, num_styles=len(styles)).config == card.network and cfg.model_name == network
    assert cfg.continue_from == network and list(cfg.teachers) == [network] and cfg.distill_weight == 1000
    assert cfg.loss.temporal_weight == 100 and cfg.optimizer.lr == card.training.lr
    # the shipped network is this preset's output (or one of its checkpoints): its card records the fine-tune
    assert cfg.trainer.max_steps == cfg.scheduler.T_max == card.training.max_steps >= card.training.steps
    assert card.loss.temporal_weight == cfg.loss.temporal_weight and card.training.teachers == (network,)


# --- the benchmark's clips and measurements ---


def test_synthetic_clip_pans_moves_an_object_and_cuts():
    photos = [texture(160, 120, seed=i) for i in range(3)]
    clip = synthetic_clip(photos, frames=48, size=(48, 64))
    assert len(clip.frames) == 48 and clip.cut == 32 and all(f.shape == (48, 64, 3) for f in clip.frames)
    boxes = clip.boxes[: clip.cut]
    assert all(b is not None for b in boxes) and all(b is None for b in clip.boxes[clip.cut :])
    assert boxes[-1][0] > boxes[0][0]  # the object moves right
    difference = [np.abs(clip.frames[t + 1].astype(int) - clip.frames[t]).mean() for t in range(47)]
    assert difference[clip.cut - 1] > 3 * max(difference[: clip.cut - 1] + difference[clip.cut :])  # the cut stands out


def test_warping_error_is_small_for_steady_paint_and_large_for_flicker():
    photos = [texture(160, 120, seed=i) for i in range(3)]
    clip = synthetic_clip(photos, frames=8, size=(48, 64))
    rng = np.random.default_rng(0)
    flicker = [np.clip(f.astype(int) + rng.integers(-40, 40, (1, 1, 3)), 0, 255).astype(np.uint8) for f in clip.frames]
    steady = warping_error(clip.frames, clip.frames, "farneback", skip={clip.cut - 1})
    flickering = warping_error(clip.frames, flicker, "farneback", skip={clip.cut - 1})
    assert flickering > 5 * steady


def test_the_video_table_gives_each_style_the_mean_and_the_speed_as_ratios_of_todays_model(tmp_path):
    def method(warp, style, content, fps):
        return {"warping_error": warp, "style": style, "content": content, "fps": fps, "cuts": None}

    for name, scale in (("candy", 1.0), ("udnie", 2.0)):
        methods = {"per-frame": method(0.010 * scale, 2.0 * scale, 5.0, 20.0),
                   "temporal model": method(0.009 * scale, 2.1 * scale, 5.0, 20.0),
                   "temporal model + flow 0.25": method(0.005 * scale, 2.2 * scale, 5.5, 16.0)}
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps({"ckpt": name, "methods": methods}))
    result = run_script("video_table.py", str(tmp_path / "candy"), str(tmp_path / "udnie"), "--speed", str(tmp_path / "candy"))
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[2] == "| candy | 10.00, 2.000, 5.000 | 0.90x, +5.0%, +0.0% | 0.50x, +10.0%, +10.0% |"
    assert lines[3].startswith("| udnie | 20.00, 4.000, 5.000 | 0.90x, +5.0%")
    assert lines[4] == "| **mean of 2** | | 0.90x, +5.0%, +0.0% | 0.50x, +10.0%, +10.0% |"
    assert lines[5] == "| **frames/s** (candy, run alone) | 20.0 | 1.00x | 0.80x |"  # from the run made alone
    missing = run_script("video_table.py", str(tmp_path / "candy"), "--strength", "0.35")
    assert missing.returncode != 0 and "no temporal model + flow 0.35" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.slow
def test_video_benchmark_writes_its_table_and_strip(ckpt, tiny_data, tmp_path):
    photos = []
    for i in range(3):
        Image.fromarray(texture(160, 120, seed=i)).save(tmp_path / f"p{i}.png")
        photos.append(str(tmp_path / f"p{i}.png"))
    result = run_script(
        "evaluate_video.py", "--ckpt", str(ckpt), "--temporal-ckpt", str(ckpt), "--photos", *photos, "--frames", "6",
        "--size", "64x48", "--strengths", "0.5", "--output", str(tmp_path / "bench"), "device=cpu",
        env={"FST_DATA_DIR": str(tiny_data), "FST_VGG_WEIGHTS": "random"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = (tmp_path / "bench" / "report.md").read_text()
    for method in ("| per-frame |", "| flow 0.5 |", "| temporal model |", "| temporal model + flow 0.5 |"):
        assert method in report
    assert Image.open(tmp_path / "bench" / "strip.jpg").size[0] == 5 * 164
    measured = json.loads((tmp_path / "bench" / "results.json").read_text())["methods"]
    assert list(measured) == ["per-frame", "flow 0.5", "temporal model", "temporal model + flow 0.5"]
    # the same model per frame twice: the same paint, so the same losses
    assert measured["temporal model"]["style"] == pytest.approx(measured["per-frame"]["style"], rel=1e-4)
    assert all(m["warping_error"] > 0 and m["fps"] > 0 for m in measured.values())
