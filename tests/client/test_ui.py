"""The real application on a pipe input and a VT100 output, against a real server."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from chat_client.app import ChatClient
from chat_client.link import Endpoint
from chat_client.reconnect import Backoff, Connection
from chat_server.server import Server, run_server
from protocol import Message, Say
from tests.conftest import loopback_config
from tests.wire import WireClient, connect_welcomed

CTRL_N = "\x0e"
CTRL_P = "\x10"
UP = "\x1b[A"
PAGE_UP = "\x1b[5~"


class Screen(io.StringIO):
    """What the client wrote to the terminal."""


@asynccontextmanager
async def running_client(
    server: Server,
    nick: str = "alice",
    rooms: tuple[str, ...] = ("general",),
    backoff: Backoff | None = None,
) -> AsyncIterator[tuple[ChatClient, PipeInput, Screen]]:
    screen = Screen()
    output = Vt100_Output(screen, lambda: Size(rows=24, columns=100), term="xterm")
    with create_pipe_input() as pipe:
        connection = Connection(Endpoint("127.0.0.1", server.port), nick, backoff=backoff)
        welcome = await connection.connect()
        client = ChatClient(connection, rooms=rooms, input=pipe, output=output)
        task = asyncio.create_task(client.run(welcome))
        try:
            await eventually(lambda: client.state.window.joined or not rooms)
            yield client, pipe, screen
        finally:
            client.quit()
            assert await asyncio.wait_for(task, 5) == 0


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def observer(server: Server, nick: str = "bob") -> WireClient:
    wire = await connect_welcomed(server.port, nick)
    await wire.join("general")
    return wire


async def next_message(wire: WireClient) -> Message:
    return await wire.recv_until(Message)


async def test_typing_a_line_sends_say(server: Server) -> None:
    bob = await observer(server)
    async with running_client(server) as (_, pipe, _):
        pipe.send_text("hello bob\r")
        said = await next_message(bob)
        assert (said.from_, said.room, said.text) == ("alice", "general", "hello bob")
        assert said.id


async def test_incoming_flood_renders_and_half_typed_line_survives() -> None:
    async with run_server(loopback_config(rate=0)) as server:
        await _flood_while_typing(server)


async def _flood_while_typing(server: Server) -> None:
    bob = await observer(server)
    async with running_client(server) as (client, pipe, screen):
        pipe.send_text("half typ")
        await eventually(lambda: client.app.current_buffer.text == "half typ")
        for n in range(300):
            await bob.send(Say(room="general", text=f"flood-{n}"))
        await eventually(lambda: "flood-299" in screen.getvalue())
        assert client.app.current_buffer.text == "half typ"
        pipe.send_text("ed\r")
        while (said := await next_message(bob)).from_ != "alice":
            pass
        assert said.text == "half typed"


async def test_join_and_ctrl_n_switch_rooms(server: Server) -> None:
    async with running_client(server) as (client, pipe, _):
        state = client.state
        pipe.send_text("/join lobby\r")
        await eventually(lambda: state.window.name == "lobby" and state.window.joined)
        names = [w.name for w in state.windows]
        assert names == ["status", "general", "lobby"]
        pipe.send_text(CTRL_N)
        await eventually(lambda: state.window.name == "status")
        pipe.send_text(CTRL_N)
        await eventually(lambda: state.window.name == "general")
        pipe.send_text(CTRL_P)
        await eventually(lambda: state.window.name == "status")
        pipe.send_text("\x1b3")
        await eventually(lambda: state.window.name == "lobby")


async def test_tab_completes_a_nick_of_the_room(server: Server) -> None:
    bob = await observer(server, "bobby")
    async with running_client(server) as (client, pipe, _):
        await eventually(lambda: "bobby" in client.state.window.members.values())
        pipe.send_text("bo\t")
        await eventually(lambda: client.app.current_buffer.text == "bobby: ")
        pipe.send_text("hi\r")
        said = await next_message(bob)
        assert said.text == "bobby: hi"


async def test_unknown_command_sends_nothing_and_says_so(server: Server) -> None:
    bob = await observer(server)
    async with running_client(server) as (_, pipe, screen):
        pipe.send_text("/frobnicate\r")
        pipe.send_text("after\r")
        said = await next_message(bob)
        assert said.text == "after"
        await eventually(lambda: "unknown command: /frobnicate" in screen.getvalue())


async def test_multi_line_paste_is_one_message(server: Server) -> None:
    bob = await observer(server)
    async with running_client(server) as (_, pipe, _):
        pipe.send_text("\x1b[200~first line\r\nsecond line\x1b[201~\r")
        said = await next_message(bob)
        assert said.text == "first line\nsecond line"


async def test_hostile_text_reaches_the_terminal_inert(server: Server) -> None:
    bob = await observer(server)
    async with running_client(server) as (_, _, screen):
        await bob.send(Say(room="general", text="evil\x1b]52;c;aGk=\x07\x1b[2J\u202eend"))
        await eventually(lambda: "end" in screen.getvalue())
        written = screen.getvalue()
        assert "\x1b]52" not in written
        assert "\u202e" not in written
        assert "\x07" not in written
        assert "^[]52;c;aGk=^G^[[2J<U+202E>end" in written.replace("\x1b[0m", "")


async def test_presence_is_shown(server: Server) -> None:
    async with running_client(server) as (client, _, _):
        carol = await connect_welcomed(server.port, "carol")
        await carol.join("general")
        await eventually(
            lambda: any("carol has joined" in line.text for line in client.state.window.lines)
        )
        await carol.close()
        await eventually(lambda: "carol has quit" in client.state.window.lines[-1].text)


async def test_up_arrow_recalls_the_previous_line(server: Server) -> None:
    bob = await observer(server)
    async with running_client(server) as (client, pipe, _):
        pipe.send_text("first\r")
        assert (await next_message(bob)).text == "first"
        # prompt_toolkit reloads a buffer's history on the next redraw after Enter;
        # nobody presses Up within a redraw interval (0.05 s), so neither do we.
        await asyncio.sleep(0.2)
        pipe.send_text(UP)
        await eventually(lambda: client.app.current_buffer.text == "first")
        pipe.send_text(" again\r")
        assert (await next_message(bob)).text == "first again"


async def test_page_up_at_the_top_loads_older_history() -> None:
    async with run_server(loopback_config(rate=0)) as server:
        bob = await observer(server)
        for n in range(1, 121):
            await bob.send(Say(room="general", text=f"old-{n}"))
        while (await next_message(bob)).text != "old-120":
            pass
        async with running_client(server) as (client, pipe, screen):
            window = client.state.window
            assert window.first_seq == 71
            for _ in range(20):
                pipe.send_text(PAGE_UP)
                await asyncio.sleep(0.02)
                if window.first_seq == 1:
                    break
            await eventually(lambda: window.first_seq == 1)
            seqs = [line.seq for line in window.lines if line.seq is not None]
            assert seqs == list(range(1, 121))
            await eventually(lambda: "-- more (" in screen.getvalue())


async def test_topic_who_and_list_show_what_the_server_says(server: Server) -> None:
    bob = await observer(server)
    async with running_client(server) as (client, pipe, screen):
        pipe.send_text("/topic launch at noon\r")
        await eventually(lambda: client.state.window.topic == "launch at noon")
        await eventually(lambda: " launch at noon" in screen.getvalue())
        pipe.send_text("/who\r")
        await eventually(lambda: "general (2): " in client.state.window.lines[-1].text)
        names = set(client.state.window.lines[-1].text.split(": ")[-1].split())
        assert names == {"alice", "@bob"}, "bob made the room: its op"
        pipe.send_text("/list\r")
        await eventually(
            lambda: "general (2)  launch at noon" in client.state.window.lines[-1].text
        )
        await bob.close()


async def test_a_mention_rings_the_terminal_bell_unless_turned_off(server: Server) -> None:
    bob = await observer(server)
    async with running_client(server) as (client, pipe, screen):
        await bob.send(Say(room="general", text="no names here"))
        await eventually(lambda: "no names here" in screen.getvalue())
        assert "\a" not in screen.getvalue()
        await bob.send(Say(room="general", text="Alice: lunch?"))
        await eventually(lambda: "\a" in screen.getvalue())
        pipe.send_text("/bell off\r")
        await eventually(lambda: client.state.bell == "off")
        rings = screen.getvalue().count("\a")
        await bob.send(Say(room="general", text="alice, still there?"))
        await eventually(lambda: "still there?" in screen.getvalue())
        assert screen.getvalue().count("\a") == rings


async def test_reconnect_fetches_what_was_missed_without_duplicates() -> None:
    """57 messages go by while alice is away: more than joined.history's 50."""
    async with run_server(loopback_config(rate=0)) as server:
        bob = await observer(server)
        one_second = Backoff(initial=1.0, jitter=0.0)
        async with running_client(server, backoff=one_second) as (client, pipe, screen):
            window = client.state.window
            for n in range(1, 4):
                await bob.send(Say(room="general", text=f"m-{n}"))
            await eventually(lambda: window.last_seq == 3)
            pipe.send_text("/reconnect\r")
            await eventually(lambda: client.state.connection.startswith("reconnecting"))
            for n in range(4, 61):
                await bob.send(Say(room="general", text=f"m-{n}"))
            while (await next_message(bob)).text != "m-60":
                pass
            await eventually(lambda: window.last_seq == 60)
            await eventually(lambda: "m-60" in screen.getvalue())
            shown = [line.text.split("> ")[-1] for line in window.lines if line.seq is not None]
            assert shown == [f"m-{n}" for n in range(1, 61)]
            assert client.state.connection == "connected"


