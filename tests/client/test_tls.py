"""chat-client --tls against chat-server --tls-cert/--tls-key, both real processes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .processes import CLIENT, ChatServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[ChatServer]:
    cert, key = certificate
    server = ChatServer("--tls-cert", str(cert), "--tls-key", str(key)).start()
    try:
        yield server
    finally:
        server.kill()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLIENT, *args, "--nick", "bot", "--room", "general"],
        input="secret hello\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_tls_with_the_servers_certificate_trusted(
    tls_server: ChatServer, certificate: tuple[Path, Path]
) -> None:
    done = run(f"127.0.0.1:{tls_server.port}", "--tls", "--tls-ca", str(certificate[0]))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "general <bot> secret hello\n"


def test_tls_refuses_an_unknown_certificate_in_one_line(tls_server: ChatServer) -> None:
    done = run(f"127.0.0.1:{tls_server.port}", "--tls")
    assert done.returncode == 1
    assert done.stderr.startswith(f"chat-client: TLS with 127.0.0.1:{tls_server.port} failed: ")
    assert "CERTIFICATE_VERIFY_FAILED" in done.stderr
    assert done.stderr.count("\n") == 1


def test_tls_insecure_skips_verification(tls_server: ChatServer) -> None:
    done = run(f"127.0.0.1:{tls_server.port}", "--tls-insecure")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "general <bot> secret hello\n"
