from __future__ import annotations

import asyncio
import socket

import pytest

from chat_client.events import Connected, Disconnected, Event, Incoming, Retrying
from chat_client.link import ConnectFailed, Endpoint, Refused, alternative_nick
from chat_client.reconnect import Backoff, Connection
from chat_server.server import run_server
from protocol import Join, Joined
from tests.conftest import loopback_config

from .helpers import Recorder


def test_backoff_doubles_from_one_second_to_thirty() -> None:
    delays = Backoff(random=lambda: 0.0).delays()
    assert [next(delays) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_backoff_jitter_only_shortens_and_stays_within_a_quarter() -> None:
    shortest = Backoff(random=lambda: 0.999999).delays()
    schedule = [next(shortest) for _ in range(7)]
    for got, base in zip(schedule, [1, 2, 4, 8, 16, 30, 30], strict=True):
        assert base * 0.75 <= got < base


def test_alternative_nick_stays_valid() -> None:
    assert alternative_nick("alice") == "alice_"
    assert alternative_nick("x" * 32) == "x" * 31 + "_"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Stop(Exception):
    pass


async def test_reconnect_follows_the_backoff_schedule_on_a_fake_clock() -> None:
    """A connection whose server vanished retries at 1, 2, 4, 8, 16, 30 s (no jitter)."""
    slept: list[float] = []
    events: list[Event] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)
        if len(slept) == 7:
            raise _Stop

    connection = Connection(
        Endpoint("127.0.0.1", _closed_port()),
        "alice",
        on_event=events.append,
        backoff=Backoff(random=lambda: 0.0),
        sleep=fake_sleep,
    )
    with pytest.raises(_Stop):
        await asyncio.wait_for(connection.run(), 10)
    assert slept == [1, 2, 4, 8, 16, 30, 30]
    retries = [e for e in events if isinstance(e, Retrying)]
    assert [r.attempt for r in retries] == [1, 2, 3, 4, 5, 6, 7]
    assert "connection refused" in retries[1].error


async def test_connect_refused_is_one_clear_line() -> None:
    connection = Connection(Endpoint("127.0.0.1", _closed_port()), "alice")
    with pytest.raises(ConnectFailed, match=r"connection refused by 127\.0\.0\.1:"):
        await connection.connect()


async def test_connect_to_unknown_host_says_so() -> None:
    connection = Connection(Endpoint("no-such-host.invalid", 7878), "alice", timeout=5)
    with pytest.raises(ConnectFailed, match=r"cannot resolve host 'no-such-host\.invalid'"):
        await connection.connect()


async def test_wrong_password_is_refused_with_auth_failed() -> None:
    async with run_server(loopback_config(password="sesame")) as server:
        connection = Connection(Endpoint("127.0.0.1", server.port), "alice", password="nope")
        with pytest.raises(Refused) as caught:
            await connection.connect()
        assert caught.value.code == "auth_failed"
        connection.password = "sesame"
        welcome = await connection.connect()
        assert welcome.nick == "alice"
        await connection.quit()


async def test_nick_taken_is_refused_and_alternative_accepted() -> None:
    async with run_server(loopback_config()) as server:
        endpoint = Endpoint("127.0.0.1", server.port)
        first = Connection(endpoint, "alice")
        await first.connect()
        second = Connection(endpoint, "ALICE")
        with pytest.raises(Refused) as caught:
            await second.connect()
        assert caught.value.code == "nick_taken"
        second.nick = alternative_nick("alice")
        assert (await second.connect()).nick == "alice_"
        await first.quit()
        await second.quit()


async def test_server_pings_are_answered() -> None:
    """With a 0.2 s ping interval and 0.6 s timeout, silence for 1.5 s would be fatal."""
    config = loopback_config(ping_interval=0.2, ping_timeout=0.6)
    async with run_server(config) as server:
        events: list[Event] = []
        connection = Connection(Endpoint("127.0.0.1", server.port), "alice", on_event=events.append)
        await connection.connect()
        reader = asyncio.create_task(connection.run())
        await asyncio.sleep(1.5)
        assert connection.online
        assert not [e for e in events if isinstance(e, Disconnected)]
        await connection.quit()
        await asyncio.wait_for(reader, 5)


async def test_reconnects_after_server_restart_on_the_same_port() -> None:
    events: Recorder[Event] = Recorder()

    def joined(items: list[Event]) -> bool:
        return (
            bool(items)
            and isinstance(items[-1], Incoming)
            and isinstance(items[-1].message, Joined)
        )

    async with run_server(loopback_config()) as server:
        port = server.port
        connection = Connection(
            Endpoint("127.0.0.1", port),
            "alice",
            on_event=events,
            backoff=Backoff(initial=0.05, maximum=0.2),
        )
        await connection.connect()
        reader = asyncio.create_task(connection.run())
        connection.send(Join(room="general"))
        await events.wait_for(joined)
    try:
        async with run_server(loopback_config(port=port)):
            await events.wait_for(lambda items: isinstance(items[-1], Connected), timeout=10)
            lost = next(e for e in events.items if isinstance(e, Disconnected))
            assert "server_shutdown" in lost.reason
            again = events.items[-1]
            assert isinstance(again, Connected)
            assert again.again
            assert again.welcome.nick == "alice"
            assert connection.send(Join(room="general"))
            await events.wait_for(joined)
            await connection.quit()
    finally:
        reader.cancel()
