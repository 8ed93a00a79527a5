from __future__ import annotations

import subprocess
import sys

from chat_client.view import NICK_COLOURS, Line, mentions, message_line, nick_colour

from .helpers import message


def test_nick_colour_is_stable_across_case_and_processes() -> None:
    here = [nick_colour(nick) for nick in ("alice", "bob", "carol", "dave")]
    assert nick_colour("Alice") == nick_colour("alice")
    nicks = ["alice", "bob", "carol", "dave"]
    code = f"from chat_client.view import nick_colour as c; print([c(n) for n in {nicks!r}])"
    there = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
        timeout=30,
    ).stdout
    assert there.strip() == str(here)


def test_nick_colours_spread_over_the_palette() -> None:
    used = {nick_colour(f"user{i}") for i in range(200)}
    assert len(used) == len(NICK_COLOURS)


def test_mentions_match_whole_nick_in_any_case() -> None:
    assert mentions("hey Alice, look", "alice")
    assert mentions("alice", "alice")
    assert mentions("@alice!", "alice")
    assert not mentions("malice aforethought", "alice")
    assert not mentions("alice_2 is here", "alice")
    assert not mentions("nothing", "")


def _text(rows: list[list[tuple[str, str]]]) -> list[str]:
    return ["".join(text for _, text in row) for row in rows]


def test_long_line_wraps_under_the_text() -> None:
    line = Line([("", "12:00 <bob> "), ("", "abcdefghijklmnop")], indent=12)
    assert _text(line.rows(26)) == ["12:00 <bob> abcdefghijklmn", " " * 12 + "op"]


def test_narrow_screen_drops_the_indent() -> None:
    line = Line([("", "12:00 <bob> "), ("", "abcdefghijklmnop")], indent=12)
    assert _text(line.rows(20)) == ["12:00 <bob> ", "abcdefghijklmnop"]


def test_words_wrap_at_spaces_under_the_text() -> None:
    line = Line([("", "12:00 <bob> "), ("", "the quick brown fox jumps")], indent=12)
    assert _text(line.rows(30)) == ["12:00 <bob> the quick brown ", " " * 12 + "fox jumps"]


def test_multi_line_message_is_indented() -> None:
    rows = _text(message_line(message("one\ntwo"), "alice").rows(80))
    assert rows[0].endswith("<bob> one")
    assert rows[1] == " " * rows[0].index("one") + "two"


def test_wide_characters_count_two_columns() -> None:
    line = Line([("", "\u4f60" * 6)], indent=0)
    assert _text(line.rows(8)) == ["\u4f60" * 4, "\u4f60" * 2]
