"""File sharing as people see it: commands, file lines, batch mode, the progress bar."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from chat_client.batch import format_message, format_whisper
from chat_client.commands import Context, Local, Problem, Send, parse
from chat_client.view import message_line, whisper_line
from protocol import (
    Decoder,
    FileInfo,
    FileOffer,
    Hello,
    Join,
    Joined,
    ListFiles,
    Message,
    Ping,
    Pong,
    Say,
    Transfer,
    TransferDone,
    TransferReady,
    UploadTicket,
    Welcome,
    WhisperMessage,
    encode,
    parse_client,
)

from .processes import CLIENT, ChatServer, Tmux, read_until

FILE = FileInfo(id="Xy12", name="\u202eevil\x1b.txt", size=1536, sha256="ab" * 32)


def test_send_files_and_get_are_commands() -> None:
    room, query, status = Context(room="lobby"), Context(query="bob"), Context()
    assert parse("/send ~/My Files/a.txt", room) == Local("send_file", "~/My Files/a.txt")
    assert parse("/send a.txt", query) == Local("send_file", "a.txt")
    assert isinstance(parse("/send a.txt", status), Problem)
    assert isinstance(parse("/send", room), Problem)
    assert parse("/files", room) == Send(ListFiles(room="lobby"))
    assert parse("/files #dev", status) == Send(ListFiles(room="dev"))
    assert isinstance(parse("/files", status), Problem)
    assert parse("/get Xy12 /tmp/out", status) == Local("get_file", "Xy12 /tmp/out")
    assert isinstance(parse("/get", room), Problem)


def test_a_shared_file_reads_as_a_file_line_with_name_size_id_and_who() -> None:
    message = Message(room="lobby", from_="bob", text="shared x", ts=0.0, seq=3, file=FILE)
    assert message_line(message, "alice").text.endswith(
        "<bob> [file] <U+202E>evil^[.txt (1.5 KiB) id=Xy12"
    )
    whisper = WhisperMessage(from_="bob", to="alice", text="shared x", ts=0.0, file=FILE)
    assert whisper_line(whisper, "alice").text.endswith(
        "*bob* [file] <U+202E>evil^[.txt (1.5 KiB) id=Xy12"
    )
    assert format_message(message) == ["lobby <bob> [file] <U+202E>evil^[.txt (1.5 KiB) id=Xy12"]
    assert format_whisper(whisper) == ["*bob* [file] <U+202E>evil^[.txt (1.5 KiB) id=Xy12"]


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer("--rate", "0").start()
    try:
        yield server
    finally:
        server.kill()


def test_batch_send_shares_a_file_listeners_print_it_and_get_fetches_it(
    chat_server: ChatServer, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{chat_server.port}"
    (tmp_path / "notes.txt").write_bytes(b"x" * 2048)
    ears = subprocess.Popen(
        [CLIENT, address, "--nick", "ears", "--room", "lobby"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert ears.stdin is not None
        assert ears.stdout is not None
        ears.stdin.write(b"ready\n")
        ears.stdin.flush()
        read_until(ears.stdout, "lobby <ears> ready")
        lines = f"/send {tmp_path / 'notes.txt'}\n/send {tmp_path / 'missing'}\nafter\n"
        done = subprocess.run(
            [CLIENT, address, "--nick", "bot", "--room", "lobby"],
            input=lines,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 1  # the second /send could not be sent
        assert "/send: cannot read" in done.stderr
        pattern = r"lobby <bot> \[file\] notes\.txt \(2\.0 KiB\) id=(\S+)\nlobby <bot> after\n"
        assert re.fullmatch(pattern, done.stdout)
        heard = read_until(ears.stdout, "lobby <bot> after")
        match = re.search(pattern, heard)
        assert match is not None
        fetched = subprocess.run(  # from a real server process: zero-copy on uvloop
            [CLIENT, address, "--nick", "getter", "--room", "lobby"],
            input=f"/get {match.group(1)} {tmp_path / 'copy.txt'}\n",
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert fetched.returncode == 0, fetched.stderr
        assert (tmp_path / "copy.txt").read_bytes() == b"x" * 2048
    finally:
        ears.kill()
        ears.wait(5)


class SlowServer:
    """Just enough of a server to share one file, taking its bytes only when told to."""

    def __init__(self) -> None:
        self.port = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.chat: asyncio.StreamWriter | None = None
        self.offer: FileOffer | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SlowServer]:
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = Decoder()
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                decoder.feed(data)
                while (body := decoder.next_frame()) is not None:
                    request = parse_client(body, welcomed=True)
                    if isinstance(request, Transfer):
                        await self._side(decoder.drain(), reader, writer)
                        return
                    writer.write(encode(self._answer(request, writer)))

    def _answer(self, request: object, writer: asyncio.StreamWriter) -> BaseModel:
        match request:
            case Hello(nick=nick):
                self.chat = writer
                return Welcome(nick=nick, epoch="e", server="slow", rooms=[])
            case Join(room=room):
                return Joined(room=room, members=["alice"], topic=None, history=[])
            case FileOffer():
                self.offer = request
                return UploadTicket(token="t", offset=0, id=request.id)
            case Say(room=room, text=text, id=msg_id):
                return Message(room=room, from_="alice", text=text, ts=0.0, seq=1, id=msg_id)
            case Ping(token=token):
                return Pong(token=token)
        raise AssertionError(f"unexpected {request!r}")

    async def _side(
        self, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        offer = self.offer
        assert offer is not None
        writer.write(encode(TransferReady(offset=0, size=offer.size)))
        got = len(first) + len(await reader.readexactly(1024 * 1024))
        self.started.set()
        await self.release.wait()
        while got < offer.size:
            got += len(await reader.read(1 << 20))
        file = FileInfo(id="F1", name=offer.name, size=offer.size, sha256=offer.sha256)
        writer.write(encode(TransferDone(file=file)))
        assert self.chat is not None
        self.chat.write(
            encode(Message(room="lobby", from_="alice", text="shared", ts=0.0, seq=2, file=file))
        )


async def screen_shows(tmux: Tmux, pattern: str, timeout: float = 15.0) -> str:
    async with asyncio.timeout(timeout):
        while True:
            screen = await asyncio.to_thread(tmux.screen, "alice")
            if re.search(pattern, screen):
                return screen
            await asyncio.sleep(0.05)


@pytest.mark.timeout(60)
async def test_the_progress_bar_shows_bytes_rate_and_time_left_while_chat_goes_on(
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.iso"
    with big.open("wb") as file:
        file.truncate(64 * 1024 * 1024)
    tmux = Tmux("progress")
    try:
        async with SlowServer().running() as server:
            argv = [CLIENT, f"127.0.0.1:{server.port}", "--nick", "alice", "--room", "lobby"]
            await asyncio.to_thread(tmux.start, "alice", argv, width=100, height=12)
            await screen_shows(tmux, "you joined lobby")
            await asyncio.to_thread(tmux.type, "alice", f"/send {big}")
            await asyncio.wait_for(server.started.wait(), 15)
            bar = r"↑ big\.iso \[#*-+\] +\d+%  [\d.]+ MiB/64\.0 MiB  [\d.]+ [KM]iB/s  \d+:\d\d left"
            await screen_shows(tmux, bar)
            await asyncio.to_thread(tmux.type, "alice", "still chatting")
            screen = await screen_shows(tmux, "<alice> still chatting")
            assert re.search(bar, screen), screen  # the transfer is still running
            print(screen)  # what a person sees, for the record
            server.release.set()
            screen = await screen_shows(tmux, r"\[file\] big\.iso \(64\.0 MiB\) id=F1")
            assert "↑ big.iso" not in screen
    finally:
        await asyncio.to_thread(tmux.close)


def test_a_file_goes_up_and_down_over_tls(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    cert, key = request.getfixturevalue("certificate")
    server = ChatServer("--tls-cert", str(cert), "--tls-key", str(key), "--rate", "0").start()
    try:
        data = bytes(range(256)) * 4000  # ~1 MiB: several chunks under TLS
        (tmp_path / "blob.bin").write_bytes(data)
        common = [CLIENT, f"127.0.0.1:{server.port}", "--tls-ca", str(cert), "--room", "lobby"]

        def batch(nick: str, line: str) -> subprocess.CompletedProcess[str]:
            done = subprocess.run(
                [*common, "--nick", nick], input=line, capture_output=True, text=True,
                timeout=30, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            return done

        sent = batch("up", f"/send {tmp_path / 'blob.bin'}\n")
        match = re.search(r"\[file\] blob\.bin \(1000\.0 KiB\) id=(\S+)", sent.stdout)
        assert match is not None, sent.stdout
        batch("down", f"/get {match.group(1)} {tmp_path / 'back.bin'}\n")
        assert (tmp_path / "back.bin").read_bytes() == data
    finally:
        server.kill()
