"""Set up COCO 2014 train as fst's content photos (needs internet and about 13 GB, twice over while unpacking).

    python tools/download_coco.py --data-dir data              # download train2014.zip and unpack
    python tools/download_coco.py --data-dir data --zip ~/train2014.zip   # use a zip you already have

Photos go to <data-dir>/content/train/ and the last --eval-images of them to <data-dir>/content/eval/.
Style paintings go in <data-dir>/styles/<name>.jpg (see conf/style/ for the names fst expects).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import urllib.request
import zipfile
from pathlib import Path

from tqdm import tqdm

COCO_TRAIN_2014 = "http://images.cocodataset.org/zips/train2014.zip"


def download(url: str, destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".part")
    with urllib.request.urlopen(url) as response, open(partial, "wb") as f:
        total = int(response.headers.get("Content-Length", 0)) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=destination.name) as progress:
            while chunk := response.read(1 << 20):
                f.write(chunk)
                progress.update(len(chunk))
    partial.rename(destination)
    return destination


def unpack(archive: Path, data_dir: Path, eval_images: int) -> tuple[int, int]:
    """Extract the zip's JPEGs flat into content/train, then move the last few to content/eval."""
    train_dir, eval_dir = data_dir / "content" / "train", data_dir / "content" / "eval"
    train_dir.mkdir(parents=True, exist_ok=True)
    eval_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        members = sorted(m for m in zf.namelist() if m.lower().endswith((".jpg", ".jpeg")))
        for name in tqdm(members, unit="img", desc="unpack"):
            target = train_dir / Path(name).name
            if not target.exists():
                with zf.open(name) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    held_out = sorted(train_dir.iterdir())[-eval_images:] if eval_images else []
    for path in held_out:
        path.rename(eval_dir / path.name)
    return len(members) - len(held_out), len(held_out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="fst's data_dir (FST_DATA_DIR)")
    parser.add_argument("--zip", type=Path, help="a local train2014.zip instead of downloading it")
    parser.add_argument("--url", default=COCO_TRAIN_2014)
    parser.add_argument("--eval-images", type=int, default=16, help="photos held out for validation")
    args = parser.parse_args()
    archive = args.zip
    if archive is None:
        archive = args.data_dir / "downloads" / "train2014.zip"
        if not archive.exists():
            try:
                download(args.url, archive)
            except OSError as exc:
                sys.exit(f"fst: error: could not download {args.url} ({exc}); download it yourself and pass --zip PATH")
    if not archive.is_file():
        sys.exit(f"fst: error: zip not found: {archive}; pass --zip /path/to/train2014.zip")
    try:
        train, held_out = unpack(archive, args.data_dir, args.eval_images)
    except zipfile.BadZipFile:
        sys.exit(f"fst: error: {archive} is not a valid zip; delete it and download again")
    print(f"fst: {train} training photos in {args.data_dir / 'content' / 'train'}, {held_out} in content/eval")


if __name__ == "__main__":
    main()
