"""Text from outside: what a name, a reference or a comment may hold, and identifiers in ASCII.

Python reads other scripts' digits as digits ('１２３'.isdigit(), int('١٢٣'), Decimal('²') fails
late), so identifiers and amounts are refused unless they are ASCII before anything parses them:
a fullwidth resident id must not register the same person twice. Free text refuses control
characters other than tab and line breaks (a BEL in a name breaks every Excel pack that shows it)
and lone surrogates (which no store or file can encode).
"""

from __future__ import annotations

import unicodedata

from autofin.domain.errors import InputError

ALLOWED_CONTROLS = frozenset("\t\n\r")


def checked_text(value: str, field: str) -> str:
    """`value` if it holds no control character (but tab and line breaks) and no lone surrogate."""
    for position, char in enumerate(value):
        if char in ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            raise InputError(field, f"control character U+{ord(char):04X} at position {position} is not allowed")
        if category == "Cs":
            raise InputError(field, f"lone surrogate U+{ord(char):04X} at position {position} is not text")
    return value


def ascii_only(value: str, field: str, what: str) -> str:
    """`value` if it is ASCII: identifiers and amounts are written with 0-9 and A-Z, never other scripts' digits."""
    if not value.isascii():
        raise InputError(field, f"{what} is written in ASCII digits and letters (0-9, A-Z); {value[:40]!r} is not")
    return value
