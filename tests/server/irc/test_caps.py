"""CAP negotiation: LS 302, REQ/ACK/NAK, LIST, END, and what holds registration."""

from __future__ import annotations

import pytest

from chat_server.doors.irc.caps import CAPABILITIES, TRANSITIONS, CapNegotiation, CapState
from chat_server.doors.irc.wire import MAX_LINE, IrcMessage

SERVER = "hub.lan"
ALL = (
    "away-notify batch draft/chathistory echo-message message-tags multi-prefix server-time"
    " standard-replies"
)


def cap(caps: CapNegotiation, line: str, nick: str | None = None) -> list[str]:
    """Send ``line`` (a CAP command) and return the replies as text lines."""
    message = IrcMessage.parse(line)
    assert message.command == "CAP"
    replies = caps.handle(message.params, server=SERVER, nick=nick)
    return [r.serialize().decode().removesuffix("\r\n") for r in replies]


def test_the_gateway_offers_the_documented_capabilities() -> None:
    assert " ".join(sorted(CAPABILITIES)) == ALL


def test_ls_302_req_end_enables_the_caps_and_releases_registration() -> None:
    caps = CapNegotiation()
    assert not caps.held
    assert cap(caps, "CAP LS 302") == [f":hub.lan CAP * LS :{ALL}"]
    assert caps.held
    assert caps.version == 302
    assert cap(caps, "CAP REQ :server-time batch") == [":hub.lan CAP * ACK :server-time batch"]
    assert caps.held
    assert cap(caps, "CAP END") == []
    assert not caps.held
    assert caps.enabled == {"server-time", "batch"}


def test_req_of_an_unknown_cap_is_nak_and_changes_nothing() -> None:
    caps = CapNegotiation()
    assert cap(caps, "CAP REQ :sasl") == [":hub.lan CAP * NAK sasl"]
    assert caps.enabled == frozenset()
    assert caps.held


def test_req_is_all_or_nothing() -> None:
    caps = CapNegotiation()
    cap(caps, "CAP REQ batch")
    assert cap(caps, "CAP REQ :-batch server-time sasl") == [
        ":hub.lan CAP * NAK :-batch server-time sasl"
    ]
    assert caps.enabled == {"batch"}


def test_req_can_disable_and_repeat_without_error() -> None:
    caps = CapNegotiation()
    cap(caps, "CAP REQ :batch echo-message")
    assert cap(caps, "CAP REQ :-batch echo-message -away-notify") == [
        ":hub.lan CAP * ACK :-batch echo-message -away-notify"
    ]
    assert caps.enabled == {"echo-message"}


def test_req_with_a_value_is_not_a_known_cap() -> None:
    assert cap(CapNegotiation(), "CAP REQ :batch=1") == [":hub.lan CAP * NAK batch=1"]


def test_list_shows_what_is_enabled_and_uses_the_nick_once_known() -> None:
    caps = CapNegotiation()
    assert cap(caps, "CAP LIST", nick="alice") == [":hub.lan CAP alice LIST :"]
    cap(caps, "CAP REQ :multi-prefix batch")
    assert cap(caps, "CAP list", nick="alice") == [":hub.lan CAP alice LIST :batch multi-prefix"]


def test_ls_without_version_shows_no_values_and_keeps_the_higher_version() -> None:
    caps = CapNegotiation({"a": "x,y", "b": ""})
    assert cap(caps, "CAP LS 302") == [":hub.lan CAP * LS :a=x,y b"]
    assert cap(caps, "CAP LS") == [":hub.lan CAP * LS :a b"]
    assert caps.version == 302
    assert cap(caps, "CAP LS 307") == [":hub.lan CAP * LS :a=x,y b"]
    assert caps.version == 307


def test_a_long_list_is_split_with_a_star_for_302_clients() -> None:
    caps = CapNegotiation({f"vendor.example/cap-{i:03d}": "" for i in range(60)})
    lines = cap(caps, "CAP LS 302")
    assert len(lines) > 1
    assert all(line.startswith(":hub.lan CAP * LS * :") for line in lines[:-1])
    assert lines[-1].startswith(":hub.lan CAP * LS :")
    assert all(len(line) + 2 <= MAX_LINE for line in lines)
    names = " ".join(line.split(" :", 1)[1] for line in lines).split()
    assert names == sorted(caps.available)


def test_a_long_list_for_an_old_client_has_no_star() -> None:
    caps = CapNegotiation({f"vendor.example/cap-{i:03d}": "" for i in range(60)})
    assert all(line.startswith(":hub.lan CAP * LS :") for line in cap(caps, "CAP LS"))


def test_an_empty_ls_still_answers() -> None:
    assert cap(CapNegotiation({}), "CAP LS 302") == [":hub.lan CAP * LS :"]


def test_an_unknown_subcommand_is_410_and_holds_nothing() -> None:
    caps = CapNegotiation()
    assert cap(caps, "CAP FOO") == [":hub.lan 410 * FOO :Invalid CAP command"]
    assert not caps.held


@pytest.mark.parametrize("line", ["CAP", "CAP REQ"])
def test_cap_without_its_parameters_is_461(line: str) -> None:
    assert cap(CapNegotiation(), line) == [":hub.lan 461 * CAP :Not enough parameters"]


def test_end_without_negotiation_holds_nothing() -> None:
    caps = CapNegotiation()
    assert cap(caps, "CAP END") == []
    assert not caps.held


def test_ls_after_end_but_before_registration_holds_again() -> None:
    caps = CapNegotiation()
    cap(caps, "CAP LS")
    cap(caps, "CAP END")
    cap(caps, "CAP LS 302")
    assert caps.held


def test_after_registration_cap_works_but_holds_nothing() -> None:
    caps = CapNegotiation()
    cap(caps, "CAP LS 302")
    caps.registered()
    assert not caps.held
    assert cap(caps, "CAP REQ :away-notify", nick="alice") == [":hub.lan CAP alice ACK away-notify"]
    assert cap(caps, "CAP END", nick="alice") == []
    assert caps.state is CapState.REGISTERED
    assert caps.enabled == {"away-notify"}


def test_every_state_has_a_row_in_the_transition_table() -> None:
    assert set(TRANSITIONS) == set(CapState)
    assert all(new in CapState for row in TRANSITIONS.values() for new in row.values())
