"""Shared test helpers: waiting on conditions without polling sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from protocol import Message, WhisperMessage

T = TypeVar("T")


class Recorder(Generic[T]):
    """A callback that records what it is given; tests wait on the record."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._changed = asyncio.Event()

    def __call__(self, item: T) -> None:
        self.items.append(item)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[list[T]], bool], timeout: float = 5.0) -> None:
        """Return once ``predicate(items)`` holds; raises TimeoutError after ``timeout``."""
        async with asyncio.timeout(timeout):
            while not predicate(self.items):
                self._changed.clear()
                await self._changed.wait()


def message(
    text: str,
    *,
    nick: str = "bob",
    room: str = "general",
    seq: int = 1,
    action: bool = False,
    ts: float = 0.0,
    id: str | None = None,
) -> Message:
    """A server ``message`` as it arrives off the wire."""
    return Message.model_validate(
        {"room": room, "from": nick, "text": text, "ts": ts, "seq": seq, "action": action, "id": id}
    )


def whisper(text: str, *, nick: str = "bob", to: str = "alice") -> WhisperMessage:
    return WhisperMessage.model_validate({"from": nick, "to": to, "text": text, "ts": 0.0})
