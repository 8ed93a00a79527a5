"""docker-compose.yml and the Dockerfile start a server that really works, and a bot.

No Docker engine is needed: the service's command line is checked against the
CLI parser, then run as a local process on a free loopback port, and the
healthcheck's own snippet is run against it.  The demo bot's command line is
checked against the bot's own parser.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from chat_server.cli import parse_args
from chat_server.config import Config
from protocol import Bye
from tests.wire import WireClient

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
LISTENING = re.compile(r"listening on (\S+):(\d+)")
STARTUP_TIMEOUT = 10.0
EXIT_TIMEOUT = 5.0


def service() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    hubbub: dict[str, Any] = document["services"]["hubbub"]
    return hubbub


def command() -> list[str]:
    argv = service()["command"]
    assert isinstance(argv, list), "command must be an explicit list, not a shell string"
    assert all(isinstance(arg, str) for arg in argv)
    assert argv[0] == "chat-server"
    return argv


def healthcheck_snippet() -> str:
    test = service()["healthcheck"]["test"]
    assert isinstance(test, list)
    assert test[:3] == ["CMD", "python", "-c"], "the healthcheck must need only Python"
    snippet = test[3]
    assert isinstance(snippet, str)
    return snippet


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    """``argv`` with ``option`` set to ``value``, replacing any earlier value."""
    result: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + "="):
            result.append(arg)
    return [*result, option, value]


def child_environment() -> dict[str, str]:
    """The test's environment minus CHAT_* settings, like ``environ={}`` below."""
    return {key: value for key, value in os.environ.items() if not key.startswith("CHAT_")}


def test_compose_demo_bot_runs_the_client_packages_bot_against_the_node() -> None:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    bot: dict[str, Any] = document["services"]["demo-bot"]
    argv = bot["command"]
    assert argv[:3] == ["python", "-m", "chat_client.demo_bot"]
    module = importlib.import_module(argv[2])
    args = module.parse_args(argv[3:])
    assert (args.host, args.port) == ("hubbub", parse_args(command()[1:], environ={}).port)
    assert "hubbub" in bot["depends_on"]


def test_compose_command_is_accepted_by_the_cli() -> None:
    config = parse_args(command()[1:], environ={})
    assert isinstance(config, Config)
    assert config.host == "0.0.0.0"


def test_cli_rejects_a_bad_value_so_the_check_above_means_something() -> None:
    with pytest.raises(SystemExit) as exc_info:
        parse_args([*command()[1:], "--port", "-1"], environ={})
    assert exc_info.value.code == 2


def test_compose_port_mapping_and_healthcheck_use_the_configured_port() -> None:
    config = parse_args(command()[1:], environ={})
    mappings = [str(mapping) for mapping in service()["ports"]]
    container_ports = {mapping.rsplit(":", 1)[-1].split("/")[0] for mapping in mappings}
    assert container_ports == {str(config.port)}
    assert re.search(rf"\b{config.port}\b", healthcheck_snippet())


def test_dockerfile_cmd_and_expose_agree_with_the_cli() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    cmd_line = next(line for line in text.splitlines() if line.startswith("CMD "))
    argv = json.loads(cmd_line.removeprefix("CMD "))
    assert argv[0] == "chat-server"
    config = parse_args(argv[1:], environ={})
    assert re.search(rf"^EXPOSE {config.port}$", text, re.MULTILINE)


async def run_healthcheck(snippet: str, port: int) -> int:
    local = re.sub(r"\b7878\b", str(port), snippet)
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", local)
    return await asyncio.wait_for(process.wait(), EXIT_TIMEOUT)


async def read_listening_port(stdout: asyncio.StreamReader) -> int:
    while True:
        line = await stdout.readline()
        if not line:
            raise AssertionError("the server exited before saying 'listening on'")
        match = LISTENING.search(line.decode("utf-8", "replace"))
        if match is not None:
            return int(match.group(2))


async def test_compose_command_serves_a_client_and_stops_on_sigterm(tmp_path: Path) -> None:
    argv = with_option(command()[1:], "--host", "127.0.0.1")
    argv = with_option(argv, "--port", "0")
    log_path = tmp_path / "stderr.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chat_server",
            *argv,
            cwd=ROOT,
            env=child_environment(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    try:
        assert process.stdout is not None
        port = await asyncio.wait_for(read_listening_port(process.stdout), STARTUP_TIMEOUT)

        client = await WireClient.connect(port)
        welcome = await client.hello("compose-check")
        assert welcome.nick == "compose-check"

        assert await run_healthcheck(healthcheck_snippet(), port) == 0

        process.send_signal(signal.SIGTERM)
        exited = asyncio.ensure_future(process.wait())
        received = await client.closed(EXIT_TIMEOUT)
        await client.close()
        returncode = await asyncio.wait_for(exited, EXIT_TIMEOUT)
        assert returncode == 0
        assert received, "no frame before the connection closed"
        first = received[0]
        assert isinstance(first, Bye), f"expected bye first, got {first!r}"
        assert first.reason == "server_shutdown"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        # pytest shows captured output only when the test fails.
        print("--- server stderr ---", log_path.read_text(errors="replace"), sep="\n")
