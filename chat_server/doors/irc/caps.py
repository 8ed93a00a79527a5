"""IRCv3 capability negotiation (``CAP``) as a small state machine.

The rule, from IRCv3 "Client Capability Negotiation":

- ``CAP LS`` or ``CAP REQ`` before registration holds registration until
  ``CAP END``; a later ``LS`` or ``REQ`` before registration holds it again.
  After registration ``CAP`` still works but holds nothing, and ``END`` is
  ignored.
- ``REQ`` is accepted (``ACK``) or refused (``NAK``) as a whole: one unknown
  name refuses all.  Enabling an enabled capability, or disabling a disabled
  one, is accepted.
- ``LS 302`` (or higher) is remembered for the connection, the highest
  version seen: it shows capability values and allows multi-line ``LS`` and
  ``LIST`` replies, every line but the last marked ``*``.  An ``LS`` asking a
  lower version is answered in that version's form.
- Any other subcommand gets 410, a ``CAP`` with none 461.

:data:`TRANSITIONS` is the whole machine: state, then subcommand, then the
next state.  A subcommand missing from a state's row leaves it unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence

from .numerics import (
    ERR_INVALIDCAPCMD,
    ERR_NEEDMOREPARAMS,
    pack_words,
    reply,
    safe_param,
)
from .wire import MAX_LINE, IrcMessage

#: What the gateway offers (no values).
CAPABILITIES: Mapping[str, str] = {
    name: ""
    for name in (
        "away-notify",
        "batch",
        "draft/chathistory",
        "echo-message",
        "message-tags",
        "multi-prefix",
        "server-time",
        "standard-replies",
    )
}
CAP_VERSION_302 = 302


class CapState(enum.Enum):
    IDLE = "idle"  # before registration, holding nothing
    NEGOTIATING = "negotiating"  # before registration, holding it until CAP END
    REGISTERED = "registered"  # after registration: nothing is ever held


TRANSITIONS: Mapping[CapState, Mapping[str, CapState]] = {
    CapState.IDLE: {"LS": CapState.NEGOTIATING, "REQ": CapState.NEGOTIATING},
    CapState.NEGOTIATING: {"END": CapState.IDLE},
    CapState.REGISTERED: {},
}
SUBCOMMANDS = frozenset({"LS", "LIST", "REQ", "END"})


class CapNegotiation:
    """One connection's capabilities.

    Pass each ``CAP`` message's parameters to :meth:`handle` and send what it
    returns; read :attr:`held` before completing registration and call
    :meth:`registered` once it is complete.  :attr:`enabled` is what the
    client negotiated.
    """

    __slots__ = ("_enabled", "available", "state", "version")

    def __init__(self, available: Mapping[str, str] = CAPABILITIES) -> None:
        self.available = available  # read only: shared by every connection
        self.state = CapState.IDLE
        self.version = 0
        self._enabled: frozenset[str] = frozenset()

    @property
    def enabled(self) -> frozenset[str]:
        return self._enabled

    @property
    def held(self) -> bool:
        """Whether negotiation holds registration back."""
        return self.state is CapState.NEGOTIATING

    def registered(self) -> None:
        """Registration is complete: from now on nothing is held."""
        self.state = CapState.REGISTERED

    def handle(self, params: Sequence[str], *, server: str, nick: str | None) -> list[IrcMessage]:
        """Answer one ``CAP`` command given its parameters, and move the state.

        ``nick`` is the client's nick, or ``None`` before it has one.
        """
        if not params:
            return [reply(server, nick, ERR_NEEDMOREPARAMS, "CAP")]
        subcommand = params[0].upper()
        if subcommand not in SUBCOMMANDS:
            return [reply(server, nick, ERR_INVALIDCAPCMD, params[0])]
        if subcommand == "REQ" and len(params) < 2:
            return [reply(server, nick, ERR_NEEDMOREPARAMS, "CAP")]
        self.state = TRANSITIONS[self.state].get(subcommand, self.state)
        target = safe_param(nick or "*")
        if subcommand == "LS":
            version = _version(params[1]) if len(params) > 1 else 0
            self.version = max(self.version, version)
            shown = [
                f"{name}={value}" if value and version >= CAP_VERSION_302 else name
                for name, value in sorted(self.available.items())
            ]
            return _listing(server, target, "LS", shown, multiline=version >= CAP_VERSION_302)
        if subcommand == "LIST":
            shown = sorted(self._enabled)
            return _listing(
                server, target, "LIST", shown, multiline=self.version >= CAP_VERSION_302
            )
        if subcommand == "REQ":
            return [self._request(params[1], server=server, target=target)]
        return []

    def _request(self, text: str, *, server: str, target: str) -> IrcMessage:
        names = text.split()
        wanted = set(self._enabled)
        for name in names:
            enable = not name.startswith("-")
            cap = name.removeprefix("-")
            if cap not in self.available:
                return IrcMessage("CAP", [target, "NAK", " ".join(names)], source=server)
            if enable:
                wanted.add(cap)
            else:
                wanted.discard(cap)
        self._enabled = frozenset(wanted)
        return IrcMessage("CAP", [target, "ACK", " ".join(names)], source=server)


def _version(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0


def _listing(
    server: str, target: str, subcommand: str, names: Iterable[str], *, multiline: bool
) -> list[IrcMessage]:
    """``CAP target LS|LIST [*] :names``, split to fit 512 bytes a line."""
    longest = IrcMessage("CAP", [target, subcommand, "*", ""], source=server)
    chunks = pack_words(list(names), MAX_LINE - longest.body_size()) or [""]
    more = ["*"] if multiline else []
    return [
        IrcMessage("CAP", [target, subcommand, *(more if i < len(chunks) - 1 else []), chunk],
                   source=server)
        for i, chunk in enumerate(chunks)
    ]  # fmt: skip
