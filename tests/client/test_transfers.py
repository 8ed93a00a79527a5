"""Sending and fetching files from the client: against a real server over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_client.events import Incoming
from chat_client.link import Endpoint
from chat_client.reconnect import Connection
from chat_client.transfers import (
    Progress,
    TransferError,
    Transfers,
    default_destination,
    final_path,
)
from protocol import Join, Joined, Message, ServerMessage
from tests.server.helpers import serving

from .helpers import Recorder

DATA = os.urandom(700_000)


@contextlib.asynccontextmanager
async def chatting(
    port: int, nick: str, room: str = "lobby"
) -> AsyncIterator[tuple[Transfers, Recorder[ServerMessage]]]:
    """A connected client in ``room``: its transfers, and what else the server said."""
    heard: Recorder[ServerMessage] = Recorder()
    transfers: list[Transfers] = []

    def on_event(event: object) -> None:
        if isinstance(event, Incoming) and not transfers[0].reply(event.message):
            heard(event.message)

    connection = Connection(Endpoint("127.0.0.1", port), nick, on_event=on_event, reconnect=False)
    await connection.connect()
    transfers.append(Transfers(connection.endpoint, connection.send))
    reader = asyncio.create_task(connection.run())
    try:
        connection.send(Join(room=room))
        await heard.wait_for(lambda items: any(isinstance(m, Joined) for m in items))
        yield transfers[0], heard
    finally:
        await connection.quit()
        await reader


def shared(heard: Recorder[ServerMessage]) -> list[Message]:
    return [m for m in heard.items if isinstance(m, Message) and m.file is not None]


async def test_a_sent_file_arrives_whole_and_never_replaces_a_file(tmp_path: Path) -> None:
    source = tmp_path / "report.final.pdf"
    source.write_bytes(DATA)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    async with serving(rate=0) as server, chatting(server.port, "alice") as (alice, heard):
        file = await alice.upload(source, room="lobby")
        assert (file.name, file.size) == ("report.final.pdf", len(DATA))
        await heard.wait_for(lambda items: bool(shared(heard)))
        assert shared(heard)[0].file == file
        first = await alice.download(file.id, inbox)
        second = await alice.download(file.id, inbox)
        named = await alice.download(file.id, inbox / "copy.pdf")
        assert [p.name for p in (first, second, named)] == [
            "report.final.pdf",
            "report.final (1).pdf",
            "copy.pdf",
        ]
        assert all(p.read_bytes() == DATA for p in (first, second, named))
        assert sorted(p.name for p in inbox.iterdir()) == sorted(
            ["report.final.pdf", "report.final (1).pdf", "copy.pdf"]
        )
        with pytest.raises(TransferError, match="no_such_file"):
            await alice.download("nope", inbox)
        with pytest.raises(TransferError, match="cannot read"):
            await alice.upload(tmp_path / "missing", room="lobby")
        assert alice.active == []


async def test_a_partial_download_resumes_and_is_checked_before_it_is_named(
    tmp_path: Path,
) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(DATA)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    part = inbox / f".{hashlib.sha256(DATA).hexdigest()}.part"
    async with serving(rate=0) as server, chatting(server.port, "alice") as (alice, _):
        file = await alice.upload(source, room="lobby")

        part.write_bytes(DATA[:300_000])  # what an interrupted download left
        saved = await alice.download(file.id, inbox)
        assert saved.read_bytes() == DATA
        assert not part.exists()

        part.write_bytes(bytes(300_000))  # kept bytes that are wrong: only the hash can tell
        with pytest.raises(TransferError, match="corrupt"):
            await alice.download(file.id, inbox)
        assert not part.exists()
        assert sorted(p.name for p in inbox.iterdir()) == ["data.bin"]


def test_the_default_destination_is_downloads_if_it_exists_else_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert default_destination() == tmp_path
    (tmp_path / "Downloads").mkdir()
    assert default_destination() == tmp_path / "Downloads"


def test_a_taken_name_gets_a_number_before_its_extension(tmp_path: Path) -> None:
    for name in ("a.tar.gz", "a.tar.gz", ".bashrc", ".bashrc", "noext", "noext"):
        final_path(tmp_path, name)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a.tar.gz", "a.tar (1).gz", ".bashrc", ".bashrc (1)", "noext", "noext (1)"]
    )


def test_the_progress_line_says_bytes_rate_and_time_left() -> None:
    progress = Progress("get", "movie.mkv", size=100 * 1024 * 1024)
    assert progress.line(0.0).endswith("waiting")
    progress.moving(10 * 1024 * 1024, now=0.0)  # resumed: the first 10 MiB were kept
    progress.advance(30 * 1024 * 1024)
    line = progress.line(2.0)
    assert line.startswith("↓ movie.mkv [######--------------]  30%")
    assert "30.0 MiB/100.0 MiB  10.0 MiB/s  0:07 left" in line
