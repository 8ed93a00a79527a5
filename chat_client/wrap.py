"""Wrapping one scrollback line to the width of the screen.

:func:`wrap` breaks styled fragments into rows the way irssi does: at the
last space that fits, with continuation rows (and the later lines of a
multi-line message) indented under the text.  Three things it never does:

* split a grapheme cluster: an emoji ZWJ sequence (``👩‍💻``), a flag, a
  letter and its combining accents stay in one piece;
* break an address with the continuation indent: one that fits on an
  indented row moves there whole, and one too long for that starts its own
  row, unindented, and runs on unindented, so that selecting it with the
  mouse copies it whole;
* leave a long word unbroken: a word wider than the row is cut where the row
  ends.

Widths are counted as prompt_toolkit's renderer counts them (the sum of the
characters' cell widths), so the rows drawn are the rows computed here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from prompt_toolkit.utils import get_cwidth
from wcwidth import iter_graphemes

from .urls import is_url

__all__ = ["Fragments", "graphemes", "wrap"]

Fragments = list[tuple[str, str]]

_TOKENS = re.compile(r"\n|[^\S\n]+|\S+")


def _cells(text: str) -> int:
    return len(text) if text.isascii() else get_cwidth(text)


def graphemes(text: str) -> Iterable[str]:
    """The user-perceived characters of ``text`` (one per code point for ASCII)."""
    return text if text.isascii() else iter_graphemes(text)


def wrap(fragments: Sequence[tuple[str, str]], width: int, indent: int) -> list[Fragments]:
    """``fragments`` as rows of at most ``width`` cells; later rows start with ``indent`` spaces.

    The indent is dropped when it would take half the row or more.
    """
    return _Wrapper(max(width, 1), indent).run(fragments)


class _Wrapper:
    def __init__(self, width: int, indent: int) -> None:
        self.width = width
        self.indent = indent if indent < width // 2 else 0
        self.rows: list[Fragments] = []
        self.row: Fragments = []
        self.column = 0
        self.start = 0  # where the current row's own content starts (after its indent)

    def run(self, fragments: Sequence[tuple[str, str]]) -> list[Fragments]:
        for style, text in fragments:
            for token in _TOKENS.findall(text):
                self._token(style, token)
        self.rows.append(self.row)
        return [_group(row) for row in self.rows]

    def _token(self, style: str, token: str) -> None:
        if token == "\n":
            self._new_row(self.indent)
            return
        cells = _cells(token)
        if token[0].isspace():  # white space is kept where it fits, dropped at a break
            if self.column + cells <= self.width:
                self._put(style, token, cells)
            return
        if self.column + cells <= self.width:
            self._put(style, token, cells)
        elif cells <= self.width - self.indent and self.column > self.start:
            self._new_row(self.indent)
            self._put(style, token, cells)
        elif is_url(token):
            if self.column > self.start:
                self._new_row(0)
            else:  # an empty row: drop its indent
                self.row, self.column, self.start = [], 0, 0
            self._cut(style, token, pad=0)
        else:
            self._cut(style, token, pad=self.indent)

    def _cut(self, style: str, word: str, *, pad: int) -> None:
        """Put ``word`` on as many rows as it needs, continuation rows indented by ``pad``."""
        for cluster in graphemes(word):
            cells = _cells(cluster)
            if self.column + cells > self.width and self.column > self.start:
                self._new_row(pad)
            self._put(style, cluster, cells)

    def _put(self, style: str, text: str, cells: int) -> None:
        self.row.append((style, text))
        self.column += cells

    def _new_row(self, pad: int) -> None:
        self.rows.append(self.row)
        self.row = [("", " " * pad)] if pad else []
        self.column = self.start = pad


def _group(pieces: Fragments) -> Fragments:
    grouped: Fragments = []
    for style, text in pieces:
        if grouped and grouped[-1][0] == style:
            grouped[-1] = (style, grouped[-1][1] + text)
        else:
            grouped.append((style, text))
    return grouped
