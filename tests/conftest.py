from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chat_server.config import Config
from chat_server.server import Server, run_server


def loopback_config(**changes: object) -> Config:
    """Settings for a test server on a free loopback port."""
    return Config(host="127.0.0.1", port=0).replace(**changes)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with run_server(loopback_config()) as running:
        yield running
