"""Reading the cost tools' input files with the project's error convention: a missing,
unreadable or malformed file raises :class:`sw.errors.InputError` whose message starts
with the field (the command-line argument) that named it."""

from __future__ import annotations

import json
import os

from sw.errors import InputError

__all__ = ["read_json", "load_model_file"]


def read_json(path: str | os.PathLike, field: str):
    """The JSON value in ``path``; InputError ``"<field>: cannot read|parse <path>: ..."``."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise InputError(f"{field}: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(data)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise InputError(f"{field}: cannot parse {path}: {exc}") from exc


def load_model_file(path: str | os.PathLike, field: str):
    """:func:`sw.model_file.load_model`, with its errors as InputError naming ``field``."""
    from sw.model_file import ModelFileError, load_model
    try:
        return load_model(path)
    except OSError as exc:
        raise InputError(f"{field}: cannot read {path}: {exc.strerror or exc}") from exc
    except ModelFileError as exc:  # "model: ..." for the file, else "<field in it>: ..."
        message = str(exc)
        raise InputError(f"{field}: {message.removeprefix('model: ')}") from exc
