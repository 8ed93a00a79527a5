"""bench/loadgen.c against a real chat-server: it compiles, joins, sends and counts right."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")
SERVER = (sys.executable, "-m", "chat_server")
TIMING = ("--duration", "1", "--warmup", "0.2", "--settle", "2", "--timeout", "8")


@pytest.fixture(scope="module")
def loadgen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = tmp_path_factory.mktemp("loadgen") / "loadgen"
    source = ROOT / "bench" / "loadgen.c"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(source)], check=True, timeout=60)
    return binary


@pytest.fixture
def server() -> Iterator[tuple[int, int]]:
    """A chat-server on a free loopback port: (port, pid)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    proc = subprocess.Popen(
        [*SERVER, "--host", "127.0.0.1", "--port", "0", "--rate", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        match = LISTENING.search(proc.stdout.readline())
        assert match, "chat-server printed no 'listening on' line"
        yield int(match.group(1)), proc.pid
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def run(loadgen: Path, port: int, pid: int, *options: str) -> dict[str, Any]:
    command = [str(loadgen), "--proto", "hubbub", "--port", str(port), "--server-pid", str(pid)]
    done = subprocess.run(
        [*command, "--clients", "6", "--rooms", "2", "--senders", "2", *options, *TIMING],
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_paced_run_delivers_everything_to_every_member(
    loadgen: Path, server: tuple[int, int]
) -> None:
    result = run(loadgen, *server, "--rate", "200")
    assert 180 <= result["sent"] <= 220
    # hubbub echoes to the sender: each message reaches all 3 members of its room
    assert result["expected"] == 3 * result["sent"]
    assert result["delivered"] == result["expected"]
    assert result["lost"] == 0
    assert result["loss"] == 0
    assert result["disconnects"] == 0
    assert result["server_errors"] == 0
    assert not result["timed_out"]
    latency = result["latency_ms"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"] < 1000
    assert 0 <= result["loadgen_cpu_share"] < 1
    assert result["server_cpu_s"] >= 0
    assert result["server_rss_joined_kib"] > 0


def test_saturated_run_keeps_the_window_and_loses_nothing(
    loadgen: Path, server: tuple[int, int]
) -> None:
    result = run(loadgen, *server, "--rate", "0", "--inflight", "8")
    assert result["sent"] > 100
    assert result["delivered"] == result["expected"] == 3 * result["sent"]
    assert result["deliveries_per_s"] > 0
    assert result["latency_ms"]["max"] > 0
