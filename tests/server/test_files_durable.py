"""Shared files across failures: a killed upload, a full disk, a restart, two nodes."""

from __future__ import annotations

import asyncio
import errno
import functools
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from chat_server.files import Disk
from chat_server.server import Server, run_server
from chat_server.storage import make_store
from protocol import FileGet, FileList, ListFiles, Message, TransferDone, WhisperMessage
from tests.conftest import loopback_config
from tests.server.helpers import close_all, expect_error, serving, sync, welcomed
from tests.server.transfers import Side, download, offer, upload
from tests.storage.redis_process import RedisProcess
from tests.wire import WireClient

MIB = 1024 * 1024
T = TypeVar("T")


async def in_lobby(port: int, *nicks: str) -> list[WireClient]:
    clients = await welcomed(port, *nicks)
    for client in clients:
        await client.join("lobby")
        await sync(client)
    return clients


async def test_a_50_mib_upload_killed_at_half_resumes_and_arrives_byte_identical() -> None:
    data = random.Random(13).randbytes(50 * MIB)
    async with serving(rate=0) as server:
        alice, bob = await in_lobby(server.port, "alice", "bob")
        ticket = await offer(alice, data, room="lobby", name="big.bin")
        side = await Side.open(server.port, ticket.token)
        await side.ready()
        await side.send(data[: 25 * MIB])
        side.abort()  # killed: a reset, whatever was in flight is lost
        for _ in range(100):  # until the server has noticed and kept what it got
            again = await offer(alice, data, room="lobby", name="big.bin")
            if again.offset:
                break
            await asyncio.sleep(0.05)
        assert 0 < again.offset <= 25 * MIB
        side = await Side.open(server.port, again.token)
        ready = await side.ready()
        assert ready.offset == again.offset
        await side.send(data[ready.offset :])
        done = await side.frame(timeout=30)
        assert isinstance(done, TransferDone)
        await side.close()
        shared = await bob.recv_until(Message)
        assert shared.file == done.file
        assert await download(server.port, bob, done.file.id) == data
        await close_all([alice, bob])


class FullDisk(Disk):
    """A disk that fills up after ``room`` bytes of uploads."""

    def __init__(self, root: Path, room: int) -> None:
        super().__init__(root)
        self.room = room

    def write(self, fd: int, data: memoryview) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        done = super().write(fd, data[: self.room])
        self.room -= done
        return done


async def test_a_full_disk_is_quota_exceeded_and_keeps_what_was_written(tmp_path: Path) -> None:
    data = random.Random(7).randbytes(3 * MIB)
    disk = FullDisk(tmp_path, room=MIB)
    server = Server(loopback_config(rate=0), make_store(loopback_config()), disk=disk)
    await server.start()
    try:
        (alice,) = await in_lobby(server.port, "alice")
        ticket = await offer(alice, data, room="lobby")
        side = await Side.open(server.port, ticket.token)
        await side.ready()
        side.writer.write(data)
        await side.refused("quota_exceeded")
        again = await offer(alice, data, room="lobby")
        assert again.offset == MIB  # the part that reached the disk is kept, and counted
        assert (tmp_path / "partial").iterdir().__next__().stat().st_size == MIB
        disk.room = 10 * MIB  # space again: the upload resumes
        side = await Side.open(server.port, again.token)
        assert (await side.ready()).offset == MIB
        await side.send(data[MIB:])
        done = await side.frame()
        assert isinstance(done, TransferDone)
        await side.close()
        await sync(alice)
        assert await download(server.port, alice, done.file.id) == data
        await alice.close()
    finally:
        await server.shutdown()


class SlowToClose(Disk):
    """A disk whose partial files take ``delay`` seconds to close (a slow flush)."""

    def __init__(self, root: Path, delay: float) -> None:
        super().__init__(root)
        self.delay = delay

    async def run(self, work: Callable[[], T]) -> T:
        if isinstance(work, functools.partial) and work.func is os.close:
            await asyncio.sleep(self.delay)
        return await super().run(work)


