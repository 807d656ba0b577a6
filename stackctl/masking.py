"""Known secret values never reach the screen: every line stackctl prints about an error, and
every container log line it relays, has them replaced by ****.

The values are those of the stack's variables whose names say they are secrets, as compose reads
them (the stack registers where to read them when it opens; they are read on the first mask).
"""

from __future__ import annotations

from typing import Callable, Iterable

MASK = "****"
MIN_LENGTH = 4  # shorter values would mask ordinary words

_known: set[str] = set()
_sources: list[Callable[[], Iterable[str]]] = []


def register(values: Iterable[str]) -> None:
    _known.update(v for v in values if v and len(v) >= MIN_LENGTH)


def register_source(source: Callable[[], Iterable[str]]) -> None:
    """Values read only when something is about to be printed."""
    _sources.append(source)


def mask(text: str) -> str:
    while _sources:
        source = _sources.pop()
        try:
            register(source())
        except Exception:  # masking never hides the error it is printing
            pass
    for value in sorted(_known, key=len, reverse=True):  # the longest first: one may contain another
        text = text.replace(value, MASK)
    return text


def mask_data(data):
    """The same for a structure (the compose model): every string in it masked."""
    if isinstance(data, dict):
        return {key: mask_data(value) for key, value in data.items()}
    if isinstance(data, list):
        return [mask_data(value) for value in data]
    return mask(data) if isinstance(data, str) else data
