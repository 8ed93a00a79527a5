from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chat_server.config import Config
from chat_server.server import Server, run_server
from tests.storage.redis_process import RedisProcess

#: The stores a server under test can run on.
BACKENDS = ("memory", "sqlite", "redis")
#: Test modules (by name) that make up the acceptance suite, run on every backend.
ACCEPTANCE = frozenset(
    {"test_rooms", "test_messaging", "test_gateway_chat", "test_gateway_history"}
)
#: Every other server test runs on this backend (memory unless set).
DEFAULT_BACKEND = os.environ.get("HUBBUB_TEST_BACKEND", "memory")
INSTALL_REDIS = Path(__file__).resolve().parent.parent / "scripts" / "install-redis.sh"


def pytest_configure(config: pytest.Config) -> None:
    """Install Debian's redis-server for the Redis tests if it is missing.

    Done here rather than in a fixture so apt-get does not count against a
    test's timeout.  If it cannot be installed (no root, no apt-get) the Redis
    tests fail with a message that names the script; the others still run.
    """
    if shutil.which("redis-server") is None:
        subprocess.run([str(INSTALL_REDIS)], stdin=subprocess.DEVNULL, check=False)


#: Settings that put the current test's servers on its backend.
_store_settings: dict[str, Any] = {}


def loopback_config(**changes: object) -> Config:
    """Settings for a test server on a free loopback port, on the test's backend,
    not advertised over mDNS (``no_advertise=False`` in ``changes`` advertises it).

    ``db=...`` or ``redis=...`` in ``changes`` replaces the backend's own store settings.
    """
    settings: dict[str, object] = {}
    if "db" not in changes and "redis" not in changes:
        settings.update(_store_settings)
    settings.update(changes)
    return Config(host="127.0.0.1", port=0, no_advertise=True).replace(**settings)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "store_backend" in metafunc.fixturenames and module in ACCEPTANCE:
        metafunc.parametrize("store_backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def store_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The store of this test's servers: a parameter in the acceptance suite."""
    name: str = getattr(request, "param", DEFAULT_BACKEND)
    if name == "sqlite":
        path: Path = request.getfixturevalue("tmp_path") / "hub.db"
        _store_settings["db"] = str(path)
    elif name == "redis":
        redis: RedisProcess = request.getfixturevalue("redis_server")
        if redis.command("FLUSHALL") != "+OK":
            raise RuntimeError("the test redis-server does not answer")
        _store_settings["redis"] = redis.url
    elif name != "memory":
        raise ValueError(f"unknown backend {name!r}")
    try:
        yield name
    finally:
        _store_settings.clear()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """One redis-server for the whole run (each test using it starts empty)."""
    redis = RedisProcess(tmp_path_factory.mktemp("redis"))
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with run_server(loopback_config()) as running:
        yield running


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost, made with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("TLS tests need the openssl command (or the cryptography package)")
    directory = tmp_path_factory.mktemp("tls")
    files = TlsFiles(cert=directory / "cert.pem", key=directory / "key.pem")
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(files.key), "-out", str(files.cert), "-days", "2",
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return files
