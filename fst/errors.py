"""User-facing errors: one clear line, no stack trace."""

from __future__ import annotations

import functools
import sys

from omegaconf.errors import MissingMandatoryValue


class FstError(Exception):
    """A mistake in the user's input (a file, an option). The message names it and the fix."""


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
