"""Known secret values never reach the screen: every line stackctl prints about an error, and
every container log line it relays, has them replaced by ****.

The values are those of the stack's variables that hold secrets (stackctl.env_values.is_secret), as
compose reads them (the stack registers where to read them when it opens; they are read on the
first mask). A value is masked where it stands whole: not inside a longer word or name (a
password `app` leaves `app.wsgi:application` alone), but wherever it stands between separators
(`password=...`, `user:...@host`, quotes, spaces). In structured data (the compose model) a
string is masked when it is a secret, wholly.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

MASK = "****"
MIN_LENGTH = 4  # shorter values would mask ordinary words
# What continues a word: a secret next to one of these is part of something longer.
WORD = "A-Za-z0-9_.\\-"

_known: set[str] = set()
_sources: list[Callable[[], Iterable[str]]] = []
_pattern: list = [None, 0]  # compiled alternation of the known values, and how many it holds


def register(values: Iterable[str]) -> None:
    _known.update(v for v in values if v and len(v) >= MIN_LENGTH)


def register_source(source: Callable[[], Iterable[str]]) -> None:
    """Values read only when something is about to be printed."""
    _sources.append(source)


def _load() -> None:
    while _sources:
        source = _sources.pop()
        try:
            register(source())
        except Exception:  # masking never hides the error it is printing
            pass


def _compiled():
    if _pattern[0] is None or _pattern[1] != len(_known):
        alternation = "|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True))  # the longest first
        _pattern[0] = re.compile(f"(?<![{WORD}])(?:{alternation})(?![{WORD}])") if _known else None
        _pattern[1] = len(_known)
    return _pattern[0]


def mask(text: str) -> str:
    _load()
    pattern = _compiled()
    return pattern.sub(MASK, text) if pattern is not None else text


def mask_data(data):
    """The same for a structure (the compose model): a string that is a secret is replaced
    whole; any other string is masked where a secret stands whole inside it."""
    _load()
    if isinstance(data, dict):
        return {key: mask_data(value) for key, value in data.items()}
    if isinstance(data, list):
        return [mask_data(value) for value in data]
    if isinstance(data, str):
        return MASK if data in _known else mask(data)
    return data
