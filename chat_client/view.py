"""How scrollback lines look: timestamps, nick colours, wrapping.

A :class:`Line` is one entry of a window's scrollback, already formatted as
prompt_toolkit ``(style, text)`` fragments.  :meth:`Line.rows` wraps it to a
width, indenting continuation rows and the later lines of a multi-line
message under the text, and caches the result.

Peer text is sanitised once, where a line is made: by the functions that
build lines, :func:`message_line`, :func:`whisper_line` and
:func:`system_line`, each of which passes every piece of network text it
puts in a line through :func:`chat_client.sanitize.sanitize` -- message text
as multi-line text, nicks and everything else as one line, so a newline in a
nick cannot start a row that looks like another message.  The
:class:`Line` constructor takes its fragments as they are: make every line
that holds network text with those functions, never with ``Line(...)``.

Styles are class names (``class:nick.3``, ``class:system``); ``ui.STYLE``
gives them colours.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence

from prompt_toolkit.utils import get_cwidth

from protocol import FileInfo, Message, WhisperMessage, fold, format_size

from .sanitize import sanitize

__all__ = [
    "NICK_COLOURS",
    "Fragments",
    "Line",
    "describe_file",
    "mentions",
    "message_line",
    "nick_colour",
    "nick_style",
    "system_line",
    "whisper_line",
]

Fragments = list[tuple[str, str]]
Clock = Callable[[], float]

#: Colours for nicks; a nick's colour is picked from these by a stable hash.
NICK_COLOURS: tuple[str, ...] = (
    "ansired",
    "ansigreen",
    "ansiyellow",
    "ansiblue",
    "ansimagenta",
    "ansicyan",
    "ansibrightred",
    "ansibrightgreen",
    "ansibrightyellow",
    "ansibrightblue",
    "ansibrightmagenta",
    "ansibrightcyan",
)


def nick_colour(nick: str) -> int:
    """The index into :data:`NICK_COLOURS` for ``nick``: the same in every
    process and for every spelling (case) of the nick."""
    return zlib.crc32(fold(nick).encode("utf-8", "replace")) % len(NICK_COLOURS)


def nick_style(nick: str) -> str:
    return f"class:nick.{nick_colour(nick)}"


def mentions(text: str, nick: str) -> bool:
    """Whether ``text`` names ``nick`` as a whole word, in any case."""
    if not nick:
        return False
    haystack, needle = fold(text), fold(nick)
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = haystack[start - 1] if start else " "
        after = haystack[end] if end < len(haystack) else " "
        if not _nick_char(before) and not _nick_char(after):
            return True
        start = haystack.find(needle, start + 1)
    return False


def _nick_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "_-")


def clock_text(ts: float) -> str:
    return time.strftime("%H:%M ", time.localtime(ts))


class Line:
    """One scrollback entry.  ``seq`` is the room message's sequence number.

    ``fragments`` are shown as given: text from the network must already have
    been sanitised (the line-building functions below do it).
    """

    __slots__ = ("_rows", "_width", "fragments", "indent", "mention", "seq")

    def __init__(
        self,
        fragments: Sequence[tuple[str, str]],
        *,
        indent: int = 6,
        seq: int | None = None,
        mention: bool = False,
    ) -> None:
        self.fragments: Fragments = list(fragments)
        self.indent = indent
        self.seq = seq
        self.mention = mention
        self._width = -1
        self._rows: list[Fragments] = []

    @property
    def text(self) -> str:
        """The plain text shown, for tests and logs."""
        return "".join(text for _, text in self.fragments)

    def rows(self, width: int) -> list[Fragments]:
        """The line wrapped to ``width`` columns, one fragment list per row."""
        if width != self._width:
            self._rows = _wrap(self.fragments, max(width, 1), self.indent)
            self._width = width
        return self._rows


def _wrap(fragments: Fragments, width: int, indent: int) -> list[Fragments]:
    """Break at the last space that fits (or anywhere, for a long word)."""
    indent = indent if indent < width // 2 else 0
    rows: list[list[tuple[str, str]]] = []
    row: list[tuple[str, str]] = []
    column = 0
    space = -1  # index in ``row`` just after the last space past the indent
    start = 0  # index in ``row`` where breaking is allowed (after a continuation indent)

    def new_row(carry: list[tuple[str, str]]) -> None:
        nonlocal row, column, space, start
        rows.append(row)
        row = [("", " ")] * indent + carry
        start = indent
        column = indent + sum(get_cwidth(char) for _, char in carry)
        space = -1

    for style, text in fragments:
        for char in text:
            if char == "\n":
                new_row([])
                continue
            cells = get_cwidth(char)
            if column + cells > width and column > indent:
                if space > start:
                    carry = row[space:]
                    del row[space:]
                    new_row(carry)
                else:
                    new_row([])
            row.append((style, char))
            column += cells
            if char == " " and column > indent and len(row) > start + 1:
                space = len(row)
    rows.append(row)
    return [_group(cells) for cells in rows]


def _group(cells: list[tuple[str, str]]) -> Fragments:
    grouped: Fragments = []
    for style, char in cells:
        if grouped and grouped[-1][0] == style:
            grouped[-1] = (style, grouped[-1][1] + char)
        else:
            grouped.append((style, char))
    return grouped


def describe_file(file: FileInfo) -> str:
    """``[file] NAME (SIZE) id=ID``, sanitised: how a shared file reads in a line."""
    return f"[file] {sanitize(file.name)} ({format_size(file.size)}) id={sanitize(file.id)}"


def message_line(message: Message, me: str) -> Line:
    """A room message as ``12:34 <alice> text`` or ``12:34  * alice waves``."""
    nick = sanitize(message.from_)
    mine = fold(message.from_) == fold(me)
    mention = not mine and mentions(message.text, me)
    text_style = "class:text.mention" if mention else "class:text"
    nick_class = nick_style(message.from_) + (" class:nick.self" if mine else "")
    when = clock_text(message.ts)
    if message.action:
        head = [("class:time", when), ("class:action", " * "), (nick_class, nick), ("", " ")]
    else:
        head = [("class:time", when), (nick_class, f"<{nick}>"), ("", " ")]
    indent = sum(get_cwidth(text) for _, text in head)
    if message.file is not None:
        body, text_style = describe_file(message.file), "class:file"
    else:
        body = sanitize(message.text, multiline=True)
    return Line([*head, (text_style, body)], indent=indent, seq=message.seq, mention=mention)


def whisper_line(message: WhisperMessage, me: str) -> Line:
    """A private message: ``*alice* text`` in, ``-> *bob* text`` out."""
    mine = fold(message.from_) == fold(me)
    when = clock_text(message.ts)
    if mine:
        head = [
            ("class:time", when),
            ("class:whisper", "-> "),
            (nick_style(message.to), f"*{sanitize(message.to)}*"),
            ("", " "),
        ]
    else:
        head = [
            ("class:time", when),
            (nick_style(message.from_), f"*{sanitize(message.from_)}*"),
            ("", " "),
        ]
    indent = sum(get_cwidth(text) for _, text in head)
    style = "class:text" if mine else "class:text.mention"
    if message.file is not None:
        body = describe_file(message.file)
    else:
        body = sanitize(message.text, multiline=True)
    return Line([*head, (style, body)], indent=indent, mention=not mine)


def system_line(text: str, *, style: str = "class:system", now: Clock = time.time) -> Line:
    """A dim ``12:34 -!- text`` line; ``text`` may hold network text (it is sanitised)."""
    head = [("class:time", clock_text(now())), ("class:system.mark", "-!- ")]
    return Line([*head, (style, sanitize(text))], indent=10)
