"""Cutting a text longer than the server's ``max_text`` into messages that fit.

IRC clients split a long line into several messages rather than refuse it;
:func:`split_text` does the same at word boundaries: at the last line break
in the second half of the allowance, else at the last white space, else
(one long word) at the last grapheme boundary that fits.  The white space a
cut falls on is dropped; nothing else is.  Lengths are code points, as the
server counts them.
"""

from __future__ import annotations

from .wrap import graphemes

__all__ = ["split_text"]


def split_text(text: str, limit: int) -> list[str]:
    """``text`` as parts of at most ``limit`` code points (``limit`` >= 1), in order."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _cut(rest, limit)
        part, rest = rest[:cut], rest[cut:]
        if rest[:1].isspace():
            rest = rest[1:]
        if part.strip():
            parts.append(part)
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


def _cut(text: str, limit: int) -> int:
    """Where the first part of ``text`` ends."""
    allowed = text[: limit + 1]  # a space right after the limit is a fine place to cut
    newline = allowed.rfind("\n")
    if newline > limit // 2:
        return newline
    space = max((i for i, char in enumerate(allowed) if char.isspace()), default=-1)
    if space > 0:
        return space
    end = 0
    for cluster in graphemes(text[: limit + 32]):
        if end + len(cluster) > limit:
            break
        end += len(cluster)
    return end or limit
