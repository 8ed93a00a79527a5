"""Registration: PASS, NICK and USER in any order, held by CAP, driven by the door."""

from __future__ import annotations

import pytest

from chat_server.doors.irc.errors import LocalIrcError
from chat_server.doors.irc.registration import Phase, Registration
from chat_server.doors.irc.wire import IrcMessage

SERVER = "hub.lan"


def phase(registration: Registration) -> Phase:
    """The phase now (a call, so that the type checker does not pin it)."""
    return registration.phase


def send(registration: Registration, *lines: str) -> list[str]:
    """Feed ``lines`` and return every reply as text."""
    out: list[str] = []
    for line in lines:
        replies = registration.handle(IrcMessage.parse(line), server=SERVER)
        out += [r.serialize().decode().removesuffix("\r\n") for r in replies]
    return out


@pytest.mark.parametrize(
    "lines",
    [
        ("NICK alice", "USER a 0 * :Alice"),
        ("USER a 0 * :Alice", "NICK alice"),
        ("PASS pw", "NICK alice", "USER a 0 * :Alice"),
    ],
)
def test_nick_and_user_in_any_order_make_registration_ready(lines: tuple[str, ...]) -> None:
    registration = Registration()
    assert send(registration, *lines) == []
    assert phase(registration) is Phase.READY
    assert (registration.nick, registration.username, registration.realname) == (
        "alice",
        "a",
        "Alice",
    )


def test_cap_ls_holds_registration_until_cap_end() -> None:
    registration = Registration()
    send(registration, "CAP LS 302", "NICK alice", "USER a 0 * :Alice")
    assert phase(registration) is Phase.CONNECTED
    assert send(registration, "CAP REQ :batch") == [":hub.lan CAP alice ACK batch"]
    assert phase(registration) is Phase.CONNECTED
    send(registration, "CAP END")
    assert phase(registration) is Phase.READY
    assert registration.caps.enabled == {"batch"}


def test_the_last_pass_counts() -> None:
    registration = Registration()
    send(registration, "PASS one", "PASS :two words")
    assert registration.password == "two words"


def test_pass_without_a_password_is_461() -> None:
    assert send(Registration(), "PASS") == [":hub.lan 461 * PASS :Not enough parameters"]


@pytest.mark.parametrize("line", ["NICK", "NICK :"])
def test_nick_without_a_nick_is_431(line: str) -> None:
    assert send(Registration(), line) == [":hub.lan 431 * :No nickname given"]


@pytest.mark.parametrize("nick", ["-alice", "al!ce", "x" * 33, "#room", "élan"])
def test_a_nick_hubbub_cannot_hold_is_432(nick: str) -> None:
    registration = Registration()
    assert send(registration, f"NICK {nick}") == [f":hub.lan 432 * {nick} :Erroneous nickname"]
    assert registration.nick is None


def test_user_with_too_few_parameters_is_461() -> None:
    registration = Registration()
    assert send(registration, "NICK a", "USER a 0 *") == [
        ":hub.lan 461 a USER :Not enough parameters"
    ]
    assert phase(registration) is Phase.CONNECTED


@pytest.mark.parametrize(
    ("given", "kept"), [("~al!ce@x", "alcex"), ("@@@", "user"), ("a" * 40, "a" * 16)]
)
def test_the_user_name_is_reduced_to_a_safe_word(given: str, kept: str) -> None:
    registration = Registration()
    send(registration, f"USER {given} 0 * :Real")
    assert registration.username == kept


def test_other_commands_before_registration_are_451() -> None:
    registration = Registration()
    assert not registration.accepts("JOIN")
    assert registration.accepts("ping")
    assert send(registration, "JOIN #general") == [":hub.lan 451 * :You have not registered"]
    assert send(registration, "PING x", "QUIT") == []


def test_the_door_drives_registration_to_its_end() -> None:
    registration = Registration()
    send(registration, "CAP LS 302", "NICK Alice", "USER a 0 * :A", "CAP END")
    registration.begin()
    assert phase(registration) is Phase.REGISTERING
    registration.complete("Alice")
    assert phase(registration) is Phase.REGISTERED
    assert not registration.caps.held
    assert registration.accepts("JOIN")
    assert send(registration, "USER a 0 * :A") == [":hub.lan 462 Alice :You may not reregister"]
    assert send(registration, "PASS x") == [":hub.lan 462 Alice :You may not reregister"]
    assert send(registration, "CAP LIST") == [":hub.lan CAP Alice LIST :"]


def test_a_refused_nick_waits_for_another() -> None:
    registration = Registration()
    send(registration, "NICK alice", "USER a 0 * :A")
    registration.begin()
    registration.nick_refused()
    assert phase(registration) is Phase.CONNECTED
    assert registration.nick is None
    send(registration, "NICK alice_")
    assert phase(registration) is Phase.READY


def test_registration_steps_out_of_order_are_a_local_error() -> None:
    registration = Registration()
    with pytest.raises(LocalIrcError):
        registration.begin()
    with pytest.raises(LocalIrcError):
        registration.complete("a")
    with pytest.raises(LocalIrcError):
        registration.nick_refused()


def test_nick_after_registration_is_not_registrations_business() -> None:
    registration = Registration()
    send(registration, "NICK a", "USER a 0 * :A")
    registration.begin()
    registration.complete("a")
    with pytest.raises(LocalIrcError):
        send(registration, "NICK b")
