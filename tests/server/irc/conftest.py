"""The IRC gateway's tests: installs the real IRC clients their slow group drives."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL_IRC_CLIENTS = Path(__file__).resolve().parents[3] / "scripts" / "install-irc-clients.sh"


def pytest_configure(config: pytest.Config) -> None:
    """Install Debian's irssi and WeeChat if they are missing.

    Done here rather than in a fixture so apt-get does not count against a
    test's timeout.  If they cannot be installed (no root, no apt-get) the
    real-client test fails with a message that names the script.
    """
    if shutil.which("irssi") is None or shutil.which("weechat") is None:
        subprocess.run([str(INSTALL_IRC_CLIENTS)], stdin=subprocess.DEVNULL, check=False)
