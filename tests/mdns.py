"""Real advertising servers and real browses, on ``lo`` only.

Every server here listens on 127.0.0.1 (so it advertises on ``lo`` alone) under
a name of its own (:func:`unique_name`), and every browse is limited to
127.0.0.1, so that runs on the same host never see each other's servers.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import IO

from tests.client.processes import read_until

BIN = Path(sys.executable).parent
CLIENT = str(BIN / "chat-client")
SERVER = str(BIN / "chat-server")
LOOPBACK = "127.0.0.1"
ADVERTISED = re.compile(r"advertised over mDNS as '([^']*)'")


def unique_name(prefix: str = "T") -> str:
    """A server name no other test (nor another run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def can_make_a_network_namespace() -> bool:
    """Whether ``unshare --net`` works here (root, or user namespaces allowed)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--net", "ip", "link", "set", "lo", "up"],
        capture_output=True, timeout=10, check=False,
    )  # fmt: skip
    return probe.returncode == 0


def environment() -> dict[str, str]:
    """This process's environment without any ``CHAT_`` setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}


class AdvertisedServer:
    """``chat-server --host 127.0.0.1 --port 0 ARGS``, its log kept in a file."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 -- read after the server stops

    def start(self) -> AdvertisedServer:
        """Start and wait for the ``listening on`` line."""
        self.process = subprocess.Popen(
            [SERVER, "--host", LOOPBACK, "--port", "0", *self.args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            env=environment(),
        )
        assert self.process.stdout is not None
        line = read_until(self.process.stdout, r"listening on \S+:\d+", timeout=15)
        match = re.search(r"listening on \S+:(\d+)", line)
        assert match is not None
        self.port = int(match.group(1))
        return self

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def advertised_name(self, timeout: float = 10.0) -> str:
        """The name in the ``advertised over mDNS as`` line, once it is logged."""
        deadline = time.monotonic() + timeout
        while True:
            match = ADVERTISED.search(self.log())
            if match is not None:
                return match.group(1)
            if time.monotonic() > deadline:
                raise AssertionError(f"not advertised within {timeout}s; log:\n{self.log()}")
            time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM, as an operator would; returns the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(10)
        finally:
            self.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.close()

    def close(self) -> None:
        """Close the pipes; the log stays readable until the object is collected."""
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


#: Long enough for an answer that RFC 6762's rate limit holds back: a responder
#: that multicast its records less than a second ago waits a second to repeat them.
BROWSE = 2.0


def discover(timeout: float = BROWSE) -> tuple[int, list[list[str]]]:
    """``chat-client --discover`` on ``lo``: its exit status and its lines, split at tabs."""
    result = subprocess.run(
        [CLIENT, "--discover", "--discover-interface", LOOPBACK,
         "--discover-timeout", str(timeout)],
        capture_output=True, text=True, timeout=timeout + 15,
        stdin=subprocess.DEVNULL, env=environment(), check=False,
    )  # fmt: skip
    assert result.stderr == "", result.stderr
    return result.returncode, [line.split("\t") for line in result.stdout.splitlines()]


def lines_named(lines: list[list[str]], *names: str) -> dict[str, list[str]]:
    """The discovered lines whose name is one of ``names``, by name."""
    return {line[0]: line for line in lines if line[0] in names}
