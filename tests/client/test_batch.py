"""Batch mode exactly as CLI.md states it, with real processes and pipes."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from subprocess import PIPE

import pytest

from protocol import Message, Presence, Say
from tests.wire import connect_welcomed

from .processes import CLIENT, ChatServer, read_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer("--rate", "5", "--burst", "10").start()
    try:
        yield server
    finally:
        server.kill()


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLIENT, *args], input=stdin, capture_output=True, text=True, timeout=30, check=False
    )


def listener(server: ChatServer, nick: str = "ears") -> subprocess.Popen[bytes]:
    """A batch client that stays connected while its stdin is open."""
    process = subprocess.Popen(
        [CLIENT, f"127.0.0.1:{server.port}", "--nick", nick, "--room", "general"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(b"/me is listening\n")
    process.stdin.flush()
    read_until(process.stdout, f"general \\* {nick} is listening")
    return process


def finish(process: subprocess.Popen[bytes]) -> int:
    assert process.stdin is not None
    process.stdin.close()
    try:
        return process.wait(10)
    finally:
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_echo_hello_is_said_printed_and_exits_0(chat_server: ChatServer) -> None:
    ears = listener(chat_server)
    try:
        assert ears.stdout is not None
        done = run(
            f"127.0.0.1:{chat_server.port}", "--nick", "bot", "--room", "general", stdin="hello\n"
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == "general <bot> hello\n"
        read_until(ears.stdout, "general <bot> hello\n")
    finally:
        assert finish(ears) == 0


def test_commands_actions_whispers_and_hostile_text(chat_server: ChatServer) -> None:
    ears = listener(chat_server)
    try:
        assert ears.stdout is not None
        lines = "/me waves\n/msg ears psst\n//slash\nbell\x07 and \x1b[2J\u202e\n/nonsense\n"
        done = run(
            f"127.0.0.1:{chat_server.port}", "--nick", "bot", "--room", "general", stdin=lines
        )
        assert done.returncode == 1  # /nonsense could not be sent
        assert done.stdout.splitlines() == [
            "general * bot waves",
            "*bot* psst",
            "general <bot> /slash",
            "general <bot> bell^G and ^[[2J<U+202E>",
        ]
        assert "unknown command: /nonsense" in done.stderr
        heard = read_until(ears.stdout, r"<U\+202E>\n")
        assert "general * bot waves\n*bot* psst\ngeneral <bot> /slash\n" in heard
        assert "\x1b" not in heard
        assert "\x07" not in heard
    finally:
        finish(ears)


def test_input_beyond_the_rate_limit_is_delivered_whole_and_in_order(
    chat_server: ChatServer,
) -> None:
    lines = "".join(f"line {n}\n" for n in range(30))
    done = run(f"127.0.0.1:{chat_server.port}", "--nick", "bot", "--room", "general", stdin=lines)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"general <bot> line {n}" for n in range(30)]


async def test_multi_line_message_prints_one_line_per_text_line(chat_server: ChatServer) -> None:
    ears = listener(chat_server)
    try:
        assert ears.stdout is not None
        poet = await connect_welcomed(chat_server.port, "poet")
        await poet.join("general")
        await poet.send(Say(room="general", text="roses\nviolets\x1b[31m"))
        heard = read_until(ears.stdout, "violets.*\n")
        assert heard.endswith("general <poet> roses\ngeneral <poet> violets^[[31m\n")
        await poet.close()
    finally:
        finish(ears)


async def test_every_room_is_joined_and_the_first_gets_the_lines(
    chat_server: ChatServer,
) -> None:
    watcher = await connect_welcomed(chat_server.port, "watcher")
    await watcher.join("general")
    await watcher.join("dev")
    bot = await asyncio.create_subprocess_exec(
        CLIENT, f"127.0.0.1:{chat_server.port}", "--nick", "bot", "--room", "dev",
        "--room", "general", stdin=PIPE, stdout=PIPE, stderr=PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(bot.communicate(b"to dev\n"), 30)
    assert bot.returncode == 0
    assert out == b"dev <bot> to dev\n"
    seen: list[tuple[str, str]] = []
    while len(seen) < 2:
        presence = await watcher.recv_until(Presence)
        if presence.event == "join":
            seen.append((presence.room, presence.nick))
    assert sorted(seen) == [("dev", "bot"), ("general", "bot")]
    said = await watcher.recv_until(Message)
    assert (said.room, said.text) == ("dev", "to dev")
    await watcher.close()


def test_without_nick_exits_2_with_one_line() -> None:
    done = run("127.0.0.1:1", "--room", "general", stdin="hello\n")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("chat-client: error:")
    assert "--nick" in done.stderr.strip().splitlines()[-1]


def test_cannot_connect_exits_1() -> None:
    done = run("127.0.0.1:1", "--nick", "bot", "--room", "general", stdin="hello\n")
    assert done.returncode == 1
    assert (
        done.stderr
        == "chat-client: connection refused by 127.0.0.1:1 (is chat-server running there?)\n"
    )


def test_connection_lost_exits_1(chat_server: ChatServer) -> None:
    ears = listener(chat_server)
    chat_server.stop()
    assert ears.wait(10) == 1
    assert ears.stderr is not None
    assert b"connection lost" in ears.stderr.read()
    finish(ears)


def test_python_m_chat_client_is_the_same_program(chat_server: ChatServer) -> None:
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chat_client",
            f"127.0.0.1:{chat_server.port}",
            "--nick",
            "bot",
            "--room",
            "general",
        ],
        input="via -m\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout == "general <bot> via -m\n"


def test_more_rooms_than_the_servers_burst_are_all_joined(chat_server: ChatServer) -> None:
    rooms = [f"r{n}" for n in range(14)]  # the server's burst is 10, and a join costs one
    args = [arg for room in rooms for arg in ("--room", room)]
    done = run(f"127.0.0.1:{chat_server.port}", "--nick", "bot", *args, stdin="hello\n")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == "r0 <bot> hello\n"


def test_a_line_with_no_room_to_go_to_exits_1_saying_why(chat_server: ChatServer) -> None:
    done = run(f"127.0.0.1:{chat_server.port}", "--nick", "bot", stdin="hello\n")
    assert done.returncode == 1
    assert "you are not in a room" in done.stderr
    assert done.stdout == ""


def test_a_whisper_to_an_unknown_nick_exits_1_saying_why(chat_server: ChatServer) -> None:
    lines = "before\n/msg nobody psst\nafter\n"
    done = run(f"127.0.0.1:{chat_server.port}", "--nick", "bot", "--room", "general", stdin=lines)
    assert done.returncode == 1
    assert "(no_such_nick)" in done.stderr
    assert done.stdout.splitlines() == ["general <bot> before", "general <bot> after"]


def test_a_missing_password_is_reported_as_missing_not_wrong() -> None:
    server = ChatServer("--password", "sesame").start()
    try:
        address = f"127.0.0.1:{server.port}"
        missing = run(address, "--nick", "bot", "--room", "general", stdin="hi\n")
        assert missing.returncode == 1
        assert "needs a password" in missing.stderr
        assert "wrong" not in missing.stderr
        wrong = run(address, "--nick", "bot", "--password", "nope", stdin="hi\n")
        assert wrong.returncode == 1
        assert "wrong password" in wrong.stderr
    finally:
        server.kill()


def test_a_line_longer_than_max_text_is_split_at_word_boundaries() -> None:
    server = ChatServer("--max-text", "20").start()
    try:
        line = "the quick brown fox jumps over the lazy dog again\n"
        done = run(f"127.0.0.1:{server.port}", "--nick", "bot", "--room", "general", stdin=line)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "general <bot> the quick brown fox",
            "general <bot> jumps over the lazy",
            "general <bot> dog again",
        ]
    finally:
        server.kill()
