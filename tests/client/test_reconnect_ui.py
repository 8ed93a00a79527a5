"""The interactive client against a real loopback server when the connection comes and goes.

The countdown to the next attempt, the nick taken back, lines typed while
offline, a server killed with SIGKILL, and the replies that follow a refused
whisper or a long text.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from chat_client.app import ChatClient
from chat_client.link import Endpoint
from chat_client.reconnect import Backoff, Connection
from chat_client.replay import RESTART_RULE
from chat_server.server import Server, run_server
from protocol import Error, Hello, Say, Welcome
from tests.conftest import loopback_config
from tests.wire import WireClient, connect_welcomed

from .processes import ChatServer
from .test_ui import Screen, eventually, next_message, observer, running_client

pytestmark = pytest.mark.timeout(60)

ONE_SECOND = Backoff(initial=1.0, jitter=0.0)


async def test_the_reconnect_countdown_counts_down() -> None:
    async with run_server(loopback_config()) as server:
        ten = Backoff(initial=10.0, jitter=0.0)
        async with running_client(server, backoff=ten) as (client, _, screen):
            await server.shutdown()
            await eventually(lambda: "reconnecting in 10s (try 1)" in screen.getvalue())
            drawn = client.app.render_counter
            # Nothing else happens for ten seconds, yet the status bar is drawn
            # again every second, each time with a smaller number.
            await asyncio.sleep(2.5)
            assert client.app.render_counter >= drawn + 2
            assert client.state.connection in {
                f"reconnecting in {left}s (try 1)" for left in (6, 7, 8)
            }


async def _take_nick(port: int, nick: str) -> WireClient:
    """Connect as ``nick`` as soon as the server lets it go."""
    for _ in range(100):
        wire = await WireClient.connect(port)
        await wire.send(Hello(nick=nick, protocol=1))
        answer = await wire.recv()
        if isinstance(answer, Welcome):
            return wire
        assert isinstance(answer, Error), answer
        assert answer.code == "nick_taken", answer
        await wire.close()
        await asyncio.sleep(0.02)
    raise AssertionError(f"{nick} never came free")


async def test_a_nick_taken_during_a_reconnect_is_said_everywhere_and_taken_back() -> None:
    async with (
        run_server(loopback_config(rate=0)) as server,
        running_client(server, nick="dave", backoff=ONE_SECOND) as (client, pipe, _),
    ):
        state = client.state
        pipe.send_text("/reconnect\r")
        await eventually(lambda: state.link == "waiting")
        thief = await _take_nick(server.port, "dave")
        await thief.join("general")
        await eventually(lambda: state.nick == "dave_" and state.window.joined, 10.0)
        for window in state.windows:
            assert any("dave is taken: you are dave_" in line.text for line in window.lines)
        await thief.close()
        await eventually(lambda: state.nick == "dave")
        assert any("you are dave again" in line.text for line in state.status.lines)
        assert client.connection.nick == "dave"


async def test_the_nick_is_taken_back_when_its_holder_shares_no_room(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("chat_client.app.NICK_RETRY_INTERVAL", 0.2)
    async with (
        run_server(loopback_config(rate=0)) as server,
        running_client(server, nick="dave", backoff=ONE_SECOND) as (client, pipe, _),
    ):
        pipe.send_text("/reconnect\r")
        await eventually(lambda: client.state.link == "waiting")
        thief = await _take_nick(server.port, "dave")
        await eventually(lambda: client.state.nick == "dave_", 10.0)
        await thief.close()
        await eventually(lambda: client.state.nick == "dave")
        errors = [x.text for window in client.state.windows for x in window.lines]
        assert not any("nick_taken" in text for text in errors)  # the tries are not shown


async def test_lines_typed_while_disconnected_are_sent_in_order_after_the_reconnect() -> None:
    async with run_server(loopback_config(rate=0)) as server:
        bob = await observer(server)
        async with running_client(server, backoff=ONE_SECOND) as (client, pipe, screen):
            state = client.state
            pipe.send_text("/reconnect\r")
            await eventually(lambda: state.link == "waiting")
            for text in ("first", "second", "third"):
                pipe.send_text(f"{text}\r")
            await eventually(lambda: len(state.outbox) == 3)
            queued = [line.text for line in state.window.lines if "(queued)" in line.text]
            assert [text.split("(queued) ")[1] for text in queued] == ["first", "second", "third"]
            await eventually(lambda: "(queued) third" in screen.getvalue())
            said = [(await next_message(bob)).text for _ in range(3)]
            assert said == ["first", "second", "third"]
            await eventually(lambda: not any("(queued)" in x.text for x in state.window.lines))
            assert len(state.outbox) == 0


async def test_a_whisper_to_an_unknown_nick_leaves_no_window_behind(server: Server) -> None:
    async with running_client(server) as (client, pipe, _):
        state = client.state
        general = state.window
        pipe.send_text("/msg nosuchnick hello\r")
        await eventually(lambda: any("(no_such_nick)" in x.text for x in general.lines))
        assert state.window is general
        assert state.find("nosuchnick", "query") is None
        pipe.send_text("/who\r")
        # alice made the room: its op, shown as @alice
        await eventually(lambda: "general (1): @alice" in state.window.lines[-1].text)


async def test_a_text_longer_than_max_text_arrives_as_several_messages() -> None:
    async with run_server(loopback_config(max_text=20)) as server:
        bob = await observer(server)
        async with running_client(server) as (_, pipe, _):
            pipe.send_text("the quick brown fox jumps over the lazy dog again\r")
            said = [(await next_message(bob)).text for _ in range(3)]
            assert said == ["the quick brown fox", "jumps over the lazy", "dog again"]


async def test_joining_with_room_never_says_no_rooms_yet_join_one() -> None:
    async with (
        run_server(loopback_config()) as server,
        running_client(server, rooms=("fresh",)) as (client, _, _),
    ):
        status = [line.text for line in client.state.status.lines]
        assert not any("/join ROOM creates one" in text for text in status)
        assert any("joining fresh creates it" in text for text in status)


@asynccontextmanager
async def client_on(port: int) -> AsyncIterator[tuple[ChatClient, PipeInput, Screen]]:
    screen = Screen()
    output = Vt100_Output(screen, lambda: Size(rows=24, columns=100), term="xterm")
    with create_pipe_input() as pipe:
        backoff = Backoff(initial=0.3, maximum=0.5, jitter=0.0)
        connection = Connection(Endpoint("127.0.0.1", port), "alice", backoff=backoff)
        welcome = await connection.connect()
        client = ChatClient(connection, rooms=("general",), input=pipe, output=output)
        task = asyncio.create_task(client.run(welcome))
        try:
            await eventually(lambda: client.state.window.joined)
            yield client, pipe, screen
        finally:
            client.quit()
            assert await asyncio.wait_for(task, 5) == 0


async def test_a_server_killed_with_sigkill_never_makes_a_line_show_twice(
    tmp_path: Path,
) -> None:
    server = ChatServer("--db", str(tmp_path / "chat.db"), "--rate", "0").start()
    try:
        async with client_on(server.port) as (client, _, _):
            window = client.state.window
            epoch = client.state.epoch
            bob = await connect_welcomed(server.port, "bob")
            await bob.join("general")
            for n in (1, 2, 3):
                await bob.send(Say(room="general", text=f"m-{n}"))
            await eventually(lambda: window.last_seq == 3)
            await asyncio.sleep(0.5)  # the store commits in batches
            assert server.process is not None
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(5)
            server.start()
            await eventually(lambda: client.state.link == "connected" and window.joined, 15.0)
            bob = await connect_welcomed(server.port, "bob")
            await bob.join("general")
            await bob.send(Say(room="general", text="m-4"))
            await eventually(lambda: any("m-4" in line.text for line in window.lines))
            said = [line.text.split("> ")[-1] for line in window.lines if "<bob>" in line.text]
            assert said == ["m-1", "m-2", "m-3", "m-4"]
            rules = [line.text for line in window.lines if line.text == RESTART_RULE]
            assert len(rules) == (0 if client.state.epoch == epoch else 1)
            await bob.close()
    finally:
        server.kill()
