"""The real chat-client in a terminal (tmux, pexpect) against the real chat-server."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pexpect
import pytest

from chat_client.events import Connected, Disconnected, Event
from chat_client.link import Endpoint
from chat_client.reconnect import Backoff, Connection

from .helpers import Recorder
from .processes import CLIENT, ChatServer, Tmux

pytestmark = pytest.mark.timeout(90)

ALT_3 = "M-3"


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer().start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def tmux(request: pytest.FixtureRequest) -> Iterator[Tmux]:
    terminals = Tmux(request.node.name[:20])
    try:
        yield terminals
    finally:
        terminals.close()


def test_two_clients_chat_whisper_rename_and_survive_a_server_restart(
    chat_server: ChatServer, tmux: Tmux
) -> None:
    address = f"127.0.0.1:{chat_server.port}"
    tmux.start("alice", [CLIENT, address, "--nick", "alice", "--room", "general", "--room", "dev"])
    tmux.wait_for("alice", "you joined general")
    tmux.start("bob", [CLIENT, address, "--nick", "bob", "--room", "general", "--room", "dev"])
    tmux.wait_for("alice", "bob has joined general")

    # Room one.
    tmux.type("alice", "hi bob")
    tmux.wait_for("bob", "<alice> hi bob")

    # Room two: alice moves there with Ctrl-N; bob sees activity, then Alt-3.
    tmux.keys("alice", "C-n")
    tmux.wait_for("alice", "[dev]")
    tmux.type("alice", "over in dev")
    tmux.wait_for("bob", "3:dev(1)")
    tmux.keys("bob", ALT_3)
    tmux.wait_for("bob", "<alice> over in dev")

    # A whisper opens a private window.
    tmux.type("bob", "/msg alice psst")
    tmux.wait_for("alice", "4:bob(1,!1)")
    tmux.type("alice", "/switch bob")
    tmux.wait_for("alice", "*bob* psst")

    # A nick change reaches the other side.
    tmux.type("bob", "/nick robert")
    tmux.wait_for("alice", "bob is now known as robert")
    tmux.wait_for("bob", "[robert]")

    # The server restarts on the same port; both come back by themselves.
    chat_server.stop()
    tmux.wait_for("alice", "disconnected")
    tmux.wait_for("bob", "reconnecting")
    chat_server.start()
    tmux.wait_for("alice", "reconnected", timeout=20)
    tmux.wait_for("bob", "reconnected", timeout=20)
    tmux.type("alice", "/switch dev")
    tmux.keys("bob", ALT_3)
    tmux.type("bob", "back again")
    tmux.wait_for("alice", "<robert> back again")
    tmux.type("alice", "welcome back")
    tmux.wait_for("bob", "<alice> welcome back")

    tmux.type("alice", "/quit")
    tmux.wait_for("alice", "exit=0")
    tmux.wait_for("bob", "alice has quit")


def _spawn(*args: str, env: dict[str, str] | None = None) -> pexpect.spawn:
    return pexpect.spawn(
        CLIENT,
        list(args),
        env={**os.environ, "TERM": "xterm", **(env or {})},
        dimensions=(24, 100),
        timeout=10,
        encoding="utf-8",
    )


def test_asks_for_a_nick_suggesting_the_login_and_again_when_taken(
    chat_server: ChatServer,
) -> None:
    address = f"127.0.0.1:{chat_server.port}"
    holder = _spawn(address, "--nick", "alice")
    holder.expect("connected to")
    client = _spawn(address, env={"LOGNAME": "alice", "USER": "alice"})
    try:
        client.expect("nick: ")
        client.expect("alice")
        client.send("\r")
        client.expect("taken")
        client.expect("nick: ")
        client.expect("alice_")
        client.send("\r")
        client.expect(r"\[alice_\]")
        client.send("/quit\r")
        client.expect(pexpect.EOF)
        client.close()
        assert client.exitstatus == 0
    finally:
        client.close(force=True)
        holder.close(force=True)


def test_refused_connection_is_one_line_and_exit_1() -> None:
    client = _spawn("127.0.0.1:1", "--nick", "alice")
    client.expect(pexpect.EOF)
    client.close()
    assert client.exitstatus == 1
    assert "connection refused by 127.0.0.1:1" in str(client.before)


def test_wrong_password_is_one_line_and_exit_1() -> None:
    server = ChatServer("--password", "sesame").start()
    try:
        client = _spawn(f"127.0.0.1:{server.port}", "--nick", "alice", "--password", "nope")
        client.expect("wrong password")
        client.expect(pexpect.EOF)
        client.close()
        assert client.exitstatus == 1
    finally:
        server.kill()


async def test_a_server_that_goes_silent_is_given_up_and_reconnected(
    chat_server: ChatServer,
) -> None:
    """SIGSTOP freezes the real server: the socket stays open but nothing answers."""
    events: Recorder[Event] = Recorder()
    connection = Connection(
        Endpoint("127.0.0.1", chat_server.port),
        "alice",
        on_event=events,
        idle=0.3,
        backoff=Backoff(initial=0.1, maximum=0.2),
    )
    await connection.connect()
    reader = asyncio.create_task(connection.run())
    assert chat_server.process is not None
    chat_server.process.send_signal(signal.SIGSTOP)
    try:
        await events.wait_for(lambda items: any(isinstance(e, Disconnected) for e in items))
        lost = next(e for e in events.items if isinstance(e, Disconnected))
        assert lost.reason == "no answer from the server for 0.6s"
    finally:
        chat_server.process.send_signal(signal.SIGCONT)
    await events.wait_for(lambda items: isinstance(items[-1], Connected), timeout=10)
    await connection.quit()
    await asyncio.wait_for(reader, 5)
