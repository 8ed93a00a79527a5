from __future__ import annotations

import calendar
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from chat_client.state import ChatState
from chat_client.view import (
    MENTION_COLOUR,
    NICK_COLOURS,
    Line,
    mentions,
    message_line,
    nick_colour,
)
from protocol import Joined, Welcome

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


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


SUNDAY_NOON = calendar.timegm((2026, 11, 29, 12, 0, 0))


def test_history_of_another_day_is_dated_and_the_day_change_is_a_line(utc: None) -> None:
    state = ChatState(nick="alice", server="test:1", now=lambda: SUNDAY_NOON)
    state.welcomed(Welcome(nick="alice", epoch="e", server="s", rooms=[]), again=False)
    state.join("general")
    old = message("from yesterday", seq=1, ts=SUNDAY_NOON - 86400 - 3600)
    state.apply(Joined(room="general", members=["alice"], topic=None, history=[old]))
    state.apply(message("today", seq=2, ts=SUNDAY_NOON + 60))
    state.apply(message("after midnight", seq=3, ts=SUNDAY_NOON + 12 * 3600 + 60))
    texts = [line.text for line in state.window.lines]
    assert "28 Nov 11:00 <bob> from yesterday" in texts
    assert texts.count("--- Day changed to Sunday 29 Nov 2026") == 1
    assert (
        texts.index("--- Day changed to Sunday 29 Nov 2026")
        == texts.index("28 Nov 11:00 <bob> from yesterday") + 1
    )
    assert "12:01 <bob> today" in texts
    monday = texts.index("--- Day changed to Monday 30 Nov 2026")
    assert texts[monday + 1] == "30 Nov 00:01 <bob> after midnight"


def test_an_emoji_zwj_sequence_is_never_split() -> None:
    coder = "\U0001f469\u200d\U0001f4bb"  # woman technologist: four cells as drawn here
    for width in range(5, 16):
        line = Line([("", "x" * 3 + coder * 4)], indent=0)
        for row in _text(line.rows(width)):
            assert not row.startswith("\u200d")
            assert not row.endswith("\u200d")
            assert "\U0001f4bb" not in row.replace(coder, "")


def test_a_long_url_starts_its_own_row_unindented() -> None:
    url = "https://example.com/" + "a" * 40
    line = message_line(message(f"look at {url} now", ts=time.time()), "alice")
    rows = _text(line.rows(40))
    assert rows[0].rstrip().endswith("<bob> look at")
    assert rows[1:] == [url[:40], url[40:] + " now"]


def test_a_url_that_fits_on_an_indented_row_moves_there_whole() -> None:
    text = "see the page https://example.com/x for it"
    line = message_line(message(text, ts=time.time()), "alice")
    rows = _text(line.rows(36))
    assert rows[1].strip().startswith("https://example.com/x")
    assert rows[1].startswith(" " * 12)


def test_nick_colours_are_many_and_never_yours_or_the_mention_colour() -> None:
    assert len(NICK_COLOURS) >= 20
    assert MENTION_COLOUR not in NICK_COLOURS
    assert all(colour.startswith("#") for colour in NICK_COLOURS)  # never the default colour
    mine = message_line(message("hi", nick="alice"), "alice")
    assert mine.fragments[1][0] == "class:nick.self"
