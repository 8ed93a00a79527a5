"""The hub: rooms, members and fan-out, with no transport (see :mod:`.core`).

Imports go one way: ``member``, ``settings``, ``limits``, ``stats`` < ``roster``,
``bans`` < ``tickets``, ``fitting``, ``post``, ``history`` < ``context`` <
``gate``, ``queries`` < ``enforce`` < ``mirror`` < ``posting`` < ``handlers`` <
``filing``, ``moderation``, ``operators``, ``console`` < ``core``.  Nothing here imports a
door, the configuration or a store; shared files come from
:mod:`chat_server.files`.  Doors use :class:`Hub` and what it returns, and read
the hub's state only through :class:`Queries` (``hub.queries``).
"""

from __future__ import annotations

from .core import Hub, Refusal, Request
from .history import Moment, Query, Seq
from .member import Member, Out
from .queries import Page, Queries, RoomFacts
from .roster import Phase, Room, Seat
from .settings import Settings
from .tickets import Ticket

__all__ = [
    "Hub",
    "Member",
    "Moment",
    "Out",
    "Page",
    "Phase",
    "Queries",
    "Query",
    "Refusal",
    "Request",
    "Room",
    "RoomFacts",
    "Seat",
    "Seq",
    "Settings",
    "Ticket",
]
