"""Channel MODE strings parsed into typed changes, and room modes rendered."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_server.doors.irc.mapping import BanMask
from chat_server.doors.irc.modes import (
    CHANMODES,
    CHANNEL_MODES,
    CHANNEL_MODES_WITH_PARAM,
    PREFIX,
    BanChange,
    BanListQuery,
    FlagChange,
    KeyChange,
    LimitChange,
    MemberChange,
    ModeChange,
    ParsedModes,
    mode_changes,
    parse_channel_modes,
    problem_replies,
    render_changes,
    render_room_modes,
    room_mode_request,
)
from protocol import RoomModes


def test_the_advertised_letters_match_the_moderation_features() -> None:
    assert CHANMODES == "b,k,l,imt"
    assert PREFIX == "(ov)@+"
    assert CHANNEL_MODES == "biklmotv"
    assert CHANNEL_MODES_WITH_PARAM == "bklov"


@pytest.mark.parametrize(
    ("modestring", "args", "changes"),
    [
        ("+i", [], [FlagChange("i", True)]),
        ("-mt", [], [FlagChange("m", False), FlagChange("t", False)]),
        ("imt", [], [FlagChange("i", True), FlagChange("m", True), FlagChange("t", True)]),
        ("+ik-l", ["secret"], [FlagChange("i", True), KeyChange("secret"), LimitChange(None)]),
        ("+o-v", ["al", "bo"], [MemberChange("o", True, "al"), MemberChange("v", False, "bo")]),
        ("+l", ["10"], [LimitChange(10)]),
        ("-k", [], [KeyChange(None)]),
        ("-k", ["oldkey"], [KeyChange(None)]),
        ("-k+l", ["oldkey", "5"], [KeyChange(None), LimitChange(5)]),
        ("+b", [], [BanListQuery()]),
        ("b", [], [BanListQuery()]),
        ("-b", [], [BanListQuery()]),
        ("+b", ["alice!*@*"], [BanChange(True, BanMask(nick="alice"))]),
        ("-b", ["*!*@192.0.2.0/24"], [BanChange(False, BanMask(address="192.0.2.0/24"))]),
        ("+bb", ["a", "b"], [BanChange(True, BanMask("a")), BanChange(True, BanMask("b"))]),
        ("+ov", ["a", "b", "extra"], [MemberChange("o", True, "a"), MemberChange("v", True, "b")]),
        ("+-+i", [], [FlagChange("i", True)]),
        ("", [], []),
    ],
)  # fmt: skip
def test_mode_strings_parse_into_typed_changes(
    modestring: str, args: list[str], changes: list[ModeChange]
) -> None:
    assert parse_channel_modes(modestring, args) == ParsedModes(changes=tuple(changes))


def test_unknown_letters_are_reported_and_the_rest_still_applies() -> None:
    parsed = parse_channel_modes("+izsm", [])
    assert parsed.changes == (FlagChange("i", True), FlagChange("m", True))
    assert parsed.unknown == ("z", "s")


@pytest.mark.parametrize(
    ("modestring", "letter"), [("+k", "k"), ("+l", "l"), ("+o", "o"), ("-v", "v")]
)
def test_a_letter_without_its_argument_is_missing(modestring: str, letter: str) -> None:
    parsed = parse_channel_modes(modestring, [])
    assert parsed.missing == (letter,)
    assert parsed.changes == ()


def test_arguments_are_taken_in_order_so_the_last_letter_can_go_without() -> None:
    parsed = parse_channel_modes("+ol", ["alice"])
    assert parsed.changes == (MemberChange("o", True, "alice"),)
    assert parsed.missing == ("l",)


@pytest.mark.parametrize("limit", ["0", "-1", "ten", "1.5", "\u0661", "9999999999", ""])
def test_a_limit_that_is_not_a_positive_integer_is_invalid(limit: str) -> None:
    parsed = parse_channel_modes("+l", [limit])
    assert parsed.invalid == (("l", limit),)
    assert parsed.changes == ()


@pytest.mark.parametrize("mask", ["*!*@*", "ali*", "*!*@example.com", "bob!~b@*"])
def test_a_ban_mask_hubbub_cannot_hold_is_invalid(mask: str) -> None:
    assert parse_channel_modes("+b", [mask]).invalid == (("b", mask),)


@pytest.mark.parametrize("key", ["a,b", "x" * 33])
def test_a_key_that_breaks_the_key_rule_is_invalid(key: str) -> None:
    assert parse_channel_modes("+k", [key]).invalid == (("k", key),)


def test_a_key_of_32_characters_is_accepted() -> None:
    assert parse_channel_modes("+k", ["x" * 32]).changes == (KeyChange("x" * 32),)


@given(st.text(max_size=20), st.lists(st.text(max_size=10), max_size=5))
def test_parsing_any_mode_string_never_raises(modestring: str, args: list[str]) -> None:
    parsed = parse_channel_modes(modestring, args)
    assert all(letter not in "+-" for letter in parsed.unknown)


# --- rendering ------------------------------------------------------------------


def test_render_changes_groups_signs_and_lists_arguments() -> None:
    changes: list[ModeChange] = [
        MemberChange("o", True, "alice"),
        MemberChange("v", False, "bob"),
        FlagChange("m", False),
        LimitChange(10),
        KeyChange(None),
        BanChange(True, BanMask(nick="eve")),
        BanListQuery(),
    ]
    assert render_changes(changes) == ["+o-vm+l-k+b", "alice", "bob", "10", "*", "eve!*@*"]


def test_render_changes_of_nothing_is_empty() -> None:
    assert render_changes([]) == []
    assert render_changes([BanListQuery()]) == []


@pytest.mark.parametrize(
    "modestring", ["+i", "-t", "+mt-i", "+k-l", "+l", "+o-v", "-k", "+b-b", "+ov"]
)
def test_rendered_changes_parse_back_to_the_same_changes(modestring: str) -> None:
    parsed = parse_channel_modes(modestring, ["key1", "7", "alice!*@*", "bob"])
    again = render_changes(parsed.changes)
    if again:
        assert parse_channel_modes(again[0], again[1:]).changes == parsed.changes


@pytest.mark.parametrize(
    ("modes", "params"),
    [
        (RoomModes(), ["+"]),
        (RoomModes(invite_only=True), ["+i"]),
        (
            RoomModes(invite_only=True, key="k3y", topic_ops=True, moderated=True, limit=10),
            ["+iklmt", "k3y", "10"],
        ),
        (RoomModes(limit=5, topic_ops=True), ["+lt", "5"]),
    ],
)
def test_room_modes_render_for_324(modes: RoomModes, params: list[str]) -> None:
    assert render_room_modes(modes) == params


def test_a_key_can_be_hidden_from_non_members() -> None:
    assert render_room_modes(RoomModes(key="k3y"), show_key=False) == ["+k", "*"]


def test_mode_changes_announce_what_differs_between_two_sets_of_modes() -> None:
    old = RoomModes(invite_only=True, key="old", limit=5)
    new = RoomModes(moderated=True, key="new", limit=5)
    changes = mode_changes(old, new)
    assert changes == [FlagChange("i", False), FlagChange("m", True), KeyChange("new")]
    assert render_changes(changes) == ["-i+mk", "new"]
    assert mode_changes(new, new) == []
    assert render_changes(mode_changes(new, RoomModes())) == ["-mkl", "*"]


def test_room_mode_request_holds_the_room_wide_changes_only() -> None:
    parsed = parse_channel_modes("+imk-t+lo-l", ["key", "4", "alice"])
    assert room_mode_request(parsed.changes) == {
        "invite_only": True,
        "moderated": True,
        "key": "key",
        "topic_ops": False,
        "limit": None,
    }
    assert room_mode_request(parse_channel_modes("+ob", ["a", "b"]).changes) == {}


def test_problem_replies_answer_each_refusal_with_its_numeric() -> None:
    parsed = parse_channel_modes("+zbklo", ["*!*@host.example", "a,b", "0"])
    lines = [m.serialize().decode() for m in problem_replies("hub.lan", "al", "#r", parsed)]
    assert lines == [
        ":hub.lan 472 al z :is unknown mode char to me\r\n",
        ":hub.lan 461 al MODE :Not enough parameters\r\n",
        ":hub.lan 472 al b :A ban mask is nick!*@* or *!*@address, with an IP address or CIDR"
        " network\r\n",
        ":hub.lan 525 al #r :Key is not well-formed\r\n",
        ":hub.lan 696 al #r l 0 :The limit must be a whole number of at least 1\r\n",
    ]


def test_problem_replies_of_a_clean_parse_are_none() -> None:
    assert problem_replies("hub.lan", "al", "#r", parse_channel_modes("+i")) == []
