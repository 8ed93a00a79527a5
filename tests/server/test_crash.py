"""A server killed under load (``kill -9``) loses nothing any client was sent.

With ``--db`` a message is sent only once its batch is written, and with
``--redis`` only once Redis took it: after a restart every message anyone
received is in the history under the same ``seq``, the ``epoch`` is the same,
and ``seq`` goes on from the last one kept.
"""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import pytest

from protocol import Message, Say
from tests.server.crash import check_nothing_seen_was_lost, full_history, talk
from tests.server.test_cli import BASE_ARGS, chat_server
from tests.storage.redis_process import RedisProcess
from tests.wire import WireClient

ROOMS = ("lobby", "dev")
LOAD = ("--rate", "0", "--history", "100000", "--log-level", "warning")


async def continues(client: WireClient, room: str, last: int) -> None:
    """A new message in ``room`` gets the seq after ``last``."""
    await client.send(Say(room=room, text="after the crash"))
    while True:
        message = await client.recv_until(Message, timeout=15.0)
        if message.text == "after the crash":
            assert message.seq == last + 1
            return


@pytest.mark.parametrize(("seed", "fsync"), [(1, False), (2, False), (3, True), (4, True)])
async def test_a_killed_db_server_kept_every_message_anyone_received(
    tmp_path: Path, seed: int, fsync: bool
) -> None:
    """With --fsync every commit waits for the disk: a long window for a crash."""
    args = (*BASE_ARGS, "--db", str(tmp_path / "hub.db"), *LOAD, *(["--fsync"] if fsync else []))
    async with chat_server(args=args) as server:
        state = await talk([server.port], ROOMS, per_port=4, seed=seed)
        await asyncio.sleep(random.Random(seed).uniform(0.3, 1.2))
        server.process.send_signal(signal.SIGKILL)
        await server.wait(10)
        await state.stop()
    (epoch,) = state.epochs

    async with chat_server(args=args) as server:
        client = await WireClient.connect(server.port)
        assert (await client.hello("checker")).epoch == epoch
        histories = {}
        for room in ROOMS:
            await client.join(room)
            histories[room] = await full_history(client, room)
        check_nothing_seen_was_lost(state, histories)
        for room in ROOMS:
            await continues(client, room, len(histories[room]))
        await client.close()


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_killed_cluster_node_lost_nothing_and_both_nodes_agree(
    redis_server: RedisProcess, seed: int
) -> None:
    redis_server.command("FLUSHALL")
    args = (*BASE_ARGS, "--redis", redis_server.url, *LOAD)
    async with chat_server(args=args) as survivor:
        async with chat_server(args=args) as doomed:
            state = await talk([survivor.port, doomed.port], ROOMS, per_port=2, seed=seed)
            await asyncio.sleep(random.Random(seed).uniform(0.3, 1.2))
            doomed.process.send_signal(signal.SIGKILL)
            await doomed.wait(10)
            await asyncio.sleep(0.3)  # the survivor's clients keep talking meanwhile
            await state.stop()
        (epoch,) = state.epochs

        async with chat_server(args=args) as restarted:
            views = []
            for port, nick in ((survivor.port, "checker1"), (restarted.port, "checker2")):
                client = await WireClient.connect(port)
                assert (await client.hello(nick)).epoch == epoch
                views.append((client, await _histories(client)))
            (one, first), (two, second) = views
            assert first == second, "the survivor and the restarted node disagree"
            check_nothing_seen_was_lost(state, first)
            for room in ROOMS:
                await continues(two, room, len(first[room]))
            for client in (one, two):
                await client.close()


async def _histories(client: WireClient) -> dict[str, list[Message]]:
    histories = {}
    for room in ROOMS:
        await client.join(room)
        histories[room] = await full_history(client, room)
    return histories
