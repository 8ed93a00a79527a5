"""How scrollback lines look: timestamps, nick colours, wrapping.

A :class:`Line` is one entry of a window's scrollback, already formatted as
prompt_toolkit ``(style, text)`` fragments.  :meth:`Line.rows` wraps it to a
width (:func:`chat_client.wrap.wrap`: continuation rows indented under the
text, addresses and grapheme clusters never split) and caches the result.

Peer text is sanitised once, where a line is made: by the functions that
build lines, :func:`message_line`, :func:`whisper_line` and
:func:`system_line`, each of which passes every piece of network text it
puts in a line through :func:`chat_client.sanitize.sanitize` -- message text
as multi-line text, nicks and everything else as one line, so a newline in a
nick cannot start a row that looks like another message.  The
:class:`Line` constructor takes its fragments as they are: make every line
that holds network text with those functions, never with ``Line(...)``.

A timestamp is ``12:34`` for today and ``28 Nov 12:34`` for an older day.
Styles are class names (``class:nick.3``, ``class:system``); ``ui.STYLE``
gives them colours.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from typing import Protocol

from prompt_toolkit.utils import get_cwidth

from protocol import Message, WhisperMessage, fold

from .sanitize import sanitize
from .wrap import Fragments, wrap

__all__ = [
    "MENTION_COLOUR",
    "NICK_COLOURS",
    "Fragments",
    "Line",
    "day_line",
    "local_day",
    "mentions",
    "message_key",
    "message_line",
    "nick_colour",
    "nick_style",
    "rule_line",
    "set_by",
    "system_line",
    "whisper_line",
]

Clock = Callable[[], float]


class _Topical(Protocol):
    topic_by: str | None
    topic_ts: float | None


#: The colour of a line that names you.  Your own nick is bold in the terminal's own
#: colour.  No peer's nick gets either.
MENTION_COLOUR = "ansibrightyellow"

#: Colours for other people's nicks (xterm's 256-colour cube, readable on dark and light
#: backgrounds, no yellow or grey that could pass for a mention or for you); a nick's colour
#: is picked by a stable hash.  A prime count spreads the hashes of similar nicks.
NICK_COLOURS: tuple[str, ...] = (
    "#d75f5f", "#d7875f", "#87af5f", "#5faf87", "#5fafaf", "#5f87d7", "#8787d7",
    "#af5fd7", "#d75faf", "#af875f", "#5fd75f", "#00afaf", "#0087ff", "#ff5f87",
    "#af87ff", "#5fd7d7", "#ff875f", "#87d787", "#87afd7", "#d787d7", "#5f87af",
    "#af5f5f", "#5faf5f",
)  # fmt: skip


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


def _local(ts: float) -> time.struct_time | None:
    try:
        return time.localtime(ts)
    except (OverflowError, OSError, ValueError):  # a hostile server's ts
        return None


def local_day(ts: float) -> tuple[int, int, int] | None:
    """The local (year, month, day) of ``ts``, or ``None`` if it is no real time."""
    when = _local(ts)
    return None if when is None else (when.tm_year, when.tm_mon, when.tm_mday)


def clock_text(ts: float, now: float) -> str:
    """``12:34 `` for a time of today (``now``'s day), ``28 Nov 12:34 `` for another day."""
    when = _local(ts)
    if when is None:
        return "--:-- "
    if local_day(ts) == local_day(now):
        return time.strftime("%H:%M ", when)
    return f"{when.tm_mday} {time.strftime('%b %H:%M ', when)}"


class Line:
    """One scrollback entry.

    ``fragments`` are shown as given: text from the network must already have
    been sanitised (the line-building functions below do it).  ``ts`` is when
    it happened; ``seq`` is the room message's sequence number; ``log`` says
    whether it belongs in the chat log (replayed history and the output of
    local commands do not); ``key`` tells a message's copies apart from other
    messages across a server restart.
    """

    __slots__ = (
        "_rows",
        "_width",
        "fragments",
        "indent",
        "key",
        "log",
        "mention",
        "seq",
        "ts",
    )

    def __init__(
        self,
        fragments: Sequence[tuple[str, str]],
        *,
        indent: int = 6,
        seq: int | None = None,
        mention: bool = False,
        ts: float = 0.0,
        log: bool = True,
        key: int | None = None,
    ) -> None:
        self.fragments: Fragments = list(fragments)
        self.indent = indent
        self.seq = seq
        self.mention = mention
        self.ts = ts
        self.log = log
        self.key = key
        self._width = -1
        self._rows: list[Fragments] = []

    @property
    def text(self) -> str:
        """The plain text shown, for tests and logs."""
        return "".join(text for _, text in self.fragments)

    def plain(self) -> list[str]:
        """The line as plain text without its timestamp, one string per text line.

        Every line of a multi-line message gets the head (``<bob> ``), so each
        reads on its own (the chat log writes them so).
        """
        parts = [text for style, text in self.fragments if style != "class:time"]
        if not parts:
            return [""]
        head = "".join(parts[:-1])
        return [head + piece for piece in parts[-1].split("\n")]

    def rows(self, width: int) -> list[Fragments]:
        """The line wrapped to ``width`` columns, one fragment list per row."""
        if width != self._width:
            self._rows = wrap(self.fragments, max(width, 1), self.indent)
            self._width = width
        return self._rows


def message_key(message: Message) -> int:
    """What tells a message's copies apart from other messages when seqs cannot."""
    return hash((fold(message.from_), message.ts, message.text))


def message_line(message: Message, me: str, *, now: Clock = time.time, log: bool = True) -> Line:
    """A room message as ``12:34 <alice> text`` or ``12:34  * alice waves``."""
    nick = sanitize(message.from_)
    mine = fold(message.from_) == fold(me)
    mention = not mine and mentions(message.text, me)
    text_style = "class:text.mention" if mention else "class:text"
    nick_class = "class:nick.self" if mine else nick_style(message.from_)
    when = clock_text(message.ts, now())
    if message.action:
        head = [("class:time", when), ("class:action", " * "), (nick_class, nick), ("", " ")]
    else:
        head = [("class:time", when), (nick_class, f"<{nick}>"), ("", " ")]
    indent = sum(get_cwidth(text) for _, text in head)
    body = sanitize(message.text, multiline=True)
    return Line(
        [*head, (text_style, body)],
        indent=indent,
        seq=message.seq,
        mention=mention,
        ts=message.ts,
        log=log,
        key=message_key(message),
    )


def whisper_line(message: WhisperMessage, me: str, *, now: Clock = time.time) -> Line:
    """A private message: ``*alice* text`` in, ``-> *bob* text`` out."""
    mine = fold(message.from_) == fold(me)
    when = clock_text(message.ts, now())
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
    body = sanitize(message.text, multiline=True)
    return Line([*head, (style, body)], indent=indent, mention=not mine, ts=message.ts)


def system_line(
    text: str, *, style: str = "class:system", now: Clock = time.time, log: bool = True
) -> Line:
    """A dim ``12:34 -!- text`` line; ``text`` may hold network text (it is sanitised)."""
    ts = now()
    head = [("class:time", clock_text(ts, ts)), ("class:system.mark", "-!- ")]
    return Line([*head, (style, sanitize(text))], indent=10, ts=ts, log=log)


def set_by(window: _Topical, now: float) -> str:
    """`` (set by bob, 28 Nov 12:34)`` for ``window``'s topic, or ``""`` if the server
    did not say; sanitised."""
    if window.topic_by is None:
        return ""
    when = "" if window.topic_ts is None else ", " + clock_text(window.topic_ts, now).strip()
    return f" (set by {sanitize(window.topic_by)}{when})"


def rule_line(text: str, *, ts: float, log: bool = True) -> Line:
    """A dim ``-- text --`` line with no timestamp, for marks in the scrollback."""
    return Line([("class:rule", sanitize(text))], indent=0, ts=ts, log=log)


def day_line(ts: float) -> Line:
    """``--- Day changed to Sunday 29 Nov 2026``, for the day of ``ts``."""
    when = _local(ts)
    day = "?" if when is None else f"{time.strftime('%A', when)} {when.tm_mday}"
    rest = "" if when is None else time.strftime(" %b %Y", when)
    return rule_line(f"--- Day changed to {day}{rest}", ts=ts)
