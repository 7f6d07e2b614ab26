"""Rebuild demo/, the small data set that ships with fst, from the shared data folder beside the repository.

    python tools/make_demo_set.py                       # reads ../shared/data, writes demo/
    python tools/make_demo_set.py --shared /path/to/shared/data --out demo

demo/ is laid out like an FST_DATA_DIR (styles/<name>.jpg, content/train/, content/eval/), so training without
FST_DATA_DIR set reads it (``python scripts/train.py experiment=demo`` on a fresh clone). Only images whose licence
lets anyone redistribute them are picked, each listed below with its source, author and licence; demo/README.md
is written from this table. Every source file is checked against the shared data's manifest.csv (sha256) and each
Wikimedia Commons page against ATTRIBUTION_wikiphotos.txt, so the selection can be audited.

Left out, and why: BSDS500 (research use only), Sun-Hays80 and Urban100 (no licence stated), the reference
implementations' demo photos (no image licence stated), the paintings under copyright (la_muse, rain_princess) or of
unknown origin (candy, mosaic, feathers), and the Wikimedia photos whose author and licence are not recorded in the
shared data (its attribution file lists their pages but not which file is which, nor their authors): a photo joins
the set once a row below names its author and licence from its page.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
from pathlib import Path
from typing import NamedTuple

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
COMMONS = "https://commons.wikimedia.org/wiki/File%3A"
PHOTO_SHORT_SIDE = 320  # enough for the demo's 128 px crops and INT8 calibration's 256 px centre crops
PAINTING_LONG_SIDE = 512  # the demo's style size is 256; conf/style's 384 still fits
PHOTO_QUALITY, PAINTING_QUALITY = 85, 90


class Item(NamedTuple):
    source: str  # path under the shared data folder
    target: str  # path under demo/
    title: str
    author: str
    licence: str
    origin: str  # where the shared copy came from (its page, repository or package)


PD_US_GOV = "public domain (a work of the U.S. federal government)"
PD_HIGHSMITH = "public domain (Carol M. Highsmith Archive, Library of Congress: dedicated to the public)"

ITEMS = [
    Item("styles/starry_night.jpg", "styles/starry_night.jpg", "The Starry Night (1889)", "Vincent van Gogh",
         "public domain (the painter died in 1890; a faithful photograph of a 2-D work adds no copyright)",
         "github:jcjohnson/fast-neural-style images/styles/starry_night.jpg @ 813c834"),
    # Held out for validation and sample grids: a person, an object, an animal and a landscape.
    Item("content/eval/skimage_astronaut.jpg", "content/eval/astronaut.jpg", "Astronaut Eileen Collins", "NASA",
         "public domain (NASA; scikit-image: no known copyright restrictions)", "pypi:scikit-image==0.26.0 skimage/data/astronaut.png"),
    Item("content/eval/skimage_coffee.jpg", "content/eval/coffee.jpg", "A cup of coffee", "Rachel Michetti",
         "CC0 1.0 (as stated in scikit-image)", "pypi:scikit-image==0.26.0 skimage/data/coffee.png"),
    Item("content/eval/skimage_chelsea.jpg", "content/eval/chelsea.jpg", "Chelsea the cat", "Stéfan van der Walt",
         "CC0 1.0 (as stated in scikit-image)", "pypi:scikit-image==0.26.0 skimage/data/chelsea.png"),
    Item("content/eval/sklearn_china.jpg", "content/eval/china.jpg", "A temple in China", "danielbuechele (Flickr)",
         "CC BY 2.0 (https://creativecommons.org/licenses/by/2.0/), as stated in scikit-learn; resized and re-encoded",
         "pypi:scikit-learn==1.9.1 sklearn/datasets/images/china.jpg"),
    # Training photos.
    Item("content/eval/skimage_rocket.jpg", "content/train/rocket.jpg", "A SpaceX Falcon 9 launch", "SpaceX",
         "public domain (released by SpaceX, as stated in scikit-image)", "pypi:scikit-image==0.26.0 skimage/data/rocket.jpg"),
    Item("content/eval/sklearn_flower.jpg", "content/train/flower.jpg", "A flower",
         "Flickr user vultilion (scikit-learn's images README links this image to that account and names "
         "danielbuechele as author of its two images)",
         "CC BY 2.0 (https://creativecommons.org/licenses/by/2.0/), as stated in scikit-learn; resized and re-encoded",
         "pypi:scikit-learn==1.9.1 sklearn/datasets/images/flower.jpg"),
    Item("content/train/wikiphotos_007.jpg", "content/train/windmills.jpg", "Adventure with the Windmills (Don Quixote, 1863)",
         "Gustave Doré", "public domain (the artist died in 1883)", COMMONS + "Adventure_with_the_Windmills.jpg"),
    Item("content/train/wikiphotos_008.jpg", "content/train/air_force_academy_chapel.jpg",
         "Air Force Academy Chapel, Colorado Springs", "Carol M. Highsmith", PD_HIGHSMITH,
         COMMONS + "Air_Force_Academy_Chapel%2C_Colorado_Springs%2C_CO_04090u_original.jpg"),
    Item("content/train/wikiphotos_015.jpg", "content/train/hurricane_claudette.jpg", "Hurricane Claudette, 14 July 2003",
         "NASA (MODIS, Goddard Space Flight Center)", PD_US_GOV, COMMONS + "Claudette_14_july_2003_1920Z.jpg"),
    Item("content/train/wikiphotos_019.jpg", "content/train/eagle_nebula.jpg", "The Eagle Nebula's 'fairy'",
         "NASA, ESA and the Hubble Heritage Team (STScI/AURA)", PD_US_GOV + ", NASA's Hubble release",
         COMMONS + "Eaglefairy_hst_big.jpg"),
    Item("content/train/wikiphotos_021.jpg", "content/train/space_shuttle.jpg", "Endeavour, with Columbia's ferry flyby",
         "NASA", PD_US_GOV, COMMONS + "Endeavour_with_Columbia_Ferry_Flyby_-_GPN-2000-001996.jpg"),
    Item("content/train/wikiphotos_027.jpg", "content/train/painter.jpg", "Self-portrait", "Peder Severin Krøyer",
         "public domain (the painter died in 1909)", COMMONS + "Kr%C3%B8yer_PS.jpg"),
    Item("content/train/wikiphotos_031.jpg", "content/train/ceiling.jpg",
         "Mural in the Northeast Pavilion, Thomas Jefferson Building (mural by Elmer E. Garnsey, 1890s)",
         "Carol M. Highsmith", PD_HIGHSMITH,
         COMMONS + "Mural_in_Northeast_Pavillion%2C_Thomas_Jefferson_Building_by_Elmer_E._Garnsey_11670u_edit.jpg"),
    Item("content/train/wikiphotos_035.jpg", "content/train/aircraft_factory.jpg",
         "Production of B-24 bombers and C-87 transports", "U.S. Office of War Information (Library of Congress)",
         PD_US_GOV, COMMONS + "Production_of_B-24_bombers_and_C-87_transports2.jpg"),
    Item("content/train/wikiphotos_043.jpg", "content/train/hovercraft.jpg",
         "A landing craft, air cushion and a Coast Guard patrol boat near Naval Station Norfolk", "U.S. Navy", PD_US_GOV,
         COMMONS + "US_Navy_091029-M-5645B-091_A_landing_craft%2C_air_cushion_%28LCAC%29_and_the_U.S._Coast_Guard_"
         "patrol_boat_Albacore_are_underway_near_Naval_Station_Norfolk.jpg"),
    Item("content/train/wikiphotos_044.jpg", "content/train/hospital_drill.jpg", "A sailor examines a patient during a drill",
         "U.S. Navy", PD_US_GOV, COMMONS + "US_Navy_111117-N-UB993-082_A_Sailor_examines_a_patient_during_drill.jpg"),
    Item("content/train/wikiphotos_047.jpg", "content/train/washington_monument.jpg", "Washington Monument, Washington, D.C.",
         "Carol M. Highsmith", PD_HIGHSMITH, COMMONS + "Washington_Monument%2C_Washington%2C_D.C._04037u_original.jpg"),
]

README = """\
# The demo set

