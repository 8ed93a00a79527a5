"""Shared helpers for the server's integration tests over loopback sockets."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from chat_server.server import Server, run_server
from protocol import Error, Ping, Pong, ServerMessage, frame
from tests.conftest import loopback_config
from tests.wire import WireClient, connect_welcomed

_tokens = itertools.count()
#: Seconds for a change to go through a loopback Redis and back, with margin.
SHARED_SETTLE = 0.05


def shared_store() -> bool:
    """Whether this test's servers share their state through Redis."""
    return loopback_config().redis is not None


@asynccontextmanager
async def serving(**changes: object) -> AsyncIterator[Server]:
    """A running server on a free loopback port with ``changes`` to the defaults."""
    async with run_server(loopback_config(**changes)) as server:
        yield server


async def sync(client: WireClient, timeout: float = 5.0) -> list[ServerMessage]:
    """Every message the server queued for ``client`` before now.

    Sends a ``ping`` with a fresh token and returns what arrived before its
    ``pong``: once the server has handled an earlier event, anything it caused
    for this client is already queued ahead of the pong.  On a shared store
    (Redis) messages, topics and nick claims come back through Redis, after a
    pong that was sent at once, so first give them a moment to arrive.
    """
    if shared_store():
        await asyncio.sleep(SHARED_SETTLE)
    token = f"sync-{next(_tokens)}"
    await client.send(Ping(token=token))
    received: list[ServerMessage] = []

    async def collect() -> None:
        while True:
            message = await client.recv(timeout)
            if isinstance(message, Pong) and message.token == token:
                return
            received.append(message)

    await asyncio.wait_for(collect(), timeout)
    return received


async def welcomed(port: int, *nicks: str) -> list[WireClient]:
    return [await connect_welcomed(port, nick) for nick in nicks]


async def close_all(clients: list[WireClient]) -> None:
    for client in clients:
        await client.close()


async def send_json(client: WireClient, obj: Any) -> None:
    """Send any JSON value as one frame, bypassing the models' validation."""
    await client.send_raw(frame(json.dumps(obj).encode()))


async def expect_error(
    client: WireClient, code: str, *, ref: str | None = None, id: str | None = None
) -> Error:
    error = await client.expect(Error)
    assert error.code == code, f"expected error {code}, got {error!r}"
    if ref is not None:
        assert error.ref == ref, f"expected ref {ref}, got {error!r}"
    if id is not None:
        assert error.id == id, f"expected id {id}, got {error!r}"
    return error


async def still_open(client: WireClient) -> None:
    """Assert the connection still answers a ping (and nothing else was pending)."""
    assert await sync(client) == []


async def hung_up(client: WireClient, timeout: float = 5.0) -> list[ServerMessage]:
    """Read until the server closes ``client``, then close our end too.

    Returns every message received on the way; fails on timeout if the server
    never closes the connection.
    """
    received = await client.closed(timeout=timeout)
    await client.close()
    return received
