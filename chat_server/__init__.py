"""hubbub's chat server: an asyncio hub of rooms speaking the protocol package."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hubbub")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
