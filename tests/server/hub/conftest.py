"""Fixtures of the hub's socket-free tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.server.hub.fakes import Bench, SharedStore


@pytest.fixture
async def shared_bench() -> AsyncIterator[Bench]:
    """A hub on a shared fake store, opened; closed afterwards (its waits cancelled)."""
    bench = Bench(SharedStore())
    await bench.hub.open()
    try:
        yield bench
    finally:
        await bench.hub.close()
