"""Any sequence of server messages a hostile server can send leaves the client usable.

Seeded, so a failure replays.  Frames are drawn from every server type with
odd but well-typed values (seqs that jump, repeat or go back, rooms never
joined, nicks that collide with ours, text full of escapes), mixed with the
user's own commands, disconnects and reconnects.  Each is validated as the
connection would (invalid ones are dropped there, so here too) and applied to
:class:`ChatState`, which must never raise; now and then, and at the end,
every window still renders, wrapped at two widths, with nothing a terminal
would obey.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from pydantic import BaseModel

from chat_client.events import Connected, Disconnected, Incoming
from chat_client.state import ChatState
from protocol import MessageError, Welcome, parse_server

SEEDS = (1, 2, 3, 4, 5)
STEPS = 400
ROOMS = ("general", "GENERAL", "dev", "x" * 64)
NICKS = ("alice", "ALICE", "bob", "carol")
TEXTS = ("hi", "a\nb\n", "\x1b]0;owned\x07", "\u202eevil", "\x9b2J", "alice!", "é" * 300)
SEQS = (0, 1, 2, 3, 5, 50, 51, 100, -1, 2**53)
LINES = (
    "hello", "/join dev", "/join general", "/part", "/msg bob hi", "/me waves",
    "/nick alicia", "/who", "/topic new", "/list", "/names", "/older", "/bell all",
    "/window 2", "/close", "/query carol",
)  # fmt: skip
#: What a terminal would obey: C0 (newline is split into rows first), DEL, C1, bidi.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def pick(rng: random.Random, values: tuple[Any, ...]) -> Any:
    return rng.choice(values)


def message_obj(rng: random.Random) -> dict[str, Any]:
    return {
        "room": pick(rng, ROOMS),
        "from": pick(rng, NICKS),
        "text": pick(rng, TEXTS),
        "ts": rng.choice([0.0, 1.7e9, -5.0, 1e12]),
        "seq": pick(rng, SEQS),
        "id": rng.choice([None, "c1", "c2", "x"]),
        "action": rng.random() < 0.2,
    }


def server_obj(rng: random.Random) -> dict[str, Any]:
    """One server message as JSON would carry it, of any type."""
    kind = rng.choice(
        ["message"] * 6
        + ["joined"] * 2
        + ["left", "presence", "whisper", "nick_changed", "topic", "room_list"]
        + ["members", "history", "error", "bye", "pong", "dance"]
    )
    room, nick, text = pick(rng, ROOMS), pick(rng, NICKS), pick(rng, TEXTS)
    if kind == "message":
        return {"type": kind, **message_obj(rng)}
    history = [{"type": "message", **message_obj(rng)} for _ in range(rng.randint(0, 4))]
    members = rng.sample(NICKS, rng.randint(0, len(NICKS)))
    fields: dict[str, dict[str, Any]] = {
        "joined": {"room": room, "members": members, "topic": text, "history": history},
        "left": {"room": room},
        "presence": {"room": room, "nick": nick, "event": rng.choice(["join", "leave", "quit"])},
        "whisper": {"from": nick, "to": pick(rng, NICKS), "text": text, "ts": 1.0},
        "nick_changed": {"old": nick, "new": pick(rng, NICKS)},
        "topic": {"room": room, "topic": rng.choice([None, text]), "by": nick},
        "room_list": {"rooms": [{"name": room, "members": 3, "topic": text}]},
        "members": {"room": room, "members": members},
        "history": {"room": room, "messages": history},
        "error": {"code": "not_in_room", "message": text, "ref": "say", "id": "c1"},
        "bye": {"reason": "server_shutdown"},
        "pong": {"token": "t"},
        "dance": {},
    }
    return {"type": kind, **fields[kind]}


def welcome(rng: random.Random, nick: str) -> Welcome:
    return Welcome(
        nick=nick, protocol=1, epoch=rng.choice(["e1", "e2"]), server="evil\x1b[2J 1", rooms=[]
    )


def assert_renders_inert(state: ChatState) -> None:
    for window in state.windows:
        for line in window.lines:
            for width in (7, 80):
                for row in line.rows(width):
                    for _, text in row:
                        assert UNSAFE.search(text) is None, (window.name, text)
    list(state.activity())
    for window in state.windows:
        window.completion_nicks()


@pytest.mark.parametrize("seed", SEEDS)
def test_any_server_sequence_leaves_the_client_usable(seed: int) -> None:
    rng = random.Random(seed)
    sent: list[BaseModel] = []

    def send(message: BaseModel) -> bool:
        sent.append(message)
        return True

    state = ChatState(nick="alice", server="test:1", send=send, scrollback=50)
    state.handle(Connected(welcome(rng, "alice"), again=False))
    applied = 0
    for _ in range(STEPS):
        roll = rng.random()
        if roll < 0.1:
            state.submit(rng.choice(LINES))
        elif roll < 0.12:
            state.handle(Disconnected("gone"))
            state.handle(Connected(welcome(rng, state.nick), again=True))
        else:
            try:
                message = parse_server(json.dumps(server_obj(rng)).encode())
            except MessageError:
                continue  # the connection drops it before the state sees it
            state.handle(Incoming(message))
            applied += 1
        if rng.random() < 0.05:
            assert_renders_inert(state)
    assert_renders_inert(state)
    assert applied > STEPS // 2
