"""``/help`` and the README tell the same commands and keys as the code has."""

from __future__ import annotations

import re
from pathlib import Path

from chat_client.commands import COMMANDS
from chat_client.help import KEYS, help_lines
from chat_client.state import ChatState

README = Path(__file__).resolve().parents[2] / "README.md"


def _table(heading: str) -> list[tuple[str, str]]:
    """The two columns of the table under ``### heading`` in the README."""
    section = README.read_text(encoding="utf-8").split(f"### {heading}\n", 1)[1]
    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", section.split("\n###", 1)[0], re.MULTILINE)
    return [(a.replace("\\|", "|"), b.replace("\\|", "|")) for a, b in rows[1:]]


def test_help_lists_every_command_then_every_key() -> None:
    lines = help_lines()
    assert len(lines) == len(COMMANDS) + len(KEYS)
    assert lines[0].startswith("/join ROOM ")
    assert lines[0].endswith(" join a room (and create it)")
    assert lines[-1].split() == ["Ctrl-D", "quit,", "on", "an", "empty", "line"]


def test_help_for_an_alias_explains_its_command() -> None:
    assert help_lines("part") == ["/leave [ROOM] [REASON]: leave this room or ROOM (also /part)"]
    assert help_lines("nosuch") == ["no such command: /nosuch"]


def test_slash_help_shows_the_lines_in_the_current_window() -> None:
    state = ChatState(nick="alice", server="test:1")
    state.submit("/help msg")
    assert state.window.lines[-1].text.endswith(
        "/msg NICK [TEXT]: private message; opens a window (also /query)"
    )


def test_readme_keys_table_is_the_keys_of_the_client() -> None:
    assert _table("Keys") == [(keys, what) for keys, what in KEYS]


def test_readme_commands_table_is_the_command_table() -> None:
    expected = []
    for command in COMMANDS:
        aliases = ", ".join(f"`/{alias}`" for alias in command.aliases)
        also = f" (also {aliases})" if aliases else ""
        expected.append((f"`{command.usage}`", command.summary + also))
    assert _table("Commands") == expected
