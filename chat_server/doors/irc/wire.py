"""Sans-I/O IRC lines: bytes in, :class:`IrcMessage` out, and back.

Feed whatever the transport delivered to a :class:`LineDecoder` and pull
messages out with :meth:`LineDecoder.next_message` until it returns ``None``;
build what goes out as :class:`IrcMessage` and send :meth:`IrcMessage.serialize`.
Nothing here touches a socket or an event loop.

Where the specifications leave a choice, this module decides:

- **Line ends.** CR and LF are both message separators and empty lines are
  ignored, as RFC 1459 §2.3.1 puts it, so ``\\r\\n``, ``\\n`` and a bare
  ``\\r`` all end a line.  (ergo splits on LF and refuses a line that holds
  any other CR; a bare CR is no attack here, since only the sender's own line
  is split.)
- **Limits**, from IRCv3 message-tags "Size limit": a client's tag data is at
  most 4094 bytes (4096 with the ``@`` and the space), the rest of the line at
  most 512 bytes with its CRLF, so 510 without it however the line ended.
  Beyond either, :class:`LineTooLong` (answer 417) and the rest of that line
  is discarded, so one line never holds more than about 4.6 KB of memory.
- **Encoding.** Strict UTF-8, since the server announces ``UTF8ONLY``;
  anything else is :class:`InvalidUtf8`, which names the command if it can.
- **NUL** is removed wherever it appears, coming in and going out, as the
  native protocol does with text.  (RFC 1459 does not allow NUL in a message;
  ergo refuses such a line, InspIRCd turns NUL into a space.)
- **Going out**, CR and LF inside a parameter become spaces: a native user's
  text can never end a line early.  The part after the tags never exceeds 512
  bytes: a longer last parameter is cut at a code point boundary.  To send a
  long text whole, split it first with :mod:`.text`.
- **Tags.** A key the grammar does not allow is skipped, not refused, as ergo
  does; of repeated keys the last one wins (message-tags: clients "SHOULD
  discard all but the final occurrence"); an empty value is the same as no
  value, ``""``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import InvalidUtf8, LineTooLong, LocalIrcError, MalformedLine

#: Bytes of a line after its tags, CRLF included (RFC 1459 §2.3).
MAX_LINE = 512
#: The same without the CRLF: what a received line may hold after its tags.
MAX_BODY = MAX_LINE - 2
#: Tag data a client may send, without the ``@`` and the space.
MAX_CLIENT_TAG_DATA = 4094
#: Tag data a server may add, and separately client-only tags it relays.
MAX_SERVER_TAG_DATA = 4094
#: A client's whole tag section, ``@`` and space included.
MAX_CLIENT_TAGS = MAX_CLIENT_TAG_DATA + 2

_COMMAND = re.compile(r"[A-Za-z]+|[0-9]{3}")
_TAG_KEY = re.compile(r"\+?(?:[A-Za-z0-9.-]+/)?[A-Za-z0-9-]+")
_LINE_END = re.compile(rb"\r\n?|\n")  # CRLF at once: one search a line
_TAG_ESCAPE = re.compile(r"\\(.?)", re.DOTALL)

_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPES = str.maketrans(
    {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n", "\0": None}
)
_PARAM_CLEAN = str.maketrans({"\r": " ", "\n": " ", "\0": None})


def escape_tag_value(value: str) -> str:
    """A tag value as it goes on the wire (IRCv3 message-tags, "Escaping values")."""
    return value.translate(_ESCAPES)


def unescape_tag_value(value: str) -> str:
    """A tag value as received, unescaped; a lone trailing backslash is dropped,
    and a backslash before any other character just drops the backslash."""
    if "\\" not in value:
        return value
    return _TAG_ESCAPE.sub(lambda m: _UNESCAPES.get(m[1], m[1]), value)


def is_valid_command(word: str) -> bool:
    """Letters, or exactly three digits (a numeric)."""
    return _COMMAND.fullmatch(word) is not None


def is_valid_tag_key(key: str) -> bool:
    """``[+][vendor/]name`` with a name of letters, digits and hyphens."""
    return _TAG_KEY.fullmatch(key) is not None


def is_middle_param(param: str) -> bool:
    """Whether ``param`` can be sent anywhere but last: non-empty, no space,
    not starting with ``:``."""
    return bool(param) and " " not in param and not param.startswith(":")


def _clean_param(param: str) -> str:
    if "\r" in param or "\n" in param:
        param = param.replace("\r\n", " ")
    elif "\0" not in param:
        return param  # the common case, without a copy
    return param.translate(_PARAM_CLEAN)


@dataclass(frozen=True, slots=True)
class IrcMessage:
    """One IRC message: ``[@tags] [:source] COMMAND params...``.

    The constructor validates, so an unsendable message cannot exist: the
    command must be letters or three digits (it is upper-cased), every
    parameter but the last must be non-empty, without spaces and not start
    with ``:``, tag keys must follow the grammar, and ``source`` must be a
    non-empty word.  Any breach raises :class:`LocalIrcError`.  CR and LF in a
    parameter become spaces and NUL is dropped (also from tag values and from
    ``source``).  Treat ``params`` and ``tags`` as read-only.
    """

    command: str
    params: list[str] = field(default_factory=list)
    source: str | None = field(default=None, kw_only=True)
    tags: dict[str, str] = field(default_factory=dict, kw_only=True)
    #: Send the last parameter with its ``:`` even when it is one word, as a
    #: text (a message, a reason, a numeric's sentence) usually goes: some
    #: clients and bots look for the text after `` :``.  Not compared.
    trailing: bool = field(default=False, kw_only=True, compare=False)

    def __post_init__(self) -> None:
        command = self.command
        if not _COMMAND.fullmatch(command):
            raise LocalIrcError(f"invalid command {command!r}")
        if not command.isupper() and not command.isdigit():
            object.__setattr__(self, "command", command.upper())
        params = [_clean_param(p) for p in self.params]
        for param in params[:-1]:
            if not param or " " in param or param[0] == ":":
                raise LocalIrcError(
                    f"{self.command}: parameter {param!r} is empty, holds a space"
                    " or starts with ':', so it can only be the last"
                )
        object.__setattr__(self, "params", params)
        if self.source is not None:
            source = self.source.replace("\0", "")
            if not source or any(c in source for c in " \r\n"):
                raise LocalIrcError(f"invalid source {self.source!r}")
            object.__setattr__(self, "source", source)
        if not self.tags:
            return
        for key in self.tags:
            if not is_valid_tag_key(key):
                raise LocalIrcError(f"invalid tag key {key!r}")
        if any("\0" in value for value in self.tags.values()):
            cleaned = {k: v.replace("\0", "") for k, v in self.tags.items()}
            object.__setattr__(self, "tags", cleaned)

    @classmethod
    def parse(cls, line: str) -> IrcMessage:
        """Parse one line, without its line end.

        Raises :class:`MalformedLine` for a line with no command, a command
        that is neither letters nor three digits, or a CR or LF inside.
        Parameters are separated by one or more spaces; a parameter starting
        with ``:`` is the last one and may hold spaces.
        """
        if "\r" in line or "\n" in line:
            raise MalformedLine("a line holds CR or LF")
        rest = line.replace("\0", "")
        tags: dict[str, str] = {}
        if rest.startswith("@"):
            tag_text, space, rest = rest[1:].partition(" ")
            if not space:
                raise MalformedLine("a line with tags and no command")
            tags = _parse_tags(tag_text)
        rest = rest.lstrip(" ")
        source: str | None = None
        if rest.startswith(":"):
            source, space, rest = rest[1:].partition(" ")
            if not space:
                raise MalformedLine("a line with a source and no command")
            source = source or None
            rest = rest.lstrip(" ")
        command, _, rest = rest.partition(" ")
        if not command:
            raise MalformedLine("a line with no command")
        if not is_valid_command(command):
            raise MalformedLine("a command is letters or three digits", command=command)
        params: list[str] = []
        while rest := rest.lstrip(" "):
            if rest.startswith(":"):
                params.append(rest[1:])
                break
            param, _, rest = rest.partition(" ")
            params.append(param)
        return cls._parsed(command.upper(), params, source, tags)

    @classmethod
    def _parsed(
        cls, command: str, params: list[str], source: str | None, tags: dict[str, str]
    ) -> IrcMessage:
        """A message from :meth:`parse`, built without the constructor's checks:
        what ``parse`` takes apart already meets them (a valid upper-case
        command, middle parameters without spaces or a leading ``:``, no CR,
        LF or NUL, valid tag keys), and every line received pays for them."""
        message = object.__new__(cls)
        setattr_ = object.__setattr__
        setattr_(message, "command", command)
        setattr_(message, "params", params)
        setattr_(message, "source", source)
        setattr_(message, "tags", tags)
        setattr_(message, "trailing", False)
        return message

    def body_size(self) -> int:
        """Bytes of the line after its tags, CRLF included, before any cut:
        :meth:`serialize` cuts the last parameter if this exceeds ``MAX_LINE``."""
        return len(self._body().encode("utf-8", "replace")) + 2

    def serialize(self) -> bytes:
        """The whole line, CRLF included, ready to write.

        Server tags come before client-only (``+``) tags, as message-tags
        requires.  Raises :class:`LocalIrcError` if either group of tags
        exceeds 4094 bytes, or if the part before the last parameter alone
        does not fit in 512 bytes.  A lone surrogate, which UTF-8 cannot
        carry, goes out as ``?``.
        """
        body = self._body().encode("utf-8", "replace")
        if len(body) > MAX_BODY:
            body = self._cut_body()
        return self._tag_section() + body + b"\r\n"

    def _body(self) -> str:
        parts = [f":{self.source}"] if self.source else []
        parts.append(self.command)
        if self.params:
            parts.extend(self.params[:-1])
            last = self.params[-1]
            parts.append(last if is_middle_param(last) and not self.trailing else f":{last}")
        return " ".join(parts)

    def _cut_body(self) -> bytes:
        if not self.params:
            raise LocalIrcError(f"{self.command} does not fit in {MAX_LINE} bytes")
        parts = [f":{self.source}"] if self.source else []
        parts.append(self.command)
        parts.extend(self.params[:-1])
        head = (" ".join(parts) + " :").encode("utf-8", "replace")
        budget = MAX_BODY - len(head)
        if budget < 0:
            raise LocalIrcError(
                f"{self.command}: {len(head)} bytes before the last parameter"
                f" leave no room in {MAX_LINE} bytes"
            )
        return head + cut_utf8(self.params[-1].encode("utf-8", "replace"), budget)

    def _tag_section(self) -> bytes:
        if not self.tags:
            return b""
        server = [_render_tag(k, v) for k, v in self.tags.items() if not k.startswith("+")]
        client = [_render_tag(k, v) for k, v in self.tags.items() if k.startswith("+")]
        for group, name in ((server, "server"), (client, "client-only")):
            size = len(";".join(group).encode("utf-8", "replace"))
            if size > MAX_SERVER_TAG_DATA:
                raise LocalIrcError(
                    f"{size} bytes of {name} tag data exceed the limit of"
                    f" {MAX_SERVER_TAG_DATA} bytes"
                )
        return ("@" + ";".join(server + client) + " ").encode("utf-8", "replace")


def cut_utf8(data: bytes, limit: int) -> bytes:
    """The longest prefix of UTF-8 ``data`` within ``limit`` bytes that ends on
    a code point boundary."""
    if len(data) <= limit:
        return data
    cut = limit
    while cut > 0 and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return data[:cut]


def _render_tag(key: str, value: str) -> str:
    return f"{key}={escape_tag_value(value)}" if value else key


def _parse_tags(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in text.split(";"):
        key, _, value = item.partition("=")
        if is_valid_tag_key(key):
            tags[key] = unescape_tag_value(value)
    return tags


class LineDecoder:
    """Splits a byte stream into :class:`IrcMessage` objects.

    Call :meth:`feed` with each chunk received, then :meth:`next_message` until
    it returns ``None``.  A line that breaks the protocol raises a
    :class:`~.errors.RemoteIrcError` subclass *after* the decoder has moved
    past it: answer it and call :meth:`next_message` again.  The stream itself
    is never lost.  A line found too long before its end arrives raises
    :class:`LineTooLong` at once; the rest of it is then dropped as it comes.
    """

    __slots__ = ("_buffer", "_discarding", "max_body", "max_tags")

    def __init__(self, *, max_tags: int = MAX_CLIENT_TAGS, max_body: int = MAX_BODY) -> None:
        self.max_tags = max_tags
        self.max_body = max_body
        self._buffer = bytearray()
        self._discarding = False

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned or discarded."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_message(self) -> IrcMessage | None:
        """The next message, or ``None`` if more bytes are needed.

        Raises :class:`LineTooLong`, :class:`InvalidUtf8` or
        :class:`MalformedLine` for one bad line; empty lines are skipped.
        """
        buffer = self._buffer
        while True:
            end = _LINE_END.search(buffer)
            if self._discarding:
                if end is None:
                    buffer.clear()
                    return None
                del buffer[: end.end()]
                self._discarding = False
                continue
            if end is None:
                self._check_size(buffer, complete=False)
                return None
            line = bytes(buffer[: end.start()])
            del buffer[: end.end()]
            self._check_size(line, complete=True)
            if line.strip(b" \0"):
                return _decode(line.replace(b"\0", b""))

    def __iter__(self) -> Iterator[IrcMessage]:
        """Every complete message buffered; a bad line ends the iteration by
        raising, after which iterating again goes on from the next line."""
        while (message := self.next_message()) is not None:
            yield message

    def _check_size(self, line: bytes | bytearray, *, complete: bool) -> None:
        tags = 0
        body = len(line)
        if line.startswith(b"@"):
            space = line.find(b" ")
            if space == -1:  # the space is still to come, if anything
                tags, body = len(line) + 1, 0
            else:
                tags, body = space + 1, len(line) - space - 1
        if tags > self.max_tags:
            problem = f"{tags - 2} bytes of tag data exceed the limit of {self.max_tags - 2}"
        elif body > self.max_body:
            problem = f"{body} bytes after the tags exceed the limit of {self.max_body}"
        else:
            return
        if not complete:
            self._buffer.clear()
            self._discarding = True
            problem = "at least " + problem
        raise LineTooLong(f"line too long: {problem}")


def _decode(line: bytes) -> IrcMessage:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidUtf8("the line is not valid UTF-8", command=_command_of(line)) from None
    return IrcMessage.parse(text)


def _command_of(line: bytes) -> str | None:
    try:
        return IrcMessage.parse(line.decode("utf-8", "replace")).command
    except MalformedLine:
        return None
