"""hubbub's terminal chat client: ``chat-client`` and ``python -m chat_client``."""

from __future__ import annotations
