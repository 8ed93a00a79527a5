"""An upload's sink ending while one of its jobs runs: the end is never lost."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chat_server.files.upload import UploadSink


class HeldReceive:
    """A runner that holds each job receiving from the socket until :attr:`go` is set."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.go = asyncio.Event()

    async def __call__(self, work: Callable[[], Any]) -> Any:
        if isinstance(work, functools.partial) and work.func.__name__ == "_receive":
            self.entered.set()
            await self.go.wait()
        return work()


@pytest.mark.parametrize("peer_closes", [True, False], ids=["peer-closed", "nothing-yet"])
async def test_stop_during_a_receive_job_ends_the_sink(tmp_path: Path, peer_closes: bool) -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    runner = HeldReceive()
    sink = UploadSink(tmp_path / "partial", 0, runner)
    sink.start()
    try:
        pulled = sink.pull(ours.fileno(), 3)
        await asyncio.wait_for(runner.entered.wait(), 2)
        if peer_closes:
            theirs.close()
        stopping = asyncio.create_task(sink.stop())
        await asyncio.sleep(0)  # stop() has marked the end while the job still runs
        runner.go.set()
        assert await asyncio.wait_for(stopping, 2) == 0
        assert pulled.result() is False
    finally:
        ours.close()
        theirs.close()


async def test_pulled_bytes_are_written_and_hashed(tmp_path: Path) -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)

    async def inline(work: Callable[[], Any]) -> Any:
        return work()

    sink = UploadSink(tmp_path / "partial", 0, inline)
    sink.start()
    try:
        pulled = sink.pull(ours.fileno(), 5)
        theirs.sendall(b"hello")
        assert await asyncio.wait_for(pulled, 2) is True
        assert await sink.finish() == hashlib.sha256(b"hello").hexdigest()
        assert (tmp_path / "partial").read_bytes() == b"hello"
    finally:
        ours.close()
        theirs.close()
