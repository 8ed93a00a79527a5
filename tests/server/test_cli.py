"""The real chat-server process: its output line, options, environment and signals."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from protocol import Bye, Error, Message, Ping, Pong, Say
from tests.conftest import TlsFiles
from tests.server.helpers import close_all, expect_error, hung_up, send_json, sync, welcomed
from tests.wire import WireClient

LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
BASE_ARGS = ("--host", "127.0.0.1", "--port", "0")


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any CHAT_ setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    process: asyncio.subprocess.Process
    port: int
    stderr: IO[bytes]

    def log(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    async def wait(self, timeout: float) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout)


@asynccontextmanager
async def chat_server(
    args: Sequence[str] = BASE_ARGS,
    env: dict[str, str] | None = None,
    command: Sequence[str] = (sys.executable, "-m", "chat_server"),
) -> AsyncIterator[ServerProcess]:
    """Start the server process and wait for its ``listening on`` line; kill it at the end."""
    with tempfile.TemporaryFile() as stderr:
        process = await asyncio.create_subprocess_exec(
            *command,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=clean_env() if env is None else env,
        )
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 15)
            match = LISTENING.search(line.decode())
            if match is None:
                stderr.seek(0)
                raise AssertionError(f"no listening line: {line!r}\n{stderr.read().decode()}")
            yield ServerProcess(process, int(match.group(1)), stderr)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


def run_invalid(args: Sequence[str], env: dict[str, str] | None = None) -> str:
    """Run the server with invalid settings; assert exit 2 and return stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "chat_server", *args],
        env=clean_env() if env is None else env,
        capture_output=True,
        timeout=20,
        check=False,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 2, (result.returncode, stderr)
    assert "listening" not in result.stdout.decode()
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"not a one-line message: {stderr!r}"
    return lines[0]


# --- start-up ---------------------------------------------------------------------------


async def test_prints_listening_line_with_the_real_port_and_serves_it() -> None:
    async with chat_server() as server:
        assert server.port != 0
        (alice,) = await welcomed(server.port, "alice")
        await alice.send(Ping(token="cli"))
        assert await alice.expect(Pong) == Pong(token="cli")
        await alice.close()


async def test_chat_server_console_script_starts_too() -> None:
    script = Path(sys.executable).with_name("chat-server")
    assert script.exists(), f"{script} is not installed"
    async with chat_server(command=(str(script),)) as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.close()


