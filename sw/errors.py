"""One error convention for every command line and generator.

Bad input raises :class:`InputError` (a :class:`ValueError`) whose message
starts with the offending field, then a colon: ``"reuse: must be >= 1, got 0"``.
The project's other input errors (``ModelFileError``, ``PlanError``,
``ParameterError``, ``DataError``, ``UnknownConfig``, ...) are subclasses, so
one ``except InputError`` catches them all.

A command line builds its parser with :class:`ArgumentParser` and runs its body
through :func:`run_cli`: bad arguments, :class:`InputError` and files that
cannot be read all end as one line on stderr, ``error: <field>: <reason>``,
and exit code 2, before anything is written. Exit code 1 stays reserved for
"ran, and the result is a failure" (an RTL mismatch, a failed check).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Callable, NoReturn

__all__ = ["InputError", "ArgumentParser", "run_cli", "fail", "EXIT_BAD_INPUT"]

#: Exit code of every command line for bad input.
EXIT_BAD_INPUT = 2


class InputError(ValueError):
    """Bad input to a command line or generator; the message starts with the field."""


def fail(message: str) -> int:
    """Print ``error: message`` as one line on stderr; returns :data:`EXIT_BAD_INPUT`."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    return EXIT_BAD_INPUT


_ARGUMENT = re.compile(r"^argument (?P<names>[^:]+): (?P<reason>.*)$", re.DOTALL)
_REQUIRED = re.compile(r"^the following arguments are required: (?P<names>.*)$")


def _argparse_message(message: str) -> str:
    """argparse's error as ``field: reason`` (``argument --reuse: invalid int value``
    -> ``reuse: invalid int value``)."""
    if m := _ARGUMENT.match(message):
        field = m["names"].split("/")[0].lstrip("-")
        return f"{field}: {m['reason']}"
    if m := _REQUIRED.match(message):
        names = [n.strip().split("/")[0].lstrip("-") for n in m["names"].split(",")]
        return f"{names[0]}: required" + (f" (also missing: {', '.join(names[1:])})"
                                          if len(names) > 1 else "")
    return message


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's error form: one line, ``error: field: reason``, exit 2."""

    def error(self, message: str) -> NoReturn:
        fail(_argparse_message(message))
        sys.exit(EXIT_BAD_INPUT)


def run_cli(body: Callable[[], int]) -> int:
    """Run a command line's ``body``; :class:`InputError` and unreadable files become
    one line on stderr and exit code 2 (no traceback)."""
    try:
        return body()
    except InputError as exc:
        return fail(str(exc))
    except OSError as exc:
        name = exc.filename if exc.filename is not None else "file"
        return fail(f"{name}: {exc.strerror or exc}")
