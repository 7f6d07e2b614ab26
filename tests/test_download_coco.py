"""The COCO setup helper, fed a local zip (no download needed)."""

import io
import zipfile

from conftest import random_image, run_script


def test_local_zip_is_unpacked_into_train_and_eval(tmp_path):
    archive = tmp_path / "train2014.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(5):
            buffer = io.BytesIO()
            random_image((20, 16), seed=i).save(buffer, format="JPEG")
            zf.writestr(f"train2014/COCO_train2014_{i:012d}.jpg", buffer.getvalue())
        zf.writestr("train2014/README.txt", "ignored")
    data = tmp_path / "data"
    result = run_script("download_coco.py", "--data-dir", str(data), "--zip", str(archive), "--eval-images", "2")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (data / "content" / "train").iterdir()) == [f"COCO_train2014_{i:012d}.jpg" for i in range(3)]
    assert len(list((data / "content" / "eval").iterdir())) == 2


def test_missing_zip_is_a_one_line_error(tmp_path):
    result = run_script("download_coco.py", "--data-dir", str(tmp_path), "--zip", str(tmp_path / "nope.zip"))
    assert result.returncode != 0 and "zip not found" in result.stderr and "Traceback" not in result.stderr
