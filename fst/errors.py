"""User-facing errors: one clear line, no stack trace."""

from __future__ import annotations

import functools
import re
import sys

from omegaconf.errors import MissingMandatoryValue


class FstError(Exception):
    """A mistake in the user's input (a file, an option). The message names it and the fix."""


def one_line_reason(exc: BaseException) -> str:
    """The most telling single line of a library's error message (torch's unpickler errors run to 10 lines)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    refused = [line for line in lines if line.startswith("WeightsUnpickler error:")]
    if refused:
        return f"it contains pickled code, which is never run ({refused[0]})"
    return lines[0] if lines else type(exc).__name__


def exit_on_user_error(func):
    """Turn a user mistake raised by a command-line entry point into one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except FstError as exc:
            message = str(exc)
        except MissingMandatoryValue as exc:
            message = f"missing required option {exc.full_key}; pass {exc.full_key}=... on the command line"
        print(f"fst: error: {message}", file=sys.stderr)
        sys.exit(2)

    return wrapper