async def test_restart_with_durable_history_shows_nothing_twice(tmp_path: Path) -> None:
    """Same epoch after the restart: joined.history repeats what alice saw; she shows it once."""
    config = loopback_config(rate=0, db=str(tmp_path / "chat.db"))
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(run_server(config))
        port = first.port
        bob = await observer(first)
        quick = Backoff(initial=0.2, jitter=0.0)
        client, _, _ = await stack.enter_async_context(running_client(first, backoff=quick))
        window = client.state.window
        epoch = client.state.epoch
        for n in range(1, 4):
            await bob.send(Say(room="general", text=f"m-{n}"))
        await eventually(lambda: window.last_seq == 3)
        await first.shutdown()
        await eventually(lambda: client.state.connection.startswith("reconnecting"))
        second = await stack.enter_async_context(run_server(config.replace(port=port)))
        await eventually(lambda: client.state.connection == "connected" and window.joined)
        assert client.state.epoch == epoch
        bob = await observer(second)
        await bob.send(Say(room="general", text="m-4"))
        await eventually(lambda: window.last_seq == 4)
        shown = [line.text.split("> ")[-1] for line in window.lines if line.seq is not None]
        assert shown == ["m-1", "m-2", "m-3", "m-4"]
        assert not any("history was reset" in line.text for line in window.lines)
