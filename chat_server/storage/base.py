"""What the stores that only this process uses have in common."""

from __future__ import annotations


class LocalStore:
    """What a store that only this process uses has in common.

    The hub's own nick table is the whole truth, so nicks need no claims:
    the hub never calls these when ``shared`` is ``False``.
    """

    shared = False

    async def claim_nick(self, nick: str) -> bool:
        return True

    async def release_nick(self, nick: str) -> None:
        pass

    async def nick_exists(self, nick: str) -> str | None:
        return None

    def health(self) -> str:
        return "ok"
