"""A text longer than ``max_text`` cut into messages at word boundaries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_client.split import split_text


@pytest.mark.parametrize(
    ("text", "limit", "parts"),
    [
        ("short", 10, ["short"]),
        ("the quick brown fox", 10, ["the quick", "brown fox"]),
        ("aaaaaaaaaaaa bb", 5, ["aaaaa", "aaaaa", "aa bb"]),
        ("one two\nthree four five", 14, ["one two\nthree", "four five"]),
        ("first line\nsecond part of it", 18, ["first line", "second part of it"]),
        ("\U0001f469\u200d\U0001f4bb" * 3, 4, ["\U0001f469\u200d\U0001f4bb"] * 3),
        ("word " * 3, 5, ["word", "word", "word "]),
    ],
)
def test_split_text(text: str, limit: int, parts: list[str]) -> None:
    assert split_text(text, limit) == parts


@given(st.text(min_size=1, max_size=300), st.integers(min_value=1, max_value=40))
def test_parts_fit_and_lose_only_the_white_space_they_were_cut_at(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(len(part) <= limit for part in parts)
    assert "".join("".join(part.split()) for part in parts) == "".join(text.split())
