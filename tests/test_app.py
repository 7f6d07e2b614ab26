"""The web app through its API, as gradio_client (and so the page) calls it: photos with a shipped style, mixes of a
multi-style model, videos and GIFs, every bad input answered in one message, several users at once, no file
served from outside the app's own folder, and temporary files cleaned up."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import time
from pathlib import Path
from types import SimpleNamespace

import av
import httpx
import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from conftest import assert_one_line_error, compose_config, make_net, random_image, run_script, save_toy_model, toy_card
from fst.app.gallery import SAMPLE_PHOTO, THUMBNAIL_SIDE, StyleModel, build_gallery
from fst.app.handlers import Handlers
from fst.app.server import running
from fst.commands.app import app_options
from fst.commands.stylize import stylize_config
from fst.errors import FstError
from fst.models import read_card, save_style_model
from fst.models.arbitrary_net import STATISTICS, ArbitraryStyleNet
from fst.models.card import StyleSpec
from fst.models.conditional_net import ConditionalTransformerNet
from fst.models.zoo import shipped_models
from fst.options import AppOptions

pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")  # Gradio's own use of pandas

MIX_STYLES = ["starry", "wave", "scream"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """A folder of the user's models: a one-style toy, a three-style toy whose styles differ, and a file that is
    no style model."""
    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    save_toy_model(make_net(width=0.25, num_residual_blocks=1), folder / "toy.safetensors", name="toy", dtype="float32")
    net = ConditionalTransformerNet(num_styles=3, width=0.25, num_residual_blocks=1, upsampling="nearest", output_activation="none")
    with torch.no_grad():
        for name, parameter in net.named_parameters():
            if name.endswith((".scale", ".shift")):
                parameter.copy_(float(name.endswith(".scale")) + 0.5 * torch.randn_like(parameter))
    card = toy_card(net, name="trio").replace(styles=tuple(toy_card(net, n).styles[0] for n in MIX_STYLES))
    save_style_model(net.eval(), folder / "nested" / "trio.safetensors", card, dtype="float32")
    anything = ArbitraryStyleNet(embedding_size=6, known_styles=2, width=0.25, num_residual_blocks=1, upsampling="nearest",
                                 output_activation="none")
    anything.known_statistics.copy_(torch.rand(2, STATISTICS))
    card = toy_card(anything, name="anything").replace(styles=(StyleSpec("dots"), StyleSpec("waves")))
    save_style_model(anything.eval(), folder / "anything.safetensors", card, dtype="float32")
    (folder / "weights.safetensors").write_bytes(b"not a style model")
    return folder


@pytest.fixture(scope="module")
def paintings(tmp_path_factory) -> Path:
    """A painting for every shipped style and the toy (so their thumbnails need no stylization); none for trio."""
    folder = tmp_path_factory.mktemp("paintings")
    for index, name in enumerate([*shipped_models(), "toy"]):  # adapted/the_scream paints the_scream
        random_image((300, 200), seed=200 + index).save(folder / f"{Path(name).name}.jpg")
    return folder


def app_config(models: Path | None, paintings: Path, *overrides: str):
    # tile_size=64: photos over 64 px go through the seamless tiling, as large ones do at the default size
    return app_options(compose_config("app", [f"models={models}" if models else "models=null", f"paintings={paintings}",
                                              f"port={free_port()}", "device=cpu", "max_upload_mb=0.05", "tile_size=64",
                                              "tile_overlap=8", *overrides]))


@pytest.fixture(scope="module")
def app(models, paintings):
    cfg = app_config(models, paintings, "concurrency=2")
    with running(cfg) as (_, url, folder):
        yield SimpleNamespace(cfg=cfg, url=url, folder=folder)


@pytest.fixture(scope="module")
def client(app, tmp_path_factory) -> Client:
    return Client(app.url, analytics_enabled=False, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def stylize_photo(client: Client, path: Path, model: str = "candy", **options) -> Path:
    options = {"mix": "", "strength": 1.0, "preserve_color": False, "size": "original", "format": "PNG", **options}
    return Path(client.predict(photo=handle_file(str(path)), model=model, **options, api_name="/stylize_photo"))


def stylize_video(client: Client, path: Path, model: str = "toy", **options) -> tuple[str | None, str | None]:
    options = {"mix": "", "strength": 1.0, "preserve_color": False, "size": "original", "steady": False,
               "steadiness": 0.3, **options}
    return client.predict(video=handle_file(str(path)), model=model, **options, api_name="/stylize_video")


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255


def write_photo(path: Path, size=(64, 48), seed=1) -> Path:
    random_image(size, seed=seed).save(path)
    return path


def write_video(path: Path, frames=6, size=(48, 32)) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.asarray(random_image(size, seed=index)), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def video_facts(path: str) -> tuple[int, tuple[int, int]]:
    with av.open(path) as container:
        stream = container.streams.video[0]
        return sum(1 for _ in container.decode(video=0)), (stream.codec_context.width, stream.codec_context.height)


# --- the gallery ---


def test_the_gallery_lists_the_shipped_models_then_the_users_with_a_thumbnail_each(models, paintings, tmp_path):
    gallery = build_gallery(app_config(models, paintings), tmp_path)
    assert list(gallery) == [*shipped_models(), "anything", "toy", "trio"]  # weights.safetensors is no style model: skipped
    assert gallery["trio"].caption == "trio (3 styles)" and gallery["trio"].styles == MIX_STYLES
    assert gallery["anything"].caption == "anything (any painting)" and gallery["anything"].styles == ["dots", "waves"]
    assert gallery["candy"].caption == "candy" and gallery["candy"].styles == []
    painting = Image.open(paintings / "toy.jpg").resize((THUMBNAIL_SIDE, round(200 * THUMBNAIL_SIDE / 300)), Image.LANCZOS)
    assert np.abs(pixels(gallery["toy"].thumbnail) - np.asarray(painting, dtype=np.float32) / 255).mean() < 0.02
    sample = Image.open(SAMPLE_PHOTO)  # trio has no painting: the sample photo in its first style
    assert Image.open(gallery["trio"].thumbnail).size == (round(sample.width * THUMBNAIL_SIDE / sample.height), THUMBNAIL_SIDE)


@pytest.mark.parametrize("folder,message", [("missing", "folder not found"), ("empty", "no style models (.safetensors) in it")])
def test_a_models_folder_without_models_is_one_line(paintings, tmp_path, folder, message):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FstError, match=re.escape(message)):
        build_gallery(app_config(tmp_path / folder, paintings), tmp_path / "thumbnails")


# --- photos ---


def test_a_photo_is_stylized_with_a_shipped_style_at_its_size(client, tmp_path):
    source = write_photo(tmp_path / "photo.png")
    result = stylize_photo(client, source, model="candy")
    assert result.name == "photo_candy.png" and Image.open(result).size == (64, 48)
    assert np.abs(pixels(result) - pixels(source)).mean() > 0.05
    jpeg = stylize_photo(client, source, model="starry_night", size="32", format="JPEG")
    assert Image.open(jpeg).format == "JPEG" and Image.open(jpeg).size == (32, 24)


def test_the_app_paints_exactly_what_fst_stylize_paints(app, client, tmp_path):
    """The app runs stylize itself, tiles and all (96 px is over the app's tile_size of 64)."""
    source = write_photo(tmp_path / "wide.png", size=(96, 72), seed=4)
    result = stylize_photo(client, source, model="mosaic", strength=0.7, preserve_color=True)
    expected = tmp_path / "expected.png"
    stylize_config(compose_config("stylize", ["ckpt=mosaic", f"input={source}", f"output={expected}", "device=cpu", "strength=0.7",
                                       "preserve_color=true", "tile_size=64", "tile_overlap=8"]))
    assert np.array_equal(pixels(result), pixels(expected))


def test_a_large_photo_goes_through_the_tiling_with_a_progress_bar(client, tmp_path):
    """Photos over tile_size (64 px here) are stylized in seamless tiles; the page's progress bar follows them."""
    source = write_photo(tmp_path / "large.jpg", size=(480, 360))
    job = client.submit(photo=handle_file(str(source)), model="candy", mix="", strength=1.0, preserve_color=False,
                        size="original", format="PNG", api_name="/stylize_photo")
    progress = []
    while not job.done():
        progress += [(unit.desc, unit.index, unit.length) for unit in job.status().progress_data or []]
        time.sleep(0.02)
    assert Image.open(job.result()).size == (480, 360)
    tiles = [(index, length) for desc, index, length in progress if desc == "tiles"]
    assert tiles and all(length == tiles[0][1] > 1 for _, length in tiles)


def test_styles_of_a_multi_style_model_mix(client, models, tmp_path):
    source = write_photo(tmp_path / "photo.png", seed=2)
    starry, wave = (stylize_photo(client, source, model="trio", mix=style) for style in ("starry", "wave"))
    mixed = stylize_photo(client, source, model="trio", mix="starry:0.5,wave:0.5")
    assert mixed.name == "photo_starry50+wave50.png"
    for one, other in [(starry, wave), (starry, mixed), (wave, mixed)]:
        assert np.abs(pixels(one) - pixels(other)).mean() > 0.005
    expected = tmp_path / "expected.png"
    stylize_config(compose_config("stylize", [f"ckpt={models / 'nested' / 'trio.safetensors'}", "style='starry:0.5,wave:0.5'",
                                       f"input={source}", f"output={expected}", "device=cpu", "tile_size=64", "tile_overlap=8"]))
    assert np.array_equal(pixels(mixed), pixels(expected))


def test_an_uploaded_painting_paints_like_fst_stylize_with_the_painting_file(client, models, tmp_path):
    source, painting = write_photo(tmp_path / "photo.png", seed=3), write_photo(tmp_path / "mine.png", size=(90, 70), seed=9)
    painted = client.predict(photo=handle_file(str(source)), model="anything", mix="painting", strength=1.0,
                             preserve_color=False, size="original", format="PNG", painting=handle_file(str(painting)),
                             api_name="/stylize_photo")
    expected = tmp_path / "expected.png"
    stylize_config(compose_config("stylize", [f"ckpt={models / 'anything.safetensors'}", f"style={painting}", f"input={source}",
                                              f"output={expected}", "device=cpu", "tile_size=64", "tile_overlap=8"]))
    assert np.array_equal(pixels(painted), pixels(expected))
    assert np.abs(pixels(painted) - pixels(stylize_photo(client, source, model="anything", mix="dots"))).mean() > 0.005


@pytest.mark.parametrize("mix,message", [
    ("painting", "no painting yet: drop one into the painting box first"),
    ("/etc/hostname", "'/etc/hostname' is not one of this model's styles (dots, painting, waves)"),  # no server files
])
def test_a_painting_must_be_uploaded(client, tmp_path, mix, message):
    with pytest.raises(AppError) as error:
        stylize_photo(client, write_photo(tmp_path / "photo.png"), model="anything", mix=mix)
    assert message in str(error.value)


# --- videos and GIFs ---


@pytest.mark.parametrize("steady", [False, True])
def test_a_video_keeps_its_frames_and_size(client, tmp_path, steady):
    clip, gif = stylize_video(client, write_video(tmp_path / "clip.mp4"), steady=steady)
    assert gif is None and Path(clip).name == "clip_toy.mp4"
    assert video_facts(clip) == (6, (48, 32))


def test_a_gif_comes_back_a_gif_at_the_output_size(client, tmp_path):
    frames = [random_image((40, 30), seed=i) for i in range(3)]
    frames[0].save(tmp_path / "cat.gif", save_all=True, append_images=frames[1:], duration=80, loop=0)
    clip, gif = stylize_video(client, tmp_path / "cat.gif", model="trio", mix="scream", size="20")
    assert clip is None and Path(gif).name == "cat_scream.gif"
    with Image.open(gif) as result:
        assert result.n_frames == 3 and result.size == (20, 16)  # even sides, as for videos


# --- bad input: one message in the page, and the app goes on ---


def corrupt(path: Path) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return path


def truncated(path: Path) -> Path:
    random_image((64, 48), seed=3).save(path, quality=95)
    path.write_bytes(path.read_bytes()[:600])
    return path


@pytest.mark.parametrize(
    "name,make,endpoint,options,message",
    [
        ("notes.txt", lambda p: p.write_text("hello") and p, "photo", {}, "notes.txt is not a photo that fst reads; give a file of .jpg"),
        ("broken.png", corrupt, "photo", {}, "cannot read image broken.png: cannot identify image file"),
        ("cut.jpg", truncated, "photo", {}, "cannot read image cut.jpg"),
        ("clip.mp4", write_video, "photo", {}, "clip.mp4 is a video: use the Video tab"),
        ("photo.png", write_photo, "photo", {"size": "huge"}, "output size 'huge': give the long side in pixels"),
        ("photo.png", write_photo, "photo", {"model": "trio", "mix": "starry:1,nope:1"}, "this model has no style 'nope'"),
        ("photo.png", write_photo, "photo", {"mix": "wave"}, "this model paints one style, candy"),
        ("broken.mp4", lambda p: p.write_bytes(os.urandom(3000)) and p, "video", {}, "cannot read video broken.mp4"),
        ("photo.png", write_photo, "video", {}, "photo.png is a photo: use the Photo tab"),
        ("photo.png", write_photo, "photo", {"model": "nope"}, "no style model 'nope' in this app; pick one of the gallery: arbitrary, candy,"),
    ],
)
def test_bad_input_gets_one_clear_message(client, tmp_path, name, make, endpoint, options, message):
    path = make(tmp_path / name)
    call = stylize_photo if endpoint == "photo" else stylize_video
    with pytest.raises(AppError) as error:
        call(client, path, **options)
    assert message in str(error.value) and "Traceback" not in str(error.value)
    assert str(tmp_path) not in str(error.value) and "fst-app-" not in str(error.value)  # no server paths


def test_an_upload_over_the_limit_is_refused_with_the_limit(app, client, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(os.urandom(60_000))  # over max_upload_mb=0.05 (52429 bytes)
    with pytest.raises(ValueError, match="exceeds the maximum file size of 52429 bytes"):
        stylize_photo(client, big)
    with big.open("rb") as file:  # a client that does not check first: the server refuses it itself
        answer = httpx.post(f"{app.url}gradio_api/upload", files={"files": ("big.png", file)})
    assert answer.status_code == 413 and "52429 bytes" in answer.text


def test_two_users_at_once_both_get_their_own_results(app, client, tmp_path):
    other = Client(app.url, analytics_enabled=False, verbose=False, download_files=str(tmp_path / "other"))
    photos = [write_photo(tmp_path / f"{name}.png", seed=seed) for name, seed in (("mine", 5), ("yours", 6))]
    before = set((app.folder / "results").iterdir())
    jobs = [user.submit(photo=handle_file(str(photo)), model="udnie", mix="", strength=1.0, preserve_color=False,
                        size="original", format="PNG", api_name="/stylize_photo") for user, photo in zip((client, other), photos)]
    results = [Path(job.result(timeout=120)) for job in jobs]
    assert [r.name for r in results] == ["mine_udnie.png", "yours_udnie.png"]
    folders = set((app.folder / "results").iterdir()) - before
    assert len(folders) == 2 and all(len(f.name) >= 20 for f in folders)  # one unguessable folder per request


def test_no_file_is_served_from_outside_the_apps_folder(app, tmp_path):
    outside = write_photo(tmp_path / "private.png")
    for path in (outside, Path(__file__), app.folder / "results"):  # a file elsewhere, the code, a folder listing
        assert httpx.get(f"{app.url}gradio_api/file={path}").status_code == 403
    # a request that names a file on the server instead of uploading one is refused
    data = [{"path": str(outside), "meta": {"_type": "gradio.FileData"}}, "candy", "", 1.0, False, "original", "PNG"]
    event = httpx.post(f"{app.url}gradio_api/call/stylize_photo", json={"data": data}).json()["event_id"]
    answer = httpx.get(f"{app.url}gradio_api/call/stylize_photo/{event}", timeout=60).text
    assert "event: error" in answer and "private" not in answer


# --- the webcam ---


def test_webcam_frames_come_back_small_with_the_frame_rate(app, tmp_path):
    cfg = dataclasses.replace(app.cfg)
    cfg.webcam_size, cfg.webcam_model = 40, None  # the chosen model itself, not the light one
    toy = Path(app.cfg.models) / "toy.safetensors"  # the handler, as the page calls it, over a one-model gallery
    handlers = Handlers(cfg, {"toy": StyleModel("toy", toy, read_card(toy), Path("unused.jpg"))}, tmp_path)
    frame = np.asarray(random_image((120, 90), seed=7))
    output, rate, session = handlers.webcam(frame, "toy", "", 1.0, False, None)
    assert output.shape == (30, 40, 3) and output.dtype == np.uint8 and rate.startswith("0.0 frames/s")
    stylizer = session["stylizer"]
    output, rate, session = handlers.webcam(frame, "toy", "", 1.0, False, session)
    assert session["stylizer"] is stylizer  # one network per stream, not per frame
    assert float(rate.split()[0]) > 0 and rate.endswith("at 40x30 (toy)")
    _, _, session = handlers.webcam(frame, "toy", "", 0.5, False, session)
    assert session["stylizer"] is not stylizer  # new options, a new network


def test_the_webcam_paints_the_chosen_style_with_the_light_model_when_it_has_it(app, tmp_path):
    from fst.models.light_net import ConditionalLightNet

    light = ConditionalLightNet(num_styles=3, channels=[8, 16], num_residual_blocks=1, output_activation="none").eval()
    card = toy_card(light, name="fast").replace(styles=tuple(toy_card(light, n).styles[0] for n in MIX_STYLES))
    save_style_model(light, tmp_path / "fast.safetensors", card, dtype="float32")
    files = {"toy": Path(app.cfg.models) / "toy.safetensors", "trio": Path(app.cfg.models) / "nested" / "trio.safetensors",
             "fast": tmp_path / "fast.safetensors"}
    gallery = {name: StyleModel(name, path, read_card(path), Path("unused.jpg")) for name, path in files.items()}
    cfg = dataclasses.replace(app.cfg)
    cfg.webcam_size, cfg.webcam_model = 40, "fast"
    handlers = Handlers(cfg, gallery, tmp_path)
    assert handlers.webcam_painter("trio", "starry:1,scream:3") == ("fast", "starry:0.25,scream:0.75")
    assert handlers.webcam_painter("trio", "wave") == ("fast", "wave:1")
    assert handlers.webcam_painter("toy", "") == ("toy", "")  # a style the light model does not paint
    frame = np.asarray(random_image((120, 90), seed=7))
    output, rate, session = handlers.webcam(frame, "trio", "wave", 1.0, False, None)
    assert output.shape == (30, 40, 3) and rate.endswith("(fast)") and session["stylizer"].net.num_styles == 3
    direct, _, _ = handlers.webcam(frame, "fast", "wave", 1.0, False, None)
    assert np.array_equal(output, direct)
    cfg.webcam_model = "nowhere"
    with pytest.raises(FstError, match="webcam_model=nowhere is not a model of this app"):
        build_gallery(cfg, tmp_path / "thumbnails")


def test_the_webcam_paints_with_the_shipped_light_model_by_default(tmp_path):
    options = AppOptions()
    assert options.webcam_model == "multi_style_fast"
    gallery = {name: StyleModel(name, path, read_card(path), Path("unused.jpg")) for name, path in shipped_models().items()}
    assert gallery["multi_style_fast"].card.architecture == "conditional_light_net"
    handlers = Handlers(options, gallery, tmp_path)
    assert handlers.webcam_painter("candy", None) == ("multi_style_fast", "candy:1")  # a one-style model's style
    assert handlers.webcam_painter("multi_style", "candy:1,udnie:3") == ("multi_style_fast", "candy:0.25,udnie:0.75")
    frame = np.asarray(random_image((96, 64), seed=8))
    output, rate, _ = handlers.webcam(frame, "udnie", None, 1.0, False, None)
    assert output.shape == (214, 320, 3) and rate.endswith("(multi_style_fast)")


# --- temporary files, and the command ---


def test_results_are_deleted_after_keep_minutes_and_everything_when_the_app_stops(paintings, tmp_path):
    cfg = app_config(None, paintings, "keep_minutes=0.02")  # about one second
    with running(cfg) as (_, url, folder):
        assert os.environ["GRADIO_TEMP_DIR"] == str(folder)
        user = Client(url, analytics_enabled=False, verbose=False, download_files=str(tmp_path / "downloads"))
        stylize_photo(user, write_photo(tmp_path / "photo.png"))
        made = [p for p in folder.rglob("*.png")]
        assert {p.name for p in made} == {"photo.png", "photo_candy.png"}  # the upload and the result
        deadline = time.monotonic() + 20
        while any(p.exists() for p in made) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(p.exists() for p in made)
        assert len(list((folder / "thumbnails").glob("*.jpg"))) == len(shipped_models())  # the gallery stays
    assert not folder.exists() and os.environ.get("GRADIO_TEMP_DIR") != str(folder)


def test_the_command_answers_mistakes_in_one_line_before_serving(tmp_path):
    assert_one_line_error(run_script("app.py", f"models={tmp_path / 'nowhere'}", f"port={free_port()}", timeout=120),
                          "models=", "folder not found")
    assert_one_line_error(run_script("app.py", "compile=true", timeout=120), "compile=true does not suit the app")
