"""Which IRC command a request came from, so the hub's answer is worded as its reply."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Asked:
    """The context of one request the door hands the hub.

    ``command`` is the IRC command (``JOIN``, ``NAMES``, ``WHO``, ``MODE``...);
    ``target`` the channel or nick it named, as sent; ``nick`` a second
    target (the nick of ``KICK``, ``INVITE`` or ``MODE +o``); ``silent`` is set
    for ``NOTICE``, which never gets an automatic reply; ``lists`` for a
    command whose replies end with a numeric the client waits for (``NAMES``,
    ``WHO``, ``MODE #room b``): a refusal is that numeric alone.  ``targets``
    is the filter of ``LIST #a,#b``.
    """

    command: str
    target: str = "*"
    nick: str | None = None
    silent: bool = False
    lists: bool = False
    targets: tuple[str, ...] = ()
