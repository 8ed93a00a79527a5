"""The ignore list: nicks whose messages, whispers and file offers the client hides.

It is kept in the client's settings file, ``$XDG_CONFIG_HOME/hubbub/client.toml``
(``~/.config/hubbub/client.toml`` by default), as one top-level key::

    ignore = ["troll", "spammer"]

:func:`read_ignored` and :func:`write_ignored` are the only functions that
touch the file for it; writing replaces that one line (or adds it before the
first table) and leaves every other line of the file as it was.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path

from protocol import fold, is_valid_nick

__all__ = ["read_ignored", "settings_path", "write_ignored"]

_IGNORE_LINE = re.compile(r"^\s*ignore\s*=")


def settings_path() -> Path:
    """The client's settings file (``XDG_CONFIG_HOME`` honoured)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "hubbub" / "client.toml"


def read_ignored(path: Path | None = None) -> set[str]:
    """The ignored nicks, folded; an absent or unreadable file ignores nobody."""
    try:
        with (path or settings_path()).open("rb") as file:
            data = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError):
        return set()
    nicks = data.get("ignore", [])
    if not isinstance(nicks, list):
        return set()
    return {fold(nick) for nick in nicks if isinstance(nick, str) and is_valid_nick(nick)}


def write_ignored(nicks: Iterable[str], path: Path | None = None) -> None:
    """Keep ``nicks`` as the ignore list; raises ``OSError`` if the file cannot be written."""
    path = path or settings_path()
    listed = ", ".join(f'"{nick}"' for nick in sorted(fold(n) for n in nicks if is_valid_nick(n)))
    line = f"ignore = [{listed}]\n"
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
        if skipping or _IGNORE_LINE.match(text):
            skipping = "]" not in text
        else:
            kept.append(text)
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join([*kept, line, *rest]), encoding="utf-8")
    temporary.replace(path)
