"""The hub: rooms, members and fan-out, with no transport (see :mod:`.core`).

Imports go one way: ``member``, ``settings``, ``limits``, ``stats`` < ``roster``,
``bans`` < ``tickets``, ``fitting``, ``post`` < ``context`` < ``gate`` <
``enforce`` < ``mirror`` < ``posting`` < ``handlers`` < ``filing``,
``moderation``, ``operators`` < ``core``.  Nothing here imports a door, the
configuration or a store; shared files come from :mod:`chat_server.files`.
"""

from __future__ import annotations

from .core import Hub, Refusal, Request
from .member import Member, Out
from .roster import Phase, Room, Seat
from .settings import Settings
from .tickets import Ticket

__all__ = [
    "Hub",
    "Member",
    "Out",
    "Phase",
    "Refusal",
    "Request",
    "Room",
    "Seat",
    "Settings",
    "Ticket",
]
