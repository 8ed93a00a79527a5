"""Real IRC clients, irssi and WeeChat from Debian's packages, against the gateway.

Both run in tmux beside a native ``chat-client`` in batch mode: they join
``#general``, everyone hears everyone, and neither client shows an error
line on join.  irssi asks ``MODE #general b`` on every join and reports the
channel synced only once the ban list ends (368), so its "synced" line proves
the gateway answers it.  irssi paces its commands (2.5 s apart after the
first few), so its join takes about ten seconds to sync: this group is slow.

The clients are installed by ``scripts/install-irc-clients.sh`` when the
group starts (see ``conftest.py``).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.client.processes import CLIENT, ChatServer, Tmux, read_until

pytestmark = pytest.mark.timeout(120)

#: Texts of the refusals a client would print if the gateway refused its join routine.
ERROR_TEXTS = (
    "Unknown command",
    "unknown mode",
    "Unknown MODE",
    "not channel operator",
    "No such",
    "You're not",
    "Cannot join",
    "Cannot send",
    "not registered",
    "Not enough parameters",
    "FAIL",
    "Closing Link",
)
SYNC_TIMEOUT = 40.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def gateway_process() -> Iterator[ChatServer]:
    server = ChatServer("--irc-port", str(free_port()), "--irc-server-name", "irc.test").start()
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


def irc_port_of(server: ChatServer) -> int:
    return int(server.args[server.args.index("--irc-port") + 1])


class Output:
    """Everything a process has printed so far, read as it comes."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.text = ""

    def wait_for(self, pattern: str, timeout: float = 10.0) -> None:
        """Read on until ``pattern`` (a regex) is somewhere in the output."""
        if not re.search(pattern, self.text):
            self.text += read_until(self.stream, pattern, timeout, seen=self.text)


def without_errors(screen: str) -> str:
    found = [line for line in screen.splitlines() if any(e in line for e in ERROR_TEXTS)]
    assert not found, f"error lines on screen: {found}"
    return screen


def test_irssi_and_weechat_chat_with_a_native_client_in_general(
    gateway_process: ChatServer, tmux: Tmux, tmp_path: Path
) -> None:
    for program in ("irssi", "weechat"):
        assert shutil.which(program), f"{program} is missing: run scripts/install-irc-clients.sh"
    port = irc_port_of(gateway_process)
    native = subprocess.Popen(
        [CLIENT, f"127.0.0.1:{gateway_process.port}", "--nick", "bob", "--room", "general",
         "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert native.stdin is not None
    assert native.stdout is not None
    printed = Output(native.stdout)
    try:
        native.stdin.write(b"bob is here\n")
        native.stdin.flush()
        printed.wait_for(r"general <bob> bob is here")

        irssi_home = tmp_path / "irssi"
        irssi_home.mkdir()
        tmux.start(
            "irssi",
            ["irssi", f"--home={irssi_home}", "-c", "127.0.0.1", "-p", str(port), "-n", "alice"],
            width=120,
        )
        weechat_home = tmp_path / "weechat"
        commands = ";".join(
            (
                f"/server add hub 127.0.0.1/{port} -notls",
                "/set irc.server.hub.nicks carol",
                "/set irc.server.hub.autojoin #general",
                "/connect hub",
            )
        )
        tmux.start("weechat", ["weechat", "--dir", str(weechat_home), "-r", commands], width=120)

        tmux.wait_for("irssi", "MOTD File is missing", timeout=20)
        tmux.type("irssi", "/join #general")
        tmux.wait_for("weechat", "Channel #general:", timeout=20)
        synced = tmux.wait_for("irssi", "Join to #general was synced", timeout=SYNC_TIMEOUT)
        without_errors(synced)

        tmux.type("irssi", "hi from irssi")
        tmux.type("weechat", "hi from weechat")
        printed.wait_for(r"general <alice> hi from irssi")
        printed.wait_for(r"general <carol> hi from weechat")
        tmux.wait_for("irssi", "hi from weechat")
        tmux.wait_for("weechat", "hi from irssi")

        native.stdin.write(b"hello IRC\n/me waves\n")
        native.stdin.flush()
        tmux.wait_for("irssi", "bob> hello IRC")
        tmux.wait_for("irssi", "* bob waves")
        tmux.wait_for("weechat", "hello IRC")
        without_errors(tmux.wait_for("weechat", "bob waves"))

        tmux.type("irssi", "/window 1")  # the status window: where refusals would show
        without_errors(tmux.wait_for("irssi", "MOTD File is missing"))
        tmux.type("weechat", "/buffer 1")
        without_errors(tmux.wait_for("weechat", "MOTD File is missing"))

        native.stdin.close()
        assert native.wait(15) == 0
    finally:
        if native.poll() is None:
            native.kill()
            native.wait(5)
        native.stdout.close()