async def test_an_upload_resumed_at_once_waits_for_the_last_writes_of_the_one_cut(
    tmp_path: Path,
) -> None:
    data = random.Random(11).randbytes(MIB)
    disk = SlowToClose(tmp_path, delay=0.5)
    server = Server(loopback_config(rate=0), make_store(loopback_config()), disk=disk)
    await server.start()
    try:
        (alice,) = await in_lobby(server.port, "alice")
        ticket = await offer(alice, data, room="lobby")
        side = await Side.open(server.port, ticket.token)
        await side.ready()
        await side.send(data[:300_000])
        await side.close()
        for _ in range(100):  # until the server has seen the cut (its file is still open)
            again = await offer(alice, data, room="lobby")
            if again.offset:
                break
            await asyncio.sleep(0.05)
        assert again.offset == 300_000
        side = await Side.open(server.port, again.token)
        assert (await side.ready()).offset == 300_000  # not rate_limited: it waited
        await side.send(data[300_000:])
        done = await side.frame()
        assert isinstance(done, TransferDone)
        await side.close()
        assert await download(server.port, alice, done.file.id) == data
        await alice.close()
    finally:
        await server.shutdown()


async def test_files_and_interrupted_uploads_survive_a_restart_with_db(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.db")
    kept = random.Random(3).randbytes(200_000)
    async with serving(db=db, rate=0) as server:
        alice, bob = await in_lobby(server.port, "alice", "bob")
        room_file = await upload(server.port, alice, b"minutes", room="lobby")
        whispered = await upload(server.port, alice, b"for bob", to="bob")
        ticket = await offer(alice, kept, room="lobby")
        side = await Side.open(server.port, ticket.token)
        await side.ready()
        await side.send(kept[:50_000])
        await side.close()
        await asyncio.sleep(0.1)
        await close_all([alice, bob])
    assert (tmp_path / "hub.db.files" / "objects").is_dir()

    async with serving(db=db, rate=0) as server:
        alice, bob, carol = await welcomed(server.port, "alice", "bob", "carol")
        assert await download(server.port, carol, room_file.id) == b"minutes"
        assert await download(server.port, bob, whispered.id) == b"for bob"
        await carol.send(FileGet(file=whispered.id))
        await expect_error(carol, "no_such_file")
        await carol.send(ListFiles(room="lobby"))
        assert (await carol.recv_until(FileList)).files == [room_file]
        await alice.join("lobby")
        assert (await offer(alice, kept, room="lobby")).offset == 50_000
        await close_all([alice, bob, carol])


async def test_two_nodes_sharing_redis_and_a_files_dir_serve_each_other_s_files(
    redis_server: RedisProcess, tmp_path: Path
) -> None:
    assert redis_server.command("FLUSHALL") == "+OK"
    data = random.Random(5).randbytes(500_000)
    shared = {"redis": redis_server.url, "files_dir": str(tmp_path), "rate": 0}
    async with (
        run_server(loopback_config(**shared)) as one,
        run_server(loopback_config(**shared)) as two,
    ):
        alice = await WireClient.connect(one.port)
        await alice.hello("alice")
        bob = await WireClient.connect(two.port)
        await bob.hello("bob")
        await alice.join("lobby")
        await bob.join("lobby")
        file = await upload(one.port, alice, data, room="lobby")
        message = await bob.recv_until(Message)
        assert message.file == file
        assert await download(two.port, bob, file.id) == data
        whispered = await upload(one.port, alice, b"psst", to="bob")
        assert (await bob.recv_until(WhisperMessage)).file == whispered  # bob's node knows it
        assert await download(two.port, bob, whispered.id) == b"psst"
        await bob.send(ListFiles(room="lobby"))
        assert (await bob.recv_until(FileList)).files == [file]
        await close_all([alice, bob])


async def test_without_db_or_files_dir_files_live_in_a_temporary_directory_removed_at_exit(
    tmp_path: Path,
) -> None:
    async with serving(rate=0) as server:
        (alice,) = await in_lobby(server.port, "alice")
        await upload(server.port, alice, b"fleeting", room="lobby")
        root = server.files.disk.root
        assert root.name.startswith("hubbub-files-")
        assert any((root / "objects").rglob("*"))
        await alice.close()
    assert not root.exists()
    async with serving(db=str(tmp_path / "hub.db"), rate=0) as server:
        assert server.files.disk.root == tmp_path / "hub.db.files"
    assert (tmp_path / "hub.db.files").is_dir()  # kept: it is the server's to keep
