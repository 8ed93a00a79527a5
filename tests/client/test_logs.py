"""Chat logs: where they go, what a session leaves in them, and the disk off the event loop."""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from chat_client import logs
from chat_client.app import ChatClient
from chat_client.link import Endpoint
from chat_client.logs import ChatLog, logs_dir, path_component
from chat_client.reconnect import Connection
from chat_client.view import system_line
from chat_client.windows import Window
from chat_server.server import Server
from protocol import Say, Whisper
from tests.wire import connect_welcomed

from .processes import CLIENT, ChatServer, Tmux
from .test_ui import Screen, eventually

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


@pytest.mark.parametrize(
    ("name", "component"),
    [
        ("general", "general"),
        ("..", "__"),
        (".", "_"),
        ("", "_"),
        (".hidden", "_hidden"),
        ("../../etc/passwd", "_._.._etc_passwd"),
        ("a\\b", "a_b"),
        ("evil\x1b[2J", "evil[2J"),
        ("127.0.0.1:7878", "127.0.0.1:7878"),
    ],
)
def test_names_become_one_safe_path_component(name: str, component: str) -> None:
    assert path_component(name) == component


def test_every_window_logs_inside_the_server_directory(tmp_path: Path) -> None:
    log = ChatLog(tmp_path, "../evil:1")
    assert log.directory == tmp_path / "_._evil:1"
    for kind, name in (("room", ".."), ("room", "General"), ("query", "Bob")):
        path = log.path(Window(kind, name))  # type: ignore[arg-type]
        assert path is not None
        assert path.resolve().is_relative_to(log.directory.resolve())
    assert log.path(Window("room", "General")) == log.directory / "general.log"
    assert log.path(Window("query", "Bob")) == log.directory / "private" / "bob.log"
    assert log.path(Window("status", "status")) is None


def test_logs_go_under_xdg_data_home() -> None:
    assert logs_dir({"XDG_DATA_HOME": "/data"}) == Path("/data/hubbub/logs")
    default = Path.home() / ".local" / "share" / "hubbub" / "logs"
    assert logs_dir({}) == default
    assert logs_dir({"XDG_DATA_HOME": "relative"}) == default  # the spec ignores a relative one


async def test_a_session_leaves_dated_sanitised_lines_in_each_windows_log(
    server: Server, tmp_path: Path
) -> None:
    bob = await connect_welcomed(server.port, "bob")
    await bob.join("general")
    await bob.send(Say(room="general", text="said before alice came"))
    log = ChatLog(tmp_path, f"127.0.0.1:{server.port}")
    screen = Screen()
    output = Vt100_Output(screen, lambda: Size(rows=24, columns=100), term="xterm")
    with create_pipe_input() as pipe:
        connection = Connection(Endpoint("127.0.0.1", server.port), "alice")
        client = ChatClient(connection, rooms=("general",), logs=log, input=pipe, output=output)
        task = asyncio.create_task(client.run(await connection.connect()))
        await eventually(lambda: client.state.window.joined)
        await bob.send(Say(room="general", text="hello \x1b[2Jalice\ntwo lines"))
        await bob.send(Whisper(to="alice", text="psst"))
        pipe.send_text("hi bob\r")
        await eventually(lambda: client.state.find("bob", "query") is not None)
        await eventually(lambda: any("hi bob" in x.text for x in client.state.windows[1].lines))
        pipe.send_text("/help\r")
        client.quit()
        assert await asyncio.wait_for(task, 5) == 0
    room = (log.directory / "general.log").read_text(encoding="utf-8").splitlines()
    assert room[0].startswith("--- Log opened ")
    assert re.fullmatch(f"{STAMP} -!- you joined general", room[1])
    assert any(re.fullmatch(f"{STAMP} <bob> hello \\^\\[\\[2Jalice", line) for line in room)
    assert any(re.fullmatch(f"{STAMP} <bob> two lines", line) for line in room)
    assert any(re.fullmatch(f"{STAMP} <alice> hi bob", line) for line in room)
    assert not any("said before alice came" in line for line in room)  # history: not logged
    assert not any("/help" in line or "/join ROOM" in line for line in room)
    assert room[-1].startswith("--- Log closed ")
    private = (log.directory / "private" / "bob.log").read_text(encoding="utf-8")
    assert re.search(f"{STAMP} \\*bob\\* psst", private)
    assert not any("\x1b" in line for line in room)
    assert oct(os.stat(log.directory / "general.log").st_mode & 0o777) == "0o600"
    await bob.close()


async def test_the_disk_is_written_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = ChatLog(tmp_path, "server")
    writers: list[int] = []
    original = log.write
    release = threading.Event()

    def slow_write(batch: Mapping[Path, list[str]]) -> None:
        writers.append(threading.get_ident())
        release.wait(5)  # a disk that stalls
        original(batch)

    monkeypatch.setattr(log, "write", slow_write)
    monkeypatch.setattr(logs, "BACKLOG", 10)
    window = Window("room", "general")
    log.add(window, system_line("first"))
    running = asyncio.create_task(log.run(interval=0.01))
    await eventually(lambda: bool(writers))
    for n in range(20):  # the loop still runs while the disk stalls; the backlog is bounded
        log.add(window, system_line(f"line {n}"))
        await asyncio.sleep(0)
    release.set()
    running.cancel()
    await log.close()
    assert threading.get_ident() not in writers
    text = (tmp_path / "server" / "general.log").read_text(encoding="utf-8")
    assert "line 9" in text
    assert "line 10" not in text
    assert "10 line(s) not logged" in text


def test_the_real_client_logs_unless_told_not_to(private_home: Path) -> None:
    server = ChatServer().start()
    terminals = Tmux("logs")
    try:
        address = f"127.0.0.1:{server.port}"
        root = private_home / "data" / "hubbub" / "logs" / address
        for name, extra in (("logged", []), ("unlogged", ["--no-logs"])):
            argv = [CLIENT, address, "--nick", name, "--room", "general", *extra]
            terminals.start(name, argv)
            terminals.wait_for(name, "you joined general")
            terminals.type(name, f"typed by {name}")
            terminals.wait_for(name, f"<{name}> typed by {name}")
            terminals.type(name, "/quit")
            terminals.wait_for(name, "exit=0")
        text = (root / "general.log").read_text(encoding="utf-8")
        assert re.search(f"{STAMP} <logged> typed by logged", text)
        assert "<unlogged> typed by unlogged" not in text
        assert sorted(path.name for path in root.iterdir()) == ["general.log"]
    finally:
        terminals.close()
        server.kill()
