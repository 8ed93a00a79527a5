"""Graceful shutdown of an in-process server."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from protocol import Bye, Ping, Pong, Say
from tests.server.helpers import close_all, hung_up, serving, sync, welcomed
from tests.wire import WireClient


async def test_shutdown_sends_every_connection_bye_server_shutdown_first() -> None:
    stack = contextlib.AsyncExitStack()
    server = await stack.enter_async_context(serving(rate=0))
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    await bob.join("lobby")
    stranger = await WireClient.connect(server.port)  # never welcomed
    await stranger.send(Ping(token="hi"))
    assert await stranger.expect(Pong) == Pong(token="hi")
    for client in (alice, bob):
        await sync(client)

    started = time.monotonic()
    stopping = asyncio.create_task(stack.aclose())
    for client in (alice, bob, stranger):
        assert await hung_up(client, timeout=5) == [Bye(reason="server_shutdown")]
    await asyncio.wait_for(stopping, 5)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("in_room", [False, True])
async def test_shutdown_completes_right_after_a_client_hung_up(in_room: bool) -> None:
    async with serving() as server:
        (alice,) = await welcomed(server.port, "alice")
        if in_room:
            await alice.join("lobby")
        await alice.close()  # closed on our side, perhaps not yet seen by the server


async def test_shutdown_completes_while_clients_are_hanging_up() -> None:
    async with serving() as server:
        clients = await welcomed(server.port, "a", "b", "c")
        await clients[0].join("lobby")
        await clients[1].join("lobby")
        await clients[0].send(Say(room="lobby", text="bye all"))
        clients[2].writer.close()  # no wait: the server sees this hang-up as it stops
        await close_all(clients[:2])


async def test_shutdown_completes_even_if_a_client_never_reads() -> None:
    stack = contextlib.AsyncExitStack()
    server = await stack.enter_async_context(serving(rate=0, shutdown_grace=0.5))
    alice, sleeper = await welcomed(server.port, "alice", "sleeper")
    await alice.join("lobby")
    await sleeper.join("lobby")
    sleeper.writer.transport.pause_reading()  # type: ignore[attr-defined]
    for i in range(200):
        await alice.send(Say(room="lobby", text="z" * 3000 + str(i)))
    await sync(alice)
    started = time.monotonic()
    stopping = asyncio.create_task(stack.aclose())
    received = await hung_up(alice, timeout=5)
    assert received == [Bye(reason="server_shutdown")]
    await asyncio.wait_for(stopping, 5)
    assert time.monotonic() - started < 5
    sleeper.writer.close()
