"""Known secret values never reach the screen: every line stackctl prints about an error, and
every container log line it relays, has them replaced by ****.

The values are those of the stack's variables whose names say they are secrets (the env files
and the process environment); the stack registers them when it opens.
"""

from __future__ import annotations

MASK = "****"
MIN_LENGTH = 4  # shorter values would mask ordinary words

_known: set[str] = set()


def register(values) -> None:
    _known.update(v for v in values if v and len(v) >= MIN_LENGTH)


def mask(text: str) -> str:
    for value in sorted(_known, key=len, reverse=True):  # the longest first: one may contain another
        text = text.replace(value, MASK)
    return text
