"""Native text to IRC lines and back: splitting, CTCP ACTION and other CTCP."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_server.doors.irc.errors import LocalIrcError
from chat_server.doors.irc.text import (
    Ctcp,
    Said,
    ctcp,
    parse_ctcp,
    payload_budget,
    payloads,
    read_text,
    split_utf8,
    text_lines,
)
from chat_server.doors.irc.wire import MAX_LINE, IrcMessage

SOURCE = "alice!alice@192.0.2.7"


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("hello", ["hello"]),
        ("a\nb", ["a", "b"]),
        ("a\r\nb\rc\nd", ["a", "b", "c", "d"]),
        ("a\n\n\nb", ["a", "b"]),
        ("  indented\n", ["  indented"]),
        ("\n\r\n", [" "]),
        ("", [" "]),
    ],
)
def test_text_lines_splits_at_any_line_break_and_skips_empty_lines(
    text: str, lines: list[str]
) -> None:
    assert text_lines(text) == lines


def test_split_utf8_keeps_short_text_whole() -> None:
    assert split_utf8("hello", 5) == ["hello"]
    assert split_utf8("", 10) == [""]


def test_split_utf8_prefers_to_cut_after_a_space() -> None:
    assert split_utf8("hello world again", 12) == ["hello world ", "again"]


def test_split_utf8_cuts_a_word_without_spaces_at_the_limit() -> None:
    assert split_utf8("abcdefghij", 4) == ["abcd", "efgh", "ij"]


def test_split_utf8_ignores_a_space_too_early_in_the_piece() -> None:
    assert split_utf8("a bcdefghijkl", 8) == ["a bcdefg", "hijkl"]


def test_split_utf8_never_cuts_inside_a_code_point() -> None:
    assert split_utf8("😀😀😀", 7) == ["😀", "😀", "😀"]
    assert split_utf8("é" * 5, 5) == ["éé", "éé", "é"]


def test_split_utf8_refuses_a_limit_below_one_code_point() -> None:
    with pytest.raises(LocalIrcError):
        split_utf8("x", 3)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000), st.integers(min_value=4, max_value=600))
def test_split_utf8_pieces_fit_are_valid_and_join_back(text: str, limit: int) -> None:
    pieces = split_utf8(text, limit)
    assert "".join(pieces) == text
    for piece in pieces:
        assert len(piece.encode()) <= limit
    assert all(pieces[:-1])


def test_payloads_sends_each_line_as_its_own_privmsg() -> None:
    assert payloads("one\ntwo", source=SOURCE, target="#general") == ["one", "two"]


def test_payloads_wraps_every_piece_of_an_action() -> None:
    assert payloads("waves\nand smiles", source=SOURCE, target="#g", action=True) == [
        "\x01ACTION waves\x01",
        "\x01ACTION and smiles\x01",
    ]


def test_payloads_removes_ctcp_delimiters_from_native_text() -> None:
    assert payloads("\x01VERSION\x01", source=SOURCE, target="bob") == ["VERSION"]
    assert payloads("\x01", source=SOURCE, target="bob") == [" "]


def test_payloads_of_a_4000_character_text_fit_512_bytes_each() -> None:
    text = "word " * 800
    lines = payloads(text, source=SOURCE, target="#general")
    assert len(lines) > 1
    assert "".join(lines) == text
    for payload in lines:
        message = IrcMessage("PRIVMSG", ["#general", payload], source=SOURCE)
        assert message.body_size() <= MAX_LINE


def test_payload_budget_counts_the_whole_line() -> None:
    budget = payload_budget(source="n!u@h", command="PRIVMSG", target="#r")
    assert budget == 512 - 2 - len(":n!u@h PRIVMSG #r :")
    assert payload_budget(source="n!u@h", command="PRIVMSG", target="#r", action=True) == (
        budget - len("\x01ACTION \x01")
    )


def test_payloads_refuse_a_source_that_leaves_no_room() -> None:
    with pytest.raises(LocalIrcError):
        payloads("x", source="n" * 500, target="#r")


NICKS = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,31}", fullmatch=True)
ROOMS = st.from_regex(r"#[A-Za-z0-9_.-]{1,64}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    st.text(min_size=1, max_size=4000),
    NICKS,
    ROOMS,
    st.booleans(),
    st.sampled_from(["PRIVMSG", "NOTICE"]),
)
def test_every_line_of_any_native_text_fits_and_the_text_comes_back(
    text: str, nick: str, room: str, action: bool, command: str
) -> None:
    source = f"{nick}!{nick}@2001:db8::1"
    sent = payloads(text, source=source, target=room, command=command, action=action)
    for payload in sent:
        line = IrcMessage(command, [room, payload], source=source).serialize()
        assert len(line) <= MAX_LINE
        assert line.decode().endswith("\r\n")
    said = [read_text(payload) for payload in sent]
    assert all(isinstance(s, Said) and s.action == action for s in said)
    clean = text.replace("\x01", "")
    expected = "".join(text_lines(clean))
    assert "".join(s.text for s in said if isinstance(s, Said)) == expected


# --- CTCP -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("\x01ACTION waves\x01", Said("waves", action=True)),
        ("\x01ACTION waves", Said("waves", action=True)),
        ("\x01action waves\x01", Said("waves", action=True)),
        ("\x01ACTION\x01", Said("", action=True)),
        ("hello", Said("hello")),
        ("", Said("")),
        ("\x01", Said("\x01")),
        ("\x01\x01", Said("\x01\x01")),
        ("not \x01ACTION\x01 at the start", Said("not \x01ACTION\x01 at the start")),
    ],
)
def test_read_text_tells_actions_from_plain_text(text: str, said: Said) -> None:
    assert read_text(text) == said


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("\x01VERSION\x01", Ctcp("VERSION")),
        ("\x01PING 1473523796 918320\x01", Ctcp("PING", "1473523796 918320")),
        ("\x01ping 42", Ctcp("PING", "42")),
        ("\x01DCC SEND file 1 2 3\x01", Ctcp("DCC", "SEND file 1 2 3")),
    ],
)
def test_read_text_recognises_other_ctcp(text: str, query: Ctcp) -> None:
    assert read_text(text) == query


def test_parse_ctcp_returns_none_for_plain_text() -> None:
    assert parse_ctcp("hello") is None


def test_ctcp_builds_queries_and_replies() -> None:
    assert ctcp("VERSION") == "\x01VERSION\x01"
    assert ctcp("VERSION", "hubbub 0.1.0") == "\x01VERSION hubbub 0.1.0\x01"
    assert ctcp("ACTION", "a\x01b") == "\x01ACTION ab\x01"


@given(st.text(alphabet=st.characters(exclude_characters="\x01"), max_size=200))
def test_an_action_read_back_gives_the_same_text(text: str) -> None:
    assert read_text(ctcp("ACTION", text)) == Said(text, action=True)
