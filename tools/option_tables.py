"""The docs' option tables, generated from the commands' configs: the rows that ``fst-<command> --help`` prints.

A page holds a command's table between two marker comments, which this tool fills in:

    <!-- options:stylize -->
    (the generated table)
    <!-- /options:stylize -->

    python tools/option_tables.py           # rewrite every table in docs/*.md
    python tools/option_tables.py --check   # exit 1, naming the pages, when a table is out of date

tests/test_docs.py checks that the tables match the configs, so a changed option fails the tests until this runs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
COMMANDS = ("train", "stylize", "export", "evaluate", "optimize", "models", "app")
# Style configs kept for research use only, whose paintings fst does not show: left out of the public tables.
HIDDEN_CHOICES = {"la_muse", "rain_princess"}
BLOCK = re.compile(r"(<!-- options:(\w+) -->\n)(.*?)(<!-- /options:\2 -->)", re.S)


def _text(text: str) -> str:
    """Help text for a table cell: pipes escaped, and ``<name>`` kept visible (HTML would swallow it) outside
    `code`."""
    parts = re.split(r"(`[^`]*`)", text)
    parts = [p if p.startswith("`") else p.replace("<", "&lt;").replace(">", "&gt;") for p in parts]
    return "".join(parts).replace("|", "\\|")


def _code(value: str) -> str:
    return "`" + value.replace("|", "\\|") + "`"


def render(command: str) -> str:
    """The markdown table of ``command``'s options (option, default, what it does), then its config groups."""
    from fst.commands.cli import documented_options

    options, groups = documented_options(command)
    lines = ["| option | default | what it does |", "| --- | --- | --- |"]
    for key, (default, help) in options.items():
        default = "required" if default == "???" else _code(default)
        lines.append(f"| {_code(key)} | {default} | {_text(help)} |".replace(" |  |", " | |"))
    if groups:
        lines += ["", "Config groups (`group=choice`):", ""]
        for group, text in groups.items():
            match = re.fullmatch(r"(.*) \(default: (.*)\)", text)
            choices, default = (match.group(1), match.group(2)) if match else (text, "")
            shown = [c for c in choices.split(", ") if c not in HIDDEN_CHOICES]
            default = "none" if default in ("None", "null", "") else default
            lines.append(f"- {_code(group)}: {', '.join(_code(c) for c in shown)} (default: {_code(default)})")
    return "\n".join(lines) + "\n"


def pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def blocks(text: str) -> list[tuple[str, str]]:
    """(command, the text between its markers) of each table in a page."""
    return [(match.group(2), match.group(3)) for match in BLOCK.finditer(text)]


def update(text: str, rendered: dict[str, str] | None = None) -> str:
    """The page with each of its tables rendered anew."""
    rendered = {} if rendered is None else rendered

    def fill(match: re.Match) -> str:
        command = match.group(2)
        if command not in COMMANDS:
            raise SystemExit(f"unknown command in a marker: options:{command}; the commands are {', '.join(COMMANDS)}")
        if command not in rendered:
            rendered[command] = render(command)
        return match.group(1) + rendered[command] + match.group(4)

    return BLOCK.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a table is out of date")
    args = parser.parse_args(argv)
    rendered: dict[str, str] = {}
    stale = []
    for page in pages():
        text = page.read_text()
        new = update(text, rendered)
        if new != text:
            stale.append(page.relative_to(REPO))
            if not args.check:
                page.write_text(new)
    missing = [c for c in COMMANDS if c not in rendered]
    if missing:
        print(f"no table for {', '.join(missing)} in docs/*.md: add <!-- options:<command> --> markers", file=sys.stderr)
    if args.check:
        for page in stale:
            print(f"{page}: option tables out of date; run python tools/option_tables.py", file=sys.stderr)
        return 1 if stale or missing else 0
    for page in stale:
        print(f"updated {page}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
