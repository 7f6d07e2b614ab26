import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from conftest import compose_config, random_image
from fst.config import build
from fst.data.datamodule import ContentDataModule, ContentImages, collate, eval_transform
from fst.data.images import ImageLoadError, find_images, load_image, open_rgb, save_image
from fst.errors import FstError


def test_find_images_is_recursive_and_filters_extensions(tmp_path):
    for rel in ["a.jpg", "b/c.PNG", "b/d/e.webp", "f.bmp", "g.jpeg", "notes.txt", "h.gif"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)]
    assert found == ["a.jpg", "b/c.PNG", "b/d/e.webp", "f.bmp", "g.jpeg"]


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "1"])
def test_every_mode_becomes_rgb(tmp_path, mode):
    path = tmp_path / ("img.jpg" if mode == "CMYK" else "img.png")
    random_image((20, 12), mode=mode).save(path)
    image = open_rgb(path)
    assert image.mode == "RGB" and image.size == (20, 12)


def test_16_bit_grayscale_is_rescaled_not_clipped(tmp_path):
    values = np.array([[0, 32768, 65535]], dtype=np.uint16).repeat(4, axis=0)
    Image.fromarray(values).save(tmp_path / "deep.png")
    image = load_image(tmp_path / "deep.png")
    assert image.shape == (3, 4, 3)
    torch.testing.assert_close(image[0, 0], torch.tensor([0.0, 0.5, 1.0]), atol=0.01, rtol=0)


def test_transparency_is_composited_on_white(tmp_path):
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(tmp_path / "clear.png")
    assert load_image(tmp_path / "clear.png").min() == 1.0
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([10, 20, 30] * 256)
    palette.info["transparency"] = 0
    palette.save(tmp_path / "pal.png", transparency=0)
    assert load_image(tmp_path / "pal.png").min() == 1.0


def test_exif_orientation_is_applied(tmp_path):
    image = random_image((30, 10))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    image.save(tmp_path / "rotated.jpg", exif=exif)
    assert open_rgb(tmp_path / "rotated.jpg").size == (10, 30)


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 50])
def test_unreadable_files_raise_one_error_type(tmp_path, content):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match="bad.jpg"):
        open_rgb(path)


def test_truncated_jpeg_raises(tmp_path):
    random_image((64, 64)).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="cut.jpg"):
        open_rgb(tmp_path / "cut.jpg")


def test_load_image_resizes_long_side_and_save_round_trips(tmp_path):
    random_image((80, 40)).save(tmp_path / "wide.png")
    image = load_image(tmp_path / "wide.png", long_side=40)
    assert image.shape == (3, 20, 40) and 0 <= image.min() and image.max() <= 1
    save_image(image, tmp_path / "out" / "copy.png")
    torch.testing.assert_close(load_image(tmp_path / "out" / "copy.png"), image, atol=1 / 255, rtol=0)
    assert not list((tmp_path / "out").glob(".*tmp"))  # no temporary files left behind


def test_dataset_skips_corrupt_files_and_reports_them(tmp_path):
    good = []
    for i in range(3):
        random_image((40, 40), seed=i).save(tmp_path / f"good{i}.png")
        good.append(tmp_path / f"good{i}.png")
    (tmp_path / "broken.jpg").write_bytes(b"garbage")
    paths = sorted([*good, tmp_path / "broken.jpg"])
    dataset = ContentImages(paths, eval_transform(32))
    samples = [dataset[i] for i in range(len(dataset))]
    assert all(s["image"].shape == (3, 32, 32) for s in samples)
    batch = collate(samples)
    assert batch["image"].shape == (4, 3, 32, 32)
    assert len(batch["skipped"]) == 1 and "broken.jpg" in batch["skipped"][0]


def make_datamodule(data_dir, **options) -> ContentDataModule:
    """The datamodule of conf/data/default.yaml over ``data_dir``, some options overridden."""
    cfg = compose_config("train", [f"paths.data_dir={data_dir}", "paths.output_dir=/o"])
    return build(OmegaConf.merge(cfg.data, options))


def test_datamodule_batches(tiny_data):
    dm = make_datamodule(tiny_data, image_size=24, batch_size=3, num_workers=0)
    assert len(dm.train_paths) == 8 and len(dm.eval_paths) == 2
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (3, 3, 24, 24) and batch["image"].dtype == torch.float32
    assert 0 <= batch["image"].min() and batch["image"].max() <= 1
    val = next(iter(dm.val_dataloader()))
    assert val["image"].shape == (2, 3, 24, 24)
    again = next(iter(dm.val_dataloader()))
    assert torch.equal(val["image"], again["image"])  # fixed center crops


def test_datamodule_without_eval_folder_has_no_validation(tiny_data):
    dm = make_datamodule(tiny_data, eval_dir=None, num_workers=0)
    assert dm.val_dataloader() == []


def test_missing_or_empty_folders_are_one_line_errors(tmp_path, tiny_data):
    with pytest.raises(FstError, match=f"folder not found: {tmp_path / 'nope'}"):
        make_datamodule(tiny_data, train_dir=str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FstError, match="no images"):
        make_datamodule(tiny_data, train_dir=str(tmp_path / "empty"))
    with pytest.raises(FstError, match="data.image_size"):
        make_datamodule(tiny_data, image_size=0)
