"""Real processes for end-to-end tests: chat-server, chat-client in tmux, pipes.

Every wait has a deadline; everything listens on and connects to loopback.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

BIN = Path(sys.executable).parent
CLIENT = str(BIN / "chat-client")
SERVER = str(BIN / "chat-server")
TMUX = "/usr/bin/tmux"


def read_until(stream: IO[bytes], pattern: str, timeout: float = 10.0, *, seen: str = "") -> str:
    """Read ``stream`` until ``pattern`` (a regex) matches what was read; return it all.

    ``seen`` is what was read before, searched with the new bytes but not returned.
    """
    fd = stream.fileno()
    before = seen.encode()
    seen_bytes = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while not re.search(pattern, (before + seen_bytes).decode("utf-8", "replace")):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise AssertionError(f"no {pattern!r} within {timeout}s; got {seen_bytes!r}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"EOF before {pattern!r}; got {seen_bytes!r}")
            seen_bytes += chunk
    return seen_bytes.decode("utf-8", "replace")


class ChatServer:
    """``chat-server`` on 127.0.0.1, not advertised; ``port=0`` picks a free port the first time."""

    def __init__(self, *args: str, port: int = 0) -> None:
        self.args = args
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ChatServer:
        self.process = subprocess.Popen(
            [SERVER, "--host", "127.0.0.1", "--port", str(self.port), "--no-advertise", *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        line = read_until(self.process.stdout, r"listening on \S+:\d+")
        match = re.search(r"listening on \S+:(\d+)", line)
        assert match is not None
        self.port = int(match.group(1))
        return self

    def stop(self) -> int:
        """SIGTERM, as an operator would; returns the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(10)
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


class Tmux:
    """Clients in a private tmux server, one session each; read back what they show."""

    def __init__(self, name: str) -> None:
        self.socket = f"hubbub-{name}-{os.getpid()}"

    def _run(self, *args: str) -> str:
        return subprocess.run(
            [TMUX, "-L", self.socket, *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout

    def start(self, session: str, argv: list[str], *, width: int = 100, height: int = 30) -> None:
        command = " ".join(_quote(a) for a in argv) + '; echo "exit=$?"; sleep 60'
        env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "TERM": "xterm-256color"}
        subprocess.run(
            [TMUX, "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", session,
             "-x", str(width), "-y", str(height), "sh", "-c", command],
            check=True,
            timeout=10,
            env={**os.environ, **env},
        )  # fmt: skip

    def type(self, session: str, text: str, *, enter: bool = True) -> None:
        self._run("send-keys", "-t", session, "-l", text)
        if enter:
            self._run("send-keys", "-t", session, "Enter")

    def keys(self, session: str, *keys: str) -> None:
        self._run("send-keys", "-t", session, *keys)

    def screen(self, session: str) -> str:
        return self._run("capture-pane", "-p", "-t", session)

    def wait_for(self, session: str, text: str, timeout: float = 10.0) -> str:
        """Return the screen once it shows ``text``; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(session)
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{session} never showed {text!r}; screen:\n{screen}")
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run(
            [TMUX, "-L", self.socket, "kill-server"], capture_output=True, timeout=10, check=False
        )


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"
