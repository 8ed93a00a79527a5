"""The ignore list: nicks whose messages, whispers and file offers the client hides.

It is kept in the client's settings file (:mod:`chat_client.settings`:
``$XDG_CONFIG_HOME/hubbub/client.toml``, or ``--config``) as one key that is
not a command-line option::

    ignore = ["troll", "spammer"]

:func:`ignored_in` reads it from the loaded file; :func:`write_ignored` is the
only function that writes it: it replaces that key's line (or adds it before
the first table) and leaves every other line of the file as it was.
:func:`read_ignored` reads a file on its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protocol import fold, is_valid_nick

from .settings import OTHER_KEYS, SettingsError, read_file

if TYPE_CHECKING:
    from .state import ChatState

__all__ = ["KEY", "ignored_in", "read_ignored", "toggle_ignored", "write_ignored"]

logger = logging.getLogger(__name__)

#: The settings file's key for the list.
KEY = "ignore"
OTHER_KEYS.add(KEY)

_KEY_LINE = re.compile(rf"^\s*{KEY}\s*=")


def ignored_in(table: Mapping[str, Any]) -> set[str]:
    """The ignored nicks of a loaded settings file, folded (a bad value ignores nobody)."""
    nicks = table.get(KEY, [])
    if not isinstance(nicks, list):
        return set()
    return {fold(nick) for nick in nicks if isinstance(nick, str) and is_valid_nick(nick)}


def read_ignored(path: Path) -> set[str]:
    """The ignored nicks kept in ``path``; an absent or unreadable file ignores nobody."""
    try:
        return ignored_in(read_file(path))
    except SettingsError:
        return set()


def write_ignored(nicks: Iterable[str], path: Path) -> None:
    """Keep ``nicks`` as the ignore list in ``path``; raises ``OSError`` if it cannot."""
    listed = ", ".join(f'"{nick}"' for nick in sorted(fold(n) for n in nicks if is_valid_nick(n)))
    line = f"{KEY} = [{listed}]\n"
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        lines = []
    first_table = next((i for i, text in enumerate(lines) if text.lstrip().startswith("[")), None)
    top = lines if first_table is None else lines[:first_table]
    rest = [] if first_table is None else lines[first_table:]
    kept: list[str] = []
    skipping = False  # inside an ``ignore = [`` array written over several lines
    for text in top:
        if skipping or _KEY_LINE.match(text):
            skipping = "]" not in text
        else:
            kept.append(text)
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join([*kept, line, *rest]), encoding="utf-8")
    temporary.replace(path)


def toggle_ignored(state: ChatState, nick: str, *, on: bool) -> None:
    """``/ignore NICK``, ``/unignore NICK``, or ``/ignore`` alone to list; kept in the
    state's settings file, if it has one."""
    if not nick:
        listed = " ".join(sorted(state.ignored)) or "nobody"
        state.note(f"ignoring: {listed}")
        return
    key = fold(nick)
    if on:
        state.ignored.add(key)
        state.note(f"ignoring {nick}: their messages, whispers and files are hidden")
    elif key in state.ignored:
        state.ignored.discard(key)
        state.note(f"no longer ignoring {nick}")
    else:
        state.note(f"{nick} was not ignored")
        return
    if state.ignore_file is not None:
        try:
            write_ignored(state.ignored, state.ignore_file)
        except OSError as exc:
            logger.warning("cannot keep the ignore list in %s: %s", state.ignore_file, exc)
            state.error(f"cannot keep the ignore list in {state.ignore_file}: {exc}")
