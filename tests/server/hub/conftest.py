"""Fixtures of the hub's socket-free tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.server.hub.fakes import Bench, shared_hub


@pytest.fixture
async def shared_bench() -> AsyncIterator[Bench]:
    """A hub on a shared fake store with the default settings (see :func:`shared_hub`)."""
    async with shared_hub() as bench:
        yield bench
