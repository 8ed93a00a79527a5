"""Sharing files: offers, tickets, side connections, and every refusal, over real loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from protocol import (
    Bye,
    Error,
    FileGet,
    FileList,
    FileOffer,
    History,
    HistoryRequest,
    ListFiles,
    Message,
    Mute,
    Ping,
    Pong,
    SetMode,
    Transfer,
    TransferDone,
    Unmute,
    WhisperMessage,
    encode,
)
from tests.server.helpers import close_all, expect_error, serving, still_open, sync, welcomed
from tests.server.transfers import Side, download, offer, sha, ticket_for, upload
from tests.wire import WireClient

DATA = os.urandom(300_000)


@contextlib.asynccontextmanager
async def keeping_alive(*clients: WireClient) -> AsyncIterator[None]:
    """Ping for ``clients`` so a short ``--ping-timeout`` spares their chat connections."""

    async def ping() -> None:
        while True:
            for client in clients:
                await client.send(Ping(token="alive"))
            await asyncio.sleep(0.1)

    task = asyncio.create_task(ping())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def in_lobby(port: int, *nicks: str) -> list[WireClient]:
    clients = await welcomed(port, *nicks)
    for client in clients:
        await client.join("lobby")
    for client in clients:
        await sync(client)
    return clients


async def test_a_shared_file_reaches_the_room_and_downloads_byte_identical() -> None:
    async with serving(rate=0) as server:
        alice, bob = await in_lobby(server.port, "alice", "bob")
        ticket = await offer(
            alice, DATA, room="lobby", name="../../etc/\u202eevil\x1b.txt", id="f1"
        )
        assert ticket.offset == 0
        assert ticket.id == "f1"
        side = await Side.open(server.port, ticket.token)
        ready = await side.ready()
        assert (ready.offset, ready.size) == (0, len(DATA))
        await side.send(DATA)
        done = await side.frame()
        assert isinstance(done, TransferDone)
        assert await side.rest() == b""  # closed after transfer_done, no bye
        file = done.file
        assert (file.name, file.size, file.sha256) == ("evil.txt", len(DATA), sha(DATA))

        for client in (alice, bob):
            message = await client.recv_until(Message)
            assert message.file == file
            assert (message.from_, message.id, message.seq) == ("alice", "f1", 1)
            assert message.text == "shared evil.txt (293.0 KiB)"
        assert await download(server.port, bob, file.id) == DATA
        assert await download(server.port, bob, file.id, offset=123_456) == DATA[123_456:]
        await bob.send(HistoryRequest(room="lobby"))
        assert (await bob.recv_until(History)).messages[0].file == file
        await close_all([alice, bob])


async def test_the_first_bytes_may_follow_the_transfer_frame_in_the_same_write() -> None:
    async with serving(rate=0) as server:
        (alice,) = await in_lobby(server.port, "alice")
        ticket = await offer(alice, DATA, room="lobby")
        side = await Side.open(server.port, ticket.token, first=encode(Ping(token="p")))
        side.writer.write(DATA[:1000])  # pipelined behind the transfer frame
        assert await side.frame() == Pong(token="p")
        await side.ready()
        await side.send(DATA[1000:])
        assert isinstance(await side.frame(), TransferDone)
        await side.close()
        await alice.close()


async def test_a_room_lists_its_files_newest_first_and_never_whispered_ones() -> None:
    async with serving(rate=0) as server:
        alice, bob = await in_lobby(server.port, "alice", "bob")
        first = await upload(server.port, alice, b"one", room="lobby")
        await upload(server.port, alice, b"secret", to="bob")
        second = await upload(server.port, alice, b"two", room="lobby")
        await alice.send(ListFiles(room="lobby"))
        assert (await alice.recv_until(FileList)).files == [second, first]
        await alice.send(HistoryRequest(room="lobby"))
        seqs = [m.seq for m in (await alice.recv_until(History)).messages if m.file]
        await alice.send(ListFiles(room="lobby", before=seqs[-1], limit=5))
        assert (await alice.recv_until(FileList)).files == [first]
        await alice.send(ListFiles(room="nowhere"))
        await expect_error(alice, "not_in_room", ref="files")
        await close_all([alice, bob])


async def test_a_whispered_file_is_fetched_by_its_two_ends_only() -> None:
    async with serving(rate=0) as server:
        alice, bob, carol = await welcomed(server.port, "alice", "bob", "carol")
        file = await upload(server.port, alice, DATA, to="Bob")
        for client in (alice, bob):
            whisper = await client.recv_until(WhisperMessage)
            assert (whisper.from_, whisper.to, whisper.file) == ("alice", "bob", file)
        assert await download(server.port, bob, file.id) == DATA
        assert await download(server.port, alice, file.id) == DATA
        await carol.send(FileGet(file=file.id, id="g"))
        await expect_error(carol, "no_such_file", ref="file_get", id="g")
        await close_all([alice, bob, carol])


async def test_offers_that_break_a_rule_get_the_rule_s_code() -> None:
    async with serving(rate=0, max_upload=1000, files_quota=5000) as server:
        alice, bob = await in_lobby(server.port, "alice", "bob")
        cases = [
            ({"room": "lobby", "size": 1001}, "file_too_large"),
            ({"room": "elsewhere", "size": 10}, "not_in_room"),
            ({"to": "nobody", "size": 10}, "no_such_nick"),
        ]
        for where, code in cases:
            await alice.send(FileOffer(name="x", sha256=sha(b""), id=code, **where))  # type: ignore[arg-type]
            await expect_error(alice, code, ref="file_offer", id=code)
        await alice.send(FileGet(file="nope"))
        await expect_error(alice, "no_such_file", ref="file_get")
        await alice.send(Transfer(token="t"))
        await expect_error(alice, "bad_message", ref="transfer")
        await still_open(alice)
        await close_all([alice, bob])


async def test_with_max_upload_0_every_offer_is_too_large_and_every_file_gone() -> None:
    async with serving(rate=0, max_upload=0) as server:
        (alice,) = await in_lobby(server.port, "alice")
        await alice.send(FileOffer(room="lobby", name="x", size=0, sha256=sha(b"")))
        await expect_error(alice, "file_too_large")
        await alice.send(ListFiles(room="lobby"))
        assert (await alice.recv_until(FileList)).files == []
        await alice.close()


async def test_a_transfer_after_hello_is_not_ready_and_a_bad_token_closes() -> None:
    async with serving(rate=0) as server:
        late = await WireClient.connect(server.port)
        await late.send({"type": "hello", "nick": "x y", "protocol": 1})
        await expect_error(late, "nick_invalid")
        await late.send(Transfer(token="whatever"))
        await expect_error(late, "not_ready", ref="transfer")
        await late.close()
        side = await Side.open(server.port, "no-such-token")
        await side.refused("bad_token")


async def test_a_ticket_is_good_once_for_its_ttl_while_its_chat_connection_lives() -> None:
    async with serving(rate=0, ticket_ttl=0.3) as server:
        alice, bob = await in_lobby(server.port, "alice", "bob")
        file = await upload(server.port, alice, DATA, room="lobby")
        used = await ticket_for(bob, file.id)
        side = await Side.open(server.port, used.token)
        await side.ready()
        await side.rest()
        again = await Side.open(server.port, used.token)
        await again.refused("bad_token")

        expired = await ticket_for(bob, file.id)
        await asyncio.sleep(0.5)
        await (await Side.open(server.port, expired.token)).refused("bad_token")

        orphan = await ticket_for(bob, file.id)
        await bob.close()
        await asyncio.sleep(0.05)
        await (await Side.open(server.port, orphan.token)).refused("bad_token")
        await alice.close()


async def test_a_third_transfer_at_once_is_rate_limited_and_its_token_stays_good() -> None:
    async with serving(rate=0) as server:
        (alice,) = await in_lobby(server.port, "alice")
        file = await upload(server.port, alice, DATA, room="lobby")
        uploads = []
        for part in (b"one", b"two"):  # two uploads waiting for their bytes
            ticket = await offer(alice, part, room="lobby")
            uploads.append((await Side.open(server.port, ticket.token), part))
            await uploads[-1][0].ready()
        fetch = await ticket_for(alice, file.id)
        third = await Side.open(server.port, fetch.token)
        await third.refused("rate_limited")
        side, part = uploads[0]
        await side.send(part)
        assert isinstance(await side.frame(), TransferDone)
        await asyncio.sleep(0.05)
        retry = await Side.open(server.port, fetch.token)
        await retry.ready()
        assert await retry.rest() == DATA
        for other in (side, uploads[1][0], retry):
            await other.close()
        await alice.close()


async def test_a_wrong_hash_is_file_corrupt_and_leaves_nothing_behind(tmp_path: Path) -> None:
    async with serving(rate=0, files_dir=str(tmp_path)) as server:
        (alice,) = await in_lobby(server.port, "alice")
        ticket = await offer(alice, DATA, room="lobby")
        side = await Side.open(server.port, ticket.token)
        await side.ready()
        await side.send(bytes(len(DATA)))  # the right size, other bytes
        await side.refused("file_corrupt")
        await alice.send(ListFiles(room="lobby"))
        assert (await alice.recv_until(FileList)).files == []
        again = await offer(alice, DATA, room="lobby")
        assert again.offset == 0
        await alice.close()
    assert not list((tmp_path / "partial").iterdir())
    assert not list((tmp_path / "objects").rglob("*.*"))


async def test_an_interrupted_upload_resumes_from_the_bytes_kept() -> None:
    async with serving(rate=0) as server:
        alice, bob = await in_lobby(server.port, "alice", "bob")
        ticket = await offer(alice, DATA, room="lobby")
        side = await Side.open(server.port, ticket.token)
        await side.ready()
        await side.send(DATA[:100_000])
        await side.close()  # cut short: the server keeps what it got
        await asyncio.sleep(0.1)
        again = await offer(alice, DATA, room="lobby")
        assert again.offset == 100_000
        side = await Side.open(server.port, again.token)
        assert (await side.ready()).offset == 100_000
        await side.send(DATA[100_000:])
        done = await side.frame()
        assert isinstance(done, TransferDone)
        await side.close()
        assert await download(server.port, bob, done.file.id) == DATA
        await close_all([alice, bob])


async def test_a_stalled_side_connection_is_closed() -> None:
    big = os.urandom(24 * 1024 * 1024)  # more than the kernel buffers hold
    async with serving(rate=0, ping_interval=0.2, ping_timeout=0.5) as server:
        alice, bob = await in_lobby(server.port, "alice", "bob")
        async with keeping_alive(alice, bob):
            ticket = await offer(alice, DATA, room="lobby")
            side = await Side.open(server.port, ticket.token)
            await side.ready()
            await side.send(DATA[:1000])  # then nothing
            assert await side.frame(timeout=5) == Bye(reason="ping_timeout")
            assert (await offer(alice, DATA, room="lobby")).offset == 1000

            file = await upload(server.port, alice, big, room="lobby")
            fetch = await ticket_for(bob, file.id)
            stalled = await Side.open(server.port, fetch.token)
            await stalled.ready()
            await asyncio.sleep(1.5)  # read nothing: the server's sends stop
            assert len(await stalled.rest()) < len(big)
        await close_all([alice, bob])


async def test_quota_counts_uploads_in_progress_and_evicts_the_oldest_files() -> None:
    async with serving(rate=0, files_quota=1000) as server:
        alice, bob = await in_lobby(server.port, "alice", "bob")
        await alice.send(FileOffer(room="lobby", name="big", size=1001, sha256=sha(b"x")))
        await expect_error(alice, "quota_exceeded")
        files = [await upload(server.port, alice, bytes([n]) * 400, room="lobby") for n in range(2)]
        pending = await offer(alice, b"p" * 600, room="lobby")  # reserves 600 of 1000
        await alice.send(FileOffer(room="lobby", name="y", size=500, sha256=sha(b"y" * 500)))
        await expect_error(alice, "quota_exceeded")
        side = await Side.open(server.port, pending.token)
        await side.ready()
        await side.send(b"p" * 600)
        assert isinstance(await side.frame(), TransferDone)
        await side.close()
        # 400 + 400 + 600 > 1000: the oldest went to make room, the newer stayed
        await sync(bob)
        await bob.send(FileGet(file=files[0].id))
        await expect_error(bob, "no_such_file")
        assert await download(server.port, bob, files[1].id) == bytes([1]) * 400
        await close_all([alice, bob])


async def test_files_past_their_ttl_are_gone() -> None:
    from chat_server.server import Server
    from chat_server.storage import MemoryStore
    from tests.conftest import loopback_config

    now = [1_000_000.0]
    server = Server(
        loopback_config(rate=0, file_ttl=3600), MemoryStore(), wall_clock=lambda: now[0]
    )
    await server.start()
    try:
        alice, bob = await in_lobby(server.port, "alice", "bob")
        old = await upload(server.port, alice, b"old", room="lobby")
        now[0] += 1800
        young = await upload(server.port, alice, b"young", room="lobby")
        now[0] += 1800  # old is an hour old now
        await sync(bob)
        await bob.send(FileGet(file=old.id))
        await expect_error(bob, "no_such_file")
        await bob.send(ListFiles(room="lobby"))
        assert (await bob.recv_until(FileList)).files == [young]
        assert await download(server.port, bob, young.id) == b"young"
        await close_all([alice, bob])
    finally:
        await server.shutdown()


@pytest.mark.parametrize("tls", [False, True])
async def test_files_travel_over_tls_too(tls: bool, tls_files: object) -> None:
    import ssl

    from tests.conftest import TlsFiles

    assert isinstance(tls_files, TlsFiles)
    context = None
    options: dict[str, object] = {}
    if tls:
        context = ssl.create_default_context(cafile=str(tls_files.cert))
        options = {"tls_cert": str(tls_files.cert), "tls_key": str(tls_files.key)}
    async with serving(rate=0, **options) as server:
        alice = await WireClient.connect(server.port, tls=context)
        await alice.hello("alice")
        await alice.join("lobby")
        ticket = await offer(alice, DATA, room="lobby")
        side = await Side.open(server.port, ticket.token, tls=context)
        await side.ready()
        await side.send(DATA)
        done = await side.frame()
        assert isinstance(done, TransferDone)
        await side.close()
        fetch = await ticket_for(alice, done.file.id)
        side = await Side.open(server.port, fetch.token, tls=context)
        await side.ready()
        assert await side.rest() == DATA
        await alice.close()


async def test_a_side_connection_counts_as_a_connection() -> None:
    async with serving(rate=0, max_clients=2) as server:
        (alice,) = await in_lobby(server.port, "alice")
        ticket = await offer(alice, DATA, room="lobby")
        side = await Side.open(server.port, ticket.token)
        await side.ready()
        third = await WireClient.connect(server.port)
        error = await third.expect(Error)
        assert error.code == "server_full"
        await third.close()
        await side.send(DATA)
        assert isinstance(await side.frame(), TransferDone)
        await side.close()
        await alice.close()


async def test_a_file_offer_obeys_the_room_s_moderation_as_say_does() -> None:
    async with serving(rate=0) as server:
        alice, bob = await in_lobby(server.port, "alice", "bob")  # alice made it: she is op
        await alice.send(Mute(room="lobby", nick="bob"))
        await sync(bob)
        await bob.send(FileOffer(room="lobby", name="x", size=1, sha256=sha(b"x"), id="m"))
        await expect_error(bob, "muted", ref="file_offer", id="m")
        await alice.send(SetMode(room="lobby", moderated=True))
        await alice.send(Unmute(room="lobby", nick="bob"))
        await sync(bob)
        await bob.send(FileOffer(room="lobby", name="x", size=1, sha256=sha(b"x")))
        await expect_error(bob, "muted", ref="file_offer")
        assert (await offer(alice, b"x", room="lobby")).offset == 0  # ops may
        await close_all([alice, bob])