def open_files_limit(pid: int) -> tuple[int, int]:
    """The soft and hard RLIMIT_NOFILE of a running process, from /proc."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no 'Max open files' line")


def under_nofile(soft: int, hard: int) -> tuple[str, ...]:
    """The server command run with the open-files limit set to ``soft``:``hard``."""
    return ("prlimit", f"--nofile={soft}:{hard}", sys.executable, "-m", "chat_server")


async def test_open_files_limit_is_raised_to_fit_max_clients() -> None:
    args = (*BASE_ARGS, "--max-clients", "2000")
    async with chat_server(args, command=under_nofile(256, 8192)) as server:
        soft, hard = open_files_limit(server.process.pid)
        assert (hard, soft >= 2000) == (8192, True)
        assert "ulimit" not in server.log()


async def test_hard_open_files_limit_below_max_clients_is_a_warning_naming_ulimit() -> None:
    args = (*BASE_ARGS, "--max-clients", "5000")
    async with chat_server(args, command=under_nofile(256, 1024)) as server:
        assert open_files_limit(server.process.pid) == (1024, 1024)
        (alice,) = await welcomed(server.port, "alice")
        await alice.close()
        assert "ulimit -n" in server.log()


async def test_chat_environment_variables_are_honoured() -> None:
    env = clean_env(CHAT_HOST="127.0.0.1", CHAT_PORT="0", CHAT_MAX_TEXT="5", CHAT_RATE="0")
    async with chat_server(args=(), env=env) as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.join("lobby")
        await alice.send(Say(room="lobby", text="12345"))
        assert (await alice.expect(Message)).text == "12345"
        await send_json(alice, {"type": "say", "room": "lobby", "text": "123456"})
        await expect_error(alice, "text_too_long", ref="say")
        await alice.close()


async def test_password_from_the_environment_is_required() -> None:
    async with chat_server(env=clean_env(CHAT_PASSWORD="hunter2")) as server:
        client = await WireClient.connect(server.port)
        await send_json(client, {"type": "hello", "nick": "alice", "protocol": 1})
        await expect_error(client, "auth_failed", ref="hello")
        assert (await client.hello("alice", password="hunter2")).nick == "alice"
        await client.close()


async def test_flag_beats_the_environment() -> None:
    env = clean_env(CHAT_MAX_TEXT="5", CHAT_HOST="192.0.2.1")
    async with chat_server(args=(*BASE_ARGS, "--max-text", "8"), env=env) as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.join("lobby")
        await alice.send(Say(room="lobby", text="1234567"))
        assert (await alice.expect(Message)).text == "1234567"
        await send_json(alice, {"type": "say", "room": "lobby", "text": "123456789"})
        await expect_error(alice, "text_too_long", ref="say")
        await alice.close()


async def test_tls_options_serve_tls(tls_files: TlsFiles) -> None:
    import ssl

    args = (*BASE_ARGS, "--tls-cert", str(tls_files.cert), "--tls-key", str(tls_files.key))
    async with chat_server(args=args) as server:
        tls = ssl.create_default_context(cafile=str(tls_files.cert))
        client = await WireClient.connect(server.port, tls=tls)
        assert (await client.hello("secure")).nick == "secure"
        await client.close()


# --- invalid settings --------------------------------------------------------------------


def test_negative_rate_exits_2_with_one_line() -> None:
    message = run_invalid([*BASE_ARGS, "--rate", "-1"])
    assert "rate" in message


def test_ping_timeout_not_above_interval_exits_2_with_one_line() -> None:
    message = run_invalid([*BASE_ARGS, "--ping-interval", "5", "--ping-timeout", "5"])
    assert "ping" in message
    message = run_invalid([*BASE_ARGS, "--ping-timeout", "10"])  # default interval is 30
    assert "ping" in message


def test_unreadable_certificate_exits_2_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    message = run_invalid([*BASE_ARGS, "--tls-cert", str(missing), "--tls-key", str(missing)])
    assert "cert" in message or "missing.pem" in message
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("this is not a certificate\n")
    message = run_invalid([*BASE_ARGS, "--tls-cert", str(garbage), "--tls-key", str(garbage)])
    assert "cert" in message or "garbage.pem" in message


def test_flush_interval_below_a_millisecond_exits_2_with_one_line() -> None:
    message = run_invalid([*BASE_ARGS, "--flush-interval", "0.0005"])
    assert "flush-interval" in message
    assert "millisecond" in message


def test_invalid_value_from_the_environment_exits_2_with_one_line() -> None:
    message = run_invalid(list(BASE_ARGS), env=clean_env(CHAT_RATE="-3"))
    assert "RATE" in message.upper()


def test_non_numeric_value_exits_2() -> None:
    message = run_invalid([*BASE_ARGS, "--max-frame", "lots"])
    assert "max-frame" in message or "MAX_FRAME" in message


def test_an_invalid_irc_port_or_server_name_exits_2_with_one_line() -> None:
    assert "irc-port" in run_invalid([*BASE_ARGS, "--irc-port", "70000"])
    assert "irc-server-name" in run_invalid([*BASE_ARGS, "--irc-server-name", "two words"])
    message = run_invalid(list(BASE_ARGS), env=clean_env(CHAT_IRC_PORT="ircd"))
    assert "CHAT_IRC_PORT" in message


async def test_the_irc_gateway_listens_on_its_port_from_the_environment() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = clean_env(CHAT_IRC_PORT=str(port), CHAT_IRC_SERVER_NAME="irc.lan")
    async with chat_server(env=env) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"NICK alice\r\nUSER alice 0 * :Alice\r\n")
        await writer.drain()
        first = await asyncio.wait_for(reader.readline(), 5)
        assert first.startswith(b":irc.lan 001 alice ")
        writer.close()
        assert f"IRC gateway listening on 127.0.0.1:{port}" in server.log()


# --- signals --------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_signal_sends_bye_to_everyone_and_exits_0_within_5_seconds(
    signum: signal.Signals,
) -> None:
    async with chat_server(args=(*BASE_ARGS, "--rate", "0")) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        await bob.join("lobby")
        await alice.send(Say(room="lobby", text="before the end"))
        await bob.recv_until(Message)
        stranger = await WireClient.connect(server.port)  # never welcomed
        await stranger.send(Ping(token="s"))
        await stranger.expect(Pong)
        for client in (alice, bob):
            await sync(client)

        started = time.monotonic()
        server.process.send_signal(signum)
        for client in (alice, bob, stranger):
            received = await hung_up(client, timeout=5)
            assert received == [Bye(reason="server_shutdown")], received
        code = await server.wait(timeout=5)
        assert time.monotonic() - started < 5
        assert code == 0, server.log()


async def test_restart_on_the_same_port_right_after_shutdown_works() -> None:
    async with chat_server() as first:
        port = first.port
        clients = await welcomed(port, "alice", "bob")
        await clients[0].join("lobby")
        first.process.send_signal(signal.SIGTERM)
        for client in clients:
            await hung_up(client, timeout=5)
        assert await first.wait(timeout=5) == 0
    args = ("--host", "127.0.0.1", "--port", str(port))
    async with chat_server(args=args) as second:
        assert second.port == port
        (alice,) = await welcomed(port, "alice")
        await alice.send(Ping(token="again"))
        assert await alice.expect(Pong) == Pong(token="again")
        await close_all([alice])
        second.process.send_signal(signal.SIGTERM)
        assert await second.wait(timeout=5) == 0


async def test_frame_too_large_against_the_real_process_keeps_it_serving() -> None:
    async with chat_server() as server:
        alice, mallory = await welcomed(server.port, "alice", "mallory")
        await mallory.send_raw(b"\xff\xff\xff\xff")
        received = await hung_up(mallory, timeout=2)
        assert isinstance(received[0], Error)
        assert received[0].code == "frame_too_large"
        assert received[1:] == [Bye(reason="frame_too_large")]
        await alice.send(Ping(token="still"))
        assert await alice.expect(Pong) == Pong(token="still")
        await alice.close()


# --- --config ----------------------------------------------------------------------------


async def test_a_flag_beats_the_environment_which_beats_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('max-text = 5\nmotd = "from the file"\nrate = 0\nhost = "192.0.2.1"\n')
    env = clean_env(CHAT_CONFIG=str(config), CHAT_MAX_TEXT="6", CHAT_HOST="192.0.2.2")
    args = (*BASE_ARGS, "--no-advertise", "--max-text", "7")
    async with chat_server(args=args, env=env) as server:
        client = await WireClient.connect(server.port)
        welcome = await client.hello("alice")
        assert (welcome.motd, welcome.max_text, welcome.rate) == ("from the file", 7, 0)
        await client.close()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("max-text = [", "not valid TOML"),
        ("maxtext = 5", "unknown option 'maxtext'"),
        ('rate = "fast"', "rate"),
        ("max-text = 2.5", "max-text"),
        ("rate = -1", "rate"),
    ],
)
def test_an_invalid_config_file_exits_2_with_one_line(tmp_path: Path, text: str, why: str) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(text + "\n")
    assert why in run_invalid([*BASE_ARGS, "--config", str(config)])


def test_a_missing_config_file_exits_2_with_one_line(tmp_path: Path) -> None:
    message = run_invalid([*BASE_ARGS, "--config", str(tmp_path / "nowhere.toml")])
    assert "--config" in message
