"""Frames that fit ``max_frame``: pure functions of the models and the limit.

No frame the server sends exceeds ``max_frame`` (docs/protocol.md): histories drop
their oldest messages until they fit, lists are cut short and marked
``truncated``.  Each function encodes what it returns, so the caller sends it
as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import islice
from typing import TypeVar

from pydantic import BaseModel

from protocol import HEADER_SIZE, Message, encode

from .member import Out

T = TypeVar("T")


def fits(frame: bytes, max_frame: int) -> bool:
    """Whether an encoded frame's body is within ``max_frame`` bytes."""
    return len(frame) - HEADER_SIZE <= max_frame


def newest(items: Sequence[T], count: int) -> list[T]:
    """The last ``count`` items, oldest first."""
    return list(islice(items, max(0, len(items) - count), None))


def fit_history(
    build: Callable[[list[Message]], BaseModel], messages: list[Message], max_frame: int
) -> Out | None:
    """``build(messages)``, dropping the oldest messages until it fits; ``None`` if even
    no message at all does not fit."""
    total = len(messages)
    count = largest_fitting(total, lambda n: fits(encode(build(messages[total - n :])), max_frame))
    if count is None:
        return None
    return Out.of(build(messages[total - count :]))


def fit_list(build: Callable[[list[T], bool], BaseModel], items: list[T], max_frame: int) -> Out:
    """``build(items, False)``, or the longest prefix that fits, built with ``True`` (truncated)."""
    whole = build(items, False)
    frame = encode(whole)
    if fits(frame, max_frame):
        return Out((whole,), frame)
    count = largest_fitting(
        len(items) - 1, lambda n: fits(encode(build(items[:n], True)), max_frame)
    )
    return Out.of(build(items[: count or 0], True))


def largest_fitting(most: int, fits: Callable[[int], bool]) -> int | None:
    """The largest n in 0..most with ``fits(n)``, assuming fits is monotone; ``None`` if none."""
    if most < 0 or not fits(0):
        return None
    if fits(most):
        return most
    low, high = 0, most  # fits(low) and not fits(high)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low
