"""The Redis store's own RESP client: replies split anywhere, errors, URLs."""

from __future__ import annotations

import asyncio

import pytest

from chat_server.changes import Posted
from chat_server.storage.redis.records import change, op, records
from chat_server.storage.redis.wire import Address, RedisConnection, RedisError, ReplyError, command
from protocol import Message, encode

REPLIES = (
    b"+OK\r\n:42\r\n$-1\r\n*2\r\n$3\r\nabc\r\n*1\r\n$0\r\n\r\n-NOSCRIPT No matching script\r\n"
)


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def abort(self) -> None:
        pass


@pytest.mark.parametrize("step", [1, 2, 3, 7, len(REPLIES)])
async def test_replies_split_anywhere_reach_their_calls_in_order(step: int) -> None:
    connection = RedisConnection()
    connection.connection_made(Transport())  # type: ignore[arg-type]
    first = connection.pipeline([("SET", "k", "v"), ("INCR", "n")])
    second = connection.pipeline([("GET", "x"), ("XREAD",), ("EVALSHA", "f", 0)])
    for at in range(0, len(REPLIES), step):
        connection.data_received(REPLIES[at : at + step])
    assert await first == [b"OK", 42]
    nil, array, error = await second
    assert nil is None
    assert array == [b"abc", [b""]]
    assert isinstance(error, ReplyError)
    assert error.no_script


async def test_a_lost_connection_fails_every_waiting_call() -> None:
    connection = RedisConnection()
    connection.connection_made(Transport())  # type: ignore[arg-type]
    waiting = connection.pipeline([("PING",)])
    connection.connection_lost(ConnectionResetError("reset"))
    with pytest.raises(RedisError):
        await waiting
    with pytest.raises(RedisError):
        await connection.call("PING")


def test_commands_are_resp_arrays_of_bulk_strings() -> None:
    assert command("SET", b"k", 7) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n7\r\n"


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("redis://10.0.0.2:6380/3", Address(host="10.0.0.2", port=6380, db=3)),
        ("redis://:secret@host", Address(host="host", password="secret")),
        ("rediss://u:p%40ss@host/1", Address(host="host", tls=True, username="u",
                                              password="p@ss", db=1)),
        ("unix:///run/redis.sock?db=2", Address(path="/run/redis.sock", db=2)),
    ],
)  # fmt: skip
def test_urls(url: str, address: Address) -> None:
    assert Address.from_url(url) == address


def test_a_message_comes_back_as_the_frame_it_was_given_with_its_seq() -> None:
    draft = Message(room="Lobby", from_="alice", text="hi", ts=1.0, seq=0)
    made = op(Posted(draft, frame=encode(draft)), "node")
    assert made is not None
    kind, body, extra = made
    assert (kind, extra) == ("m", ("lobby", "Lobby"))
    numbered = body.replace(b'"seq":0', b'"seq":12')  # as the script numbers it
    payload = b"m" + len(numbered).to_bytes(4, "big") + numbered
    ((found_kind, record),) = records(payload)
    back = change(found_kind, record)
    assert isinstance(back, Posted)
    assert back.message == draft.model_copy(update={"seq": 12})
    assert back.frame == encode(back.message)


async def test_an_unreachable_server_is_a_redis_error() -> None:
    from tests.storage.redis_process import free_port

    with pytest.raises(RedisError):
        await asyncio.wait_for(RedisConnection.open(Address(port=free_port())), 10)
