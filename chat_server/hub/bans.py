"""The bans of every room, kept apart from the rooms: a room may be forgotten, its bans stay.

A ban is by nick (case-insensitive) or by address (an IP address or CIDR
network, matched against the address a connection came from).  An expired ban
ends by itself: :meth:`BanBook.match` and :meth:`BanBook.entries` never count
it, and drop it when they meet it.
"""

from __future__ import annotations

import ipaddress

from protocol import BanEntry, fold

from ..changes import ban_key

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> Address | None:
    """A connection's address (an IPv4-mapped IPv6 address as IPv4), or ``None``."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class BanBook:
    """Bans by folded room name; see the module docstring."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, BanEntry]] = {}
        #: Parsed networks of the address bans, so matching does not parse again.
        self._networks: dict[str, Network] = {}

    def add(self, room: str, ban: BanEntry) -> None:
        """Keep ``ban`` in ``room``, replacing one of the same nick or address."""
        self._rooms.setdefault(fold(room), {})[ban_key(ban.nick, ban.address)] = ban
        if ban.address is not None and ban.address not in self._networks:
            self._networks[ban.address] = ipaddress.ip_network(ban.address, strict=False)

    def remove(self, room: str, nick: str | None, address: str | None) -> BanEntry | None:
        """Lift the ban of ``nick`` or ``address`` in ``room``; returns it, or ``None``."""
        bans = self._rooms.get(fold(room))
        if bans is None:
            return None
        removed = bans.pop(ban_key(nick, address), None)
        if not bans:
            del self._rooms[fold(room)]
        return removed

    def get(self, room: str, nick: str | None, address: str | None, now: float) -> BanEntry | None:
        """The ban of exactly ``nick`` or ``address`` in ``room`` that still holds."""
        bans = self._rooms.get(fold(room))
        ban = bans.get(ban_key(nick, address)) if bans else None
        return ban if ban is not None and _holds(ban, now) else None

    def entries(self, room: str, now: float) -> list[BanEntry]:
        """The bans of ``room`` that still hold, oldest first."""
        bans = self._rooms.get(fold(room))
        if not bans:
            return []
        self._expire(room, bans, now)
        return list(bans.values())

    def match(self, room: str, nick: str, address: str, now: float) -> BanEntry | None:
        """The ban of ``room`` that keeps out ``nick`` connected from ``address``, if any."""
        bans = self._rooms.get(fold(room))
        if not bans:
            return None
        ban = bans.get(ban_key(nick, None))
        if ban is not None and _holds(ban, now):
            return ban
        peer: Address | None = None
        for ban in bans.values():
            if ban.address is None or not _holds(ban, now):
                continue
            if peer is None:
                peer = parse_address(address)
                if peer is None:
                    return None
            if peer in self._networks[ban.address]:
                return ban
        return None

    def covers(self, ban: BanEntry, nick: str, address: str) -> bool:
        """Whether ``ban`` (holding or not) names ``nick`` or covers ``address``."""
        if ban.nick is not None:
            return fold(ban.nick) == fold(nick)
        if ban.address is None:
            return False
        peer = parse_address(address)
        network = self._networks.get(ban.address) or ipaddress.ip_network(ban.address, strict=False)
        return peer is not None and peer in network

    def everything(self, now: float) -> list[tuple[str, BanEntry]]:
        """Every ban that still holds, as (folded room name, ban)."""
        return [(room, ban) for room in list(self._rooms) for ban in self.entries(room, now)]

    def _expire(self, room: str, bans: dict[str, BanEntry], now: float) -> None:
        for key in [key for key, ban in bans.items() if not _holds(ban, now)]:
            del bans[key]
        if not bans:
            self._rooms.pop(fold(room), None)


def _holds(ban: BanEntry, now: float) -> bool:
    return ban.until is None or ban.until > now
