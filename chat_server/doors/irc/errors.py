"""The one exception tree of the IRC gateway's codec.

::

    IrcError                      anything this package raises on purpose
    ├── RemoteIrcError            the peer sent a line that breaks the protocol;
    │   │                         that line is lost, the connection is not
    │   ├── LineTooLong           more than 4094 bytes of tags or 510 of the rest
    │   │                         (answer 417 ERR_INPUTTOOLONG)
    │   ├── InvalidUtf8           the line is not UTF-8; the server is UTF8ONLY
    │   │                         (answer FAIL <command or *> INVALID_UTF8)
    │   └── MalformedLine         no command, or a command that is neither letters
    │                             nor three digits (answer 421 if ``command`` is
    │                             set, else ignore the line)
    └── LocalIrcError             this side tried to build a message that cannot
                                  be sent: a bug in the caller, never the peer's

Any other exception raised from this package is a bug.
"""

from __future__ import annotations


class IrcError(Exception):
    """Root of every error the IRC codec raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RemoteIrcError(IrcError):
    """The peer broke the protocol in one line.

    The decoder has already moved past that line: answer as the subclass says,
    then keep reading.
    """


class LineTooLong(RemoteIrcError):
    """A line's tags or the rest of it exceed the limits of IRCv3 message-tags.

    The rest of the line is discarded, up to the next CR or LF.
    """


class InvalidUtf8(RemoteIrcError):
    """A line that is not valid UTF-8.

    ``command`` is the line's command (upper-cased) when that much could be
    read, so the door can answer ``FAIL <command> INVALID_UTF8``; otherwise
    ``None`` and the answer is ``FAIL * INVALID_UTF8``.
    """

    def __init__(self, message: str, *, command: str | None = None) -> None:
        super().__init__(message)
        self.command = command


class MalformedLine(RemoteIrcError):
    """A line that is not an IRC message.

    ``command`` is the word found where the command should be, as sent, when
    there was one (answer ``421 ERR_UNKNOWNCOMMAND`` with it); ``None`` when
    the line has no command at all (ignore it).
    """

    def __init__(self, message: str, *, command: str | None = None) -> None:
        super().__init__(message)
        self.command = command


class LocalIrcError(IrcError):
    """This side tried to build a message IRC cannot carry.

    Raised for an invalid command, tag key or middle parameter, or tags beyond
    their limit.  It means a bug in the caller, so nothing should catch it
    but a last-resort handler.
    """
