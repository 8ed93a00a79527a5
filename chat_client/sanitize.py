"""The one gate between untrusted network text and the terminal.

Every string that came from the network -- message text, nicks, room names,
topics, error messages, the MOTD -- goes through :func:`sanitize` before it is
displayed or printed.  Nothing else in the client decides what is safe.

What it does, so that no peer can move the cursor, retitle the window, write
the clipboard (OSC 52), plant a hyperlink (OSC 8), clear the screen, ring the
bell or disguise text:

* C0 controls other than newline, and DEL, become caret notation:
  ``ESC`` -> ``^[``, ``BEL`` -> ``^G``, ``CR`` -> ``^M``, ``BS`` -> ``^H``,
  ``TAB`` -> ``^I``, ``DEL`` -> ``^?``.  Since ESC itself is shown as two
  harmless characters, every escape sequence is shown, never obeyed.
* C1 controls (U+0080-U+009F, which some terminals obey as the 8-bit form of
  ``ESC x``; ``U+009B`` is CSI) become ``<U+009B>``-style text.
* Bidirectional embeddings, overrides and isolates (U+202A-U+202E,
  U+2066-U+2069) become ``<U+202E>``-style text, so text cannot be reordered.
* A newline is kept when ``multiline`` is true (message text) and becomes
  ``^J`` otherwise (nicks, rooms, topics, errors: one line by nature).
"""

from __future__ import annotations

import re

__all__ = ["sanitize"]

_BIDI = "\u202a-\u202e\u2066-\u2069"
_UNSAFE_MULTILINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"


def sanitize(text: str, *, multiline: bool = False) -> str:
    """Return ``text`` with every control character made visible and inert.

    Pass ``multiline=True`` only for message text, where a newline separates
    the lines of a multi-line message; the caller must then lay the lines out
    itself.  The result never contains a byte a terminal would obey.
    """
    pattern = _UNSAFE_MULTILINE if multiline else _UNSAFE_ONE_LINE
    return pattern.sub(_visible, text)
