"""Every client test runs with its own empty settings and logs directories.

No ``CHAT_*`` variable, settings file or log directory of the person running
the tests reaches a client started here, and no test writes into their home.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import TlsFiles


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``XDG_CONFIG_HOME`` and ``XDG_DATA_HOME`` under the test's own directory."""
    for name in list(os.environ):
        if name.startswith("CHAT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def certificate(tls_files: TlsFiles) -> tuple[Path, Path]:
    """The test certificate for 127.0.0.1 and localhost, and its key."""
    return tls_files.cert, tls_files.key
