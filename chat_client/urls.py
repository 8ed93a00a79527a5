"""Web addresses in message text: finding them, and the recent ones for ``/url``.

:func:`find_urls` is the one definition of what counts as an address (the
wrapper keeps them whole, ``/url`` lists them).  :class:`RecentUrls` keeps
the last :data:`KEPT` seen, newest last; the text it holds has already been
sanitised by the line builders, so it may be shown as it is.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["KEPT", "URL_RE", "RecentUrls", "SeenUrl", "find_urls", "is_url"]

#: ``scheme://rest`` up to white space; closing punctuation is trimmed by :func:`find_urls`.
URL_RE = re.compile(
    r"\b(?:https?|ftps?|gopher|ircs?|ssh|sftp|file)://[^\s<>\"]+|\bwww\.[^\s<>\"]+\.[^\s<>\"]+"
)
_TRAILING = ".,;:!?'\")]}>"
#: Addresses ``/url`` remembers.
KEPT = 100


def find_urls(text: str) -> Iterator[str]:
    """The addresses in ``text``, in order, without trailing punctuation."""
    for match in URL_RE.finditer(text):
        url = match.group()
        while url and url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break  # a wiki link such as .../Foo_(bar)
            url = url[:-1]
        if url:
            yield url


def is_url(word: str) -> bool:
    """Whether the word (no white space) holds an address the wrapper must keep whole."""
    return ("://" in word or "www." in word) and URL_RE.search(word) is not None


@dataclass(frozen=True)
class SeenUrl:
    """One address: when (unix seconds), where (window name) and who said it."""

    ts: float
    where: str
    nick: str
    url: str


class RecentUrls:
    """The last :data:`KEPT` addresses seen, oldest first."""

    def __init__(self, kept: int = KEPT) -> None:
        self._seen: deque[SeenUrl] = deque(maxlen=kept)

    def note(self, text: str, *, ts: float, where: str, nick: str) -> None:
        """Remember every address in ``text`` (already sanitised)."""
        for url in find_urls(text):
            self._seen.append(SeenUrl(ts, where, nick, url))

    def latest(self, count: int) -> list[SeenUrl]:
        """The newest ``count`` addresses, oldest first."""
        return list(self._seen)[-count:] if count > 0 else []

    def __len__(self) -> int:
        return len(self._seen)
