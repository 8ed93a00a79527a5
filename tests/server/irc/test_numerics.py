"""Numeric replies and standard replies, as they go on the wire."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_server.doors.irc import numerics
from chat_server.doors.irc.numerics import (
    ERR_ERRONEUSNICKNAME,
    ERR_NEEDMOREPARAMS,
    ERR_NOSUCHNICK,
    RPL_ENDOFBANLIST,
    RPL_LISTSTART,
    RPL_TOPICWHOTIME,
    RPL_WHOISCHANNELS,
    RPL_WHOREPLY,
    Numeric,
    fail,
    member_prefix,
    motd,
    names_replies,
    note,
    pack_words,
    packed_replies,
    reply,
    safe_param,
    warn,
    welcome,
    who_flags,
)
from chat_server.doors.irc.wire import MAX_LINE, IrcMessage

SERVER = "hub.lan"


def wire(message: IrcMessage) -> str:
    return message.serialize().decode()


def test_reply_builds_the_numeric_line_from_the_standard_text() -> None:
    assert wire(reply(SERVER, "alice", ERR_NOSUCHNICK, "bob")) == (
        ":hub.lan 401 alice bob :No such nick/channel\r\n"
    )


def test_reply_before_registration_addresses_star() -> None:
    assert wire(reply(SERVER, None, ERR_NEEDMOREPARAMS, "USER")) == (
        ":hub.lan 461 * USER :Not enough parameters\r\n"
    )


def test_reply_text_replaces_the_standard_text() -> None:
    assert wire(reply(SERVER, "a", ERR_ERRONEUSNICKNAME, "-x", text="Nick starts with -")) == (
        ":hub.lan 432 a -x :Nick starts with -\r\n"
    )


def test_a_numeric_without_text_ends_with_its_params() -> None:
    assert wire(reply(SERVER, "a", RPL_TOPICWHOTIME, "#r", "bob", "1700000000")) == (
        ":hub.lan 333 a #r bob 1700000000\r\n"
    )
    assert wire(reply(SERVER, "a", RPL_LISTSTART, "Channel")) == (
        ":hub.lan 321 a Channel :Users  Name\r\n"
    )


@pytest.mark.parametrize("echoed", ["", "two words", ":colon", "a\r\nQUIT", "x" * 201, "\0"])
def test_an_echoed_value_that_cannot_be_a_parameter_becomes_a_star(echoed: str) -> None:
    assert reply(SERVER, "a", ERR_NOSUCHNICK, echoed).params == ["a", "*", "No such nick/channel"]


def test_safe_param_keeps_ordinary_words_and_drops_nul() -> None:
    assert safe_param("#general") == "#general"
    assert safe_param("a\0b") == "ab"
    assert safe_param("x" * 200) == "x" * 200


@given(st.text(max_size=300), st.text(max_size=300))
def test_a_reply_echoing_anything_serializes(nick: str, echoed: str) -> None:
    line = reply(SERVER, nick, ERR_NOSUCHNICK, echoed).serialize()
    assert len(line) <= MAX_LINE


def test_every_numeric_constant_is_three_digits_and_named() -> None:
    found = [v for v in vars(numerics).values() if isinstance(v, Numeric)]
    assert len(found) >= 60
    for numeric in found:
        assert re.fullmatch(r"[0-9]{3}", numeric.code)
        assert getattr(numerics, numeric.name) is numeric
    assert len({n.code for n in found}) == len(found)


@pytest.mark.parametrize(
    ("code", "name"),
    [("001", "RPL_WELCOME"), ("005", "RPL_ISUPPORT"), ("221", "RPL_UMODEIS"),
     ("324", "RPL_CHANNELMODEIS"), ("353", "RPL_NAMREPLY"), ("367", "RPL_BANLIST"),
     ("417", "ERR_INPUTTOOLONG"), ("433", "ERR_NICKNAMEINUSE"), ("441", "ERR_USERNOTINCHANNEL"),
     ("443", "ERR_USERONCHANNEL"), ("464", "ERR_PASSWDMISMATCH"), ("471", "ERR_CHANNELISFULL"),
     ("472", "ERR_UNKNOWNMODE"), ("473", "ERR_INVITEONLYCHAN"), ("474", "ERR_BANNEDFROMCHAN"),
     ("475", "ERR_BADCHANNELKEY"), ("481", "ERR_NOPRIVILEGES"), ("482", "ERR_CHANOPRIVSNEEDED"),
     ("502", "ERR_USERSDONTMATCH")],
)  # fmt: skip
def test_numerics_have_their_standard_codes(code: str, name: str) -> None:
    assert getattr(numerics, name).code == code


def test_fail_warn_and_note_are_standard_replies() -> None:
    assert wire(fail(SERVER, "PRIVMSG", "INVALID_UTF8", description="Use UTF-8")) == (
        ":hub.lan FAIL PRIVMSG INVALID_UTF8 :Use UTF-8\r\n"
    )
    assert wire(fail(SERVER, None, "INVALID_UTF8", description="Use UTF-8")) == (
        ":hub.lan FAIL * INVALID_UTF8 :Use UTF-8\r\n"
    )
    assert (
        wire(warn(SERVER, "CHATHISTORY", "MESSAGE_ERROR", "BEFORE", "#r", description="x y"))
        == ":hub.lan WARN CHATHISTORY MESSAGE_ERROR BEFORE #r :x y\r\n"
    )
    assert wire(note(SERVER, "*", "OPER_MESSAGE", description="hi")) == (
        ":hub.lan NOTE * OPER_MESSAGE :hi\r\n"
    )


def test_pack_words_fills_each_line_up_to_the_budget() -> None:
    assert pack_words(["aa", "bb", "cc", "dd"], 5) == ["aa bb", "cc dd"]
    assert pack_words(["aa", "bb", "cc"], 4) == ["aa", "bb", "cc"]
    assert pack_words(["toolongword", "a"], 4) == ["toolongword", "a"]
    assert pack_words([], 10) == []


def test_names_of_a_crowded_room_take_several_353_lines_then_366() -> None:
    members = [f"@{'n' * 30}{i:02d}" for i in range(40)]
    lines = names_replies(SERVER, "alice", "#general", members)
    assert [m.command for m in lines[:-1]] == ["353"] * (len(lines) - 1)
    assert len(lines) > 2
    assert wire(lines[-1]) == ":hub.lan 366 alice #general :End of /NAMES list\r\n"
    assert lines[0].params[:3] == ["alice", "=", "#general"]
    for message in lines:
        assert message.body_size() <= MAX_LINE
    assert " ".join(m.params[-1] for m in lines[:-1]).split() == members


def test_names_of_an_empty_room_is_only_366() -> None:
    assert [m.command for m in names_replies(SERVER, "a", "#r", [])] == ["366"]


def test_packed_replies_carry_whois_channels() -> None:
    assert [
        wire(m) for m in packed_replies(SERVER, "a", RPL_WHOISCHANNELS, ["b"], ["@#x", "#y"])
    ] == [":hub.lan 319 a b :@#x #y\r\n"]


@pytest.mark.parametrize(
    ("op", "voiced", "multi", "prefix"),
    [(True, True, True, "@+"), (True, True, False, "@"), (False, True, False, "+"),
     (True, False, True, "@"), (False, False, True, "")],
)  # fmt: skip
def test_member_prefix_is_the_highest_or_all_with_multi_prefix(
    op: bool, voiced: bool, multi: bool, prefix: str
) -> None:
    assert member_prefix(op=op, voiced=voiced, multi_prefix=multi) == prefix


def test_who_flags_show_away_server_operator_and_prefix() -> None:
    assert who_flags(away=False, server_operator=False, prefix="") == "H"
    assert who_flags(away=True, server_operator=True, prefix="@+") == "G*@+"
    message = reply(
        SERVER, "me", RPL_WHOREPLY, "#r", "bob", "0::1", SERVER, "bob", "H@", text="0 bob"
    )
    assert wire(message) == ":hub.lan 352 me #r bob 0::1 hub.lan bob H@ :0 bob\r\n"


def test_welcome_is_001_to_003() -> None:
    lines = welcome(
        SERVER, "alice", network="LAN", hostmask="alice!alice@h", version="hubbub-0.1.0",
        created="2024-01-01",
    )  # fmt: skip
    assert [wire(m) for m in lines] == [
        ":hub.lan 001 alice :Welcome to the LAN Network, alice!alice@h\r\n",
        ":hub.lan 002 alice :Your host is hub.lan, running version hubbub-0.1.0\r\n",
        ":hub.lan 003 alice :This server was created 2024-01-01\r\n",
    ]


def test_motd_is_one_372_per_line_or_422_without_one() -> None:
    assert [wire(m) for m in motd(SERVER, "a", "Hello\nBe nice")] == [
        ":hub.lan 375 a :- hub.lan Message of the day - \r\n",
        ":hub.lan 372 a :- Hello\r\n",
        ":hub.lan 372 a :- Be nice\r\n",
        ":hub.lan 376 a :End of /MOTD command.\r\n",
    ]
    assert [wire(m) for m in motd(SERVER, "a", None)] == [
        ":hub.lan 422 a :MOTD File is missing\r\n"
    ]
    assert [m.command for m in motd(SERVER, "a", "")] == ["422"]


def test_end_of_ban_list_names_the_channel() -> None:
    assert wire(reply(SERVER, "a", RPL_ENDOFBANLIST, "#r")) == (
        ":hub.lan 368 a #r :End of channel ban list\r\n"
    )
