"""The client's settings: command line, then environment, then settings file.

Every option of the client's argument parser can also come from

* the environment, as ``CHAT_`` + its ``dest`` in capitals (``--nick`` is
  ``CHAT_NICK``, ``--tls-ca`` is ``CHAT_TLS_CA``, the rooms are ``CHAT_ROOMS``,
  comma-separated; a switch is on as ``1``, ``true`` or ``yes`` and off as
  ``0``, ``false``, ``no`` or empty), and
* the settings file, ``$XDG_CONFIG_HOME/hubbub/client.toml`` (by default
  ``~/.config/hubbub/client.toml``; ``--config FILE`` or ``CHAT_CONFIG`` names
  another), whose keys are the ``dest`` with ``-`` for ``_`` (``nick``,
  ``rooms = ["general", "dev"]``, ``tls-ca``, ``no-logs = true``).

A flag beats the environment, which beats the file, which beats the
default.  The positional ``HOST[:PORT]`` is ``CHAT_SERVER`` / ``server``
(:data:`NAMES`).  So the password never needs to be on the command line,
where ``ps`` shows it.

This works for any option added to the parser, so every part of the client
gets it by adding its options before :func:`load` runs.  Keys of the file
that are not options (a part's own data) are read from
:attr:`Settings.file`; name them in :data:`OTHER_KEYS` so they are not
reported as unknown.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "NAMES",
    "OTHER_KEYS",
    "Settings",
    "SettingsError",
    "config_path",
    "env_name",
    "file_key",
    "load",
    "read_file",
    "resolve",
]

#: Settings names that differ from the parser's ``dest``.
NAMES: dict[str, str] = {"address": "server"}
#: Keys of the settings file that are not options of the command line.
OTHER_KEYS: set[str] = set()
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_SKIPPED = (argparse._HelpAction, argparse._VersionAction)


class SettingsError(Exception):
    """A setting has a value it cannot have; ``str()`` names where it came from."""


@dataclass(frozen=True)
class Settings:
    """The resolved options, and the settings file they were read with."""

    args: argparse.Namespace
    #: The settings file (it may not exist).
    path: Path
    #: Everything the file holds, options and other keys alike.
    file: Mapping[str, Any] = field(default_factory=dict)


def _name(dest: str) -> str:
    return NAMES.get(dest, dest)


def env_name(dest: str) -> str:
    """``CHAT_NICK`` for ``nick``, ``CHAT_TLS_CA`` for ``tls_ca``."""
    return "CHAT_" + _name(dest).upper()


def file_key(dest: str) -> str:
    """``nick`` for ``nick``, ``tls-ca`` for ``tls_ca``."""
    return _name(dest).replace("_", "-")


def config_path(environ: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/hubbub/client.toml``, else ``~/.config/hubbub/client.toml``."""
    config = environ.get("XDG_CONFIG_HOME") or ""
    base = Path(config) if os.path.isabs(config) else Path.home() / ".config"
    return base / "hubbub" / "client.toml"


def read_file(path: Path) -> dict[str, Any]:
    """The settings in ``path``; ``{}`` if there is no such file.

    Raises :class:`SettingsError` if it cannot be read or is not TOML.
    """
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: {exc}") from None


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        action
        for action in parser._actions
        if not isinstance(action, _SKIPPED) and action.dest != argparse.SUPPRESS
    ]


def _given(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> dict[str, Any]:
    """Only the options on the command line (argparse's errors exit 2 as usual)."""
    actions = _options(parser)
    saved = [action.default for action in actions]
    try:
        for action in actions:
            action.default = argparse.SUPPRESS
        return vars(parser.parse_args(argv))
    finally:
        for action, default in zip(actions, saved, strict=True):
            action.default = default


def _switch(action: argparse.Action) -> bool:
    return action.nargs == 0 and isinstance(action.const, bool)


def _convert(action: argparse.Action, value: Any, where: str) -> Any:
    """``value`` (text from the environment, or any TOML value) as ``action`` takes it."""
    if _switch(action):
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            on = value.strip().lower() in _TRUE
        elif isinstance(value, bool):
            on = value
        else:
            raise SettingsError(f"{where}: {value!r} is not a switch (true or false)")
        return action.const if on else not action.const
    if isinstance(action, argparse._AppendAction):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            raise SettingsError(f"{where}: {value!r} is not a list")
        kept = [item for item in items if not (isinstance(item, str) and not item.strip())]
        return [_one(action, _stripped(item), where) for item in kept]
    return _one(action, value, where)


def _stripped(item: Any) -> Any:
    return item.strip() if isinstance(item, str) else item


def _one(action: argparse.Action, value: Any, where: str) -> Any:
    kind: Callable[[str], Any] | None = action.type if callable(action.type) else None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SettingsError(f"{where}: {value!r} is not a single value")
    try:
        converted = kind(str(value)) if kind is not None else str(value)
    except (ValueError, TypeError, argparse.ArgumentTypeError) as exc:
        raise SettingsError(f"{where}: invalid value {value!r} ({exc})") from None
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise SettingsError(f"{where}: {value!r} is not one of {choices}")
    return converted


def resolve(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    environ: Mapping[str, str],
    table: Mapping[str, Any],
    *,
    source: str = "the settings file",
) -> argparse.Namespace:
    """Parse ``argv`` with ``parser``; each option it leaves out comes from ``environ``,
    else from ``table`` (the settings file's keys), else its default.

    Raises :class:`SettingsError` for a value the option cannot take.
    """
    given = _given(parser, argv)
    values: dict[str, Any] = {}
    for action in _options(parser):
        dest = action.dest
        if dest in given:
            values[dest] = given[dest]
        elif env_name(dest) in environ:
            values[dest] = _convert(action, environ[env_name(dest)], env_name(dest))
        elif file_key(dest) in table:
            where = f"{source}: {file_key(dest)}"
            values[dest] = _convert(action, table[file_key(dest)], where)
        else:
            values[dest] = action.default
    return argparse.Namespace(**values)


def _check_file(
    path: Path, table: Mapping[str, Any], parser: argparse.ArgumentParser, warn: TextIO
) -> None:
    known = {file_key(action.dest) for action in _options(parser)} | OTHER_KEYS
    for key in sorted(set(table) - known):
        print(f"{parser.prog}: {path}: unknown setting {key!r} (ignored)", file=warn)
    if "password" in table:
        try:
            mode = path.stat().st_mode
        except OSError:
            return
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            print(
                f"{parser.prog}: {path} holds a password and others may read it: chmod 600 it",
                file=warn,
            )


def load(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    warn: TextIO = sys.stderr,
) -> Settings:
    """Resolve the options of ``parser`` from ``argv``, ``environ`` and the settings file.

    The file is ``--config`` if the parser has that option and it was given,
    else ``CHAT_CONFIG``, else :func:`config_path`.  An unknown key, or a
    password in a file others may read, is one warning line on ``warn``.  A
    bad value or an unreadable file exits 2 with one line (``parser.error``).
    """
    environ = os.environ if environ is None else environ
    given = _given(parser, argv)
    named = given.get("config") or environ.get("CHAT_CONFIG")
    path = Path(named).expanduser() if named else config_path(environ)
    try:
        if named and not path.is_file():
            raise SettingsError(f"{path}: no such settings file")
        table = read_file(path)
        _check_file(path, table, parser, warn)
        args = resolve(parser, argv, environ, table, source=str(path))
    except SettingsError as exc:
        parser.error(str(exc))
    return Settings(args, path, table)
