"""The docs stay true and findable: the option tables in docs/*.md are what the configs say now (tools/option_tables.py
generates them from what --help prints), every command has one, the README stays short, and every relative link in
the README and the docs leads to a file (and a heading) that exists."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from conftest import REPO

DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


def load_tool():
    spec = importlib.util.spec_from_file_location("option_tables", REPO / "tools" / "option_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool():
    return load_tool()


@pytest.fixture(scope="module")
def rendered(tool) -> dict[str, str]:
    return {command: tool.render(command) for command in tool.COMMANDS}


def test_the_tool_knows_every_command(tool):
    assert set(tool.COMMANDS) == {p.stem for p in (REPO / "scripts").glob("*.py")}


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_the_option_tables_match_the_configs(page, tool, rendered):
    for command, text in tool.blocks(page.read_text()):
        assert command in rendered, f"{page.name}: unknown command in <!-- options:{command} -->"
        assert text == rendered[command], (
            f"docs/{page.name}: the {command} options table is out of date; run python tools/option_tables.py")


def test_every_command_has_its_option_table_in_the_docs(tool):
    found = {command for page in DOCS.glob("*.md") for command, _ in tool.blocks(page.read_text())}
    assert found == set(tool.COMMANDS)


def test_a_table_has_a_row_per_option_and_a_line_per_config_group(rendered):
    from fst.commands.cli import documented_options

    options, groups = documented_options("stylize")
    rows = [line for line in rendered["stylize"].splitlines() if line.startswith("| `")]
    assert [row.split(" | ")[0].strip("| `") for row in rows] == list(options)
    assert "| `ckpt` | required |" in rendered["stylize"] and "| `strength` | `1.0` | 0 returns" in rendered["stylize"]
    assert "- `temporal`: " in rendered["stylize"] and set(groups) == {"temporal"}


def test_the_check_mode_finds_a_stale_table_and_the_update_fixes_it(tool, tmp_path, monkeypatch):
    for page in DOCS.glob("*.md"):
        (tmp_path / page.name).write_text(page.read_text())
    stale = tmp_path / "export.md"
    stale.write_text(stale.read_text().replace("| `opset` | `18` |", "| `opset` | `17` |"))
    monkeypatch.setattr(tool, "DOCS", tmp_path)
    monkeypatch.setattr(tool, "REPO", tmp_path.parent)
    assert tool.main(["--check"]) == 1 and "`17`" in stale.read_text()
    assert tool.main([]) == 0 and tool.main(["--check"]) == 0
    assert stale.read_text() == (DOCS / "export.md").read_text()


def test_the_tables_show_no_research_only_paintings(rendered):
    for page in PAGES:
        text = page.read_text()
        assert "la_muse" not in text and "rain_princess" not in text, page.name
    assert not [c for c, text in rendered.items() if "la_muse" in text or "rain_princess" in text]


def test_the_readme_stays_short():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) < 180, f"README.md has {len(lines)} lines: move the detail to a page in docs/"


def without_code(text: str) -> str:
    """Markdown without its fenced code blocks and inline code (no links or headings there)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#* *$", re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M),
                              flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(page: Path) -> list[str]:
    text = without_code(page.read_text())
    return re.findall(r"\]\(([^)\s]+)(?: \"[^\"]*\")?\)", text) + re.findall(r"<img [^>]*src=\"([^\"]+)\"", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page):
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target} (no such heading in {file.relative_to(REPO)})")
    assert not broken, f"{page.relative_to(REPO)}: broken links: {', '.join(broken)}"


def test_the_link_check_sees_links_images_and_anchors():
    readme = links(REPO / "README.md")
    assert "docs/stylize.md" in readme and "docs/multi_style_gallery.jpg" in readme and "docs/app.png" in readme
    assert "int8-and-onnx-runtime-on-cpus" in anchors(DOCS / "stylize.md")
    assert "fstlist_models" in anchors(DOCS / "python-api.md")


def test_the_readme_keeps_the_test_command_that_ci_runs():
    ci = (REPO / ".ci" / "run").read_text()
    command = 'pip install -e ".[dev]" && ruff check . && pytest'
    assert command in ci and command in (REPO / "README.md").read_text()