A small data set that ships with fst, laid out like an `FST_DATA_DIR`: one painting in `styles/`, {train} training
photos in `content/train/` and {eval} held-out photos in `content/eval/`. Training reads it when `FST_DATA_DIR` is
not set (`python scripts/train.py experiment=demo` on a fresh clone), and `precision=int8` calibrates on its photos.
Rebuild it with `python tools/make_demo_set.py`, which picks these files from the shared data and holds this table.

Every image may be redistributed: each is in the public domain or under the licence named (CC BY 2.0 asks that
its author and licence be credited, as here). Each was resized and re-encoded as JPEG (photos: short side
{photo_side} px, quality {photo_quality}; the painting: long side {painting_side} px). fst's own licence
(BSD-3-Clause) does not cover them: each keeps its own. A Wikimedia Commons source page is the authority on its
file's author and licence.

| file | work | author | licence | source |
| --- | --- | --- | --- | --- |
{rows}
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_sources(shared: Path) -> None:
    """Each source is the file the shared manifest records, and each Wikimedia page one its attribution list names."""
    with open(shared / "manifest.csv", newline="") as f:
        manifest = {row["file"]: row["sha256"] for row in csv.DictReader(f)}
    pages = set((shared / "ATTRIBUTION_wikiphotos.txt").read_text().split())
    for item in ITEMS:
        if manifest.get(item.source) != sha256(shared / item.source):
            raise SystemExit(f"{shared / item.source} is not the file manifest.csv records")
        if item.origin.startswith(COMMONS) and item.origin not in pages:
            raise SystemExit(f"{item.origin} is not among the pages of ATTRIBUTION_wikiphotos.txt")


def resized(image: Image.Image, side: int, long: bool) -> Image.Image:
    """``image`` with its long (or short) side at ``side`` px; never enlarged."""
    scale = side / (max(image.size) if long else min(image.size))
    if scale >= 1:
        return image
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)


def build(shared: Path, out: Path) -> None:
    check_sources(shared)
    for old in out.rglob("*.jpg"):  # a photo dropped from the table leaves the set
        old.unlink()
    for item in ITEMS:
        painting = item.target.startswith("styles/")
        image = Image.open(shared / item.source).convert("RGB")
        image = resized(image, PAINTING_LONG_SIDE if painting else PHOTO_SHORT_SIDE, long=painting)
        target = out / item.target
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, "JPEG", quality=PAINTING_QUALITY if painting else PHOTO_QUALITY, optimize=True)
    rows = "\n".join(f"| `{i.target}` | {i.title} | {i.author} | {i.licence} | {i.origin} |" for i in ITEMS)
    counts = {split: sum(i.target.startswith(f"content/{split}/") for i in ITEMS) for split in ("train", "eval")}
    (out / "README.md").write_text(README.format(
        rows=rows, photo_side=PHOTO_SHORT_SIDE, photo_quality=PHOTO_QUALITY, painting_side=PAINTING_LONG_SIDE, **counts))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(ITEMS)} images written to {out} ({size / 1e6:.2f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data", help="the shared data folder")
    parser.add_argument("--out", type=Path, default=REPO / "demo", help="the demo folder to write")
    args = parser.parse_args()
    build(args.shared, args.out)


if __name__ == "__main__":
    main()
