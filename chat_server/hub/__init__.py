"""The hub: rooms, members and fan-out, with no transport (see :mod:`.core`).

Imports go one way: ``member``, ``settings``, ``limits``, ``stats`` < ``roster``,
``bans`` < ``fitting``, ``post`` < ``context`` < ``gate`` < ``enforce`` <
``mirror`` < ``posting`` < ``handlers``, ``moderation``, ``operators`` < ``core``.
Nothing here imports a door, the configuration or a store.
"""

from __future__ import annotations

from .core import Hub, Refusal, Request
from .member import Member, Out
from .roster import Phase, Room, Seat
from .settings import Settings

__all__ = ["Hub", "Member", "Out", "Phase", "Refusal", "Request", "Room", "Seat", "Settings"]
