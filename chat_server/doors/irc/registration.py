"""Connection registration: ``PASS``, ``NICK`` and ``USER`` in any order, held
back while ``CAP`` negotiation is in progress.

The rule, from the modern IRC document's "Connection Registration" and IRCv3
capability negotiation:

- Before registration only :data:`PRE_REGISTRATION` commands are accepted;
  anything else gets 451.  ``PING``, ``PONG`` and ``QUIT`` are the door's.
- ``PASS`` is kept (the last one counts); ``NICK`` is checked for form only
  (431 without one, 432 for one hubbub cannot hold); ``USER`` needs four
  parameters (461).  After registration ``PASS`` and ``USER`` get 462.
- Registration is ready once there is a nick and a ``USER`` and ``CAP`` does
  not hold it.

:data:`PHASES` draws the machine.  The door drives it: after each message it
reads :attr:`Registration.phase`; on ``READY`` it calls
:meth:`Registration.begin` and sends the hub ``hello`` with :attr:`nick` and
:attr:`password`.  On ``welcome`` it calls :meth:`Registration.complete`; on
``nick_taken`` it answers 433 and calls :meth:`Registration.nick_refused`; on
``auth_failed`` it answers 464 and closes.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

from protocol import is_valid_nick

from .caps import CapNegotiation
from .errors import LocalIrcError
from .numerics import (
    ERR_ALREADYREGISTERED,
    ERR_ERRONEUSNICKNAME,
    ERR_NEEDMOREPARAMS,
    ERR_NONICKNAMEGIVEN,
    ERR_NOTREGISTERED,
    reply,
)
from .wire import IrcMessage

#: What a client may send before it is registered.
PRE_REGISTRATION = frozenset({"CAP", "PASS", "NICK", "USER", "PING", "PONG", "QUIT"})
MAX_USERNAME = 16
_NOT_USERNAME = re.compile(r"[^A-Za-z0-9_.-]")


class Phase(enum.Enum):
    CONNECTED = "connected"  # waiting for NICK, USER, or CAP END
    READY = "ready"  # all in: the door may ask the hub now
    REGISTERING = "registering"  # the door has sent hello and awaits the answer
    REGISTERED = "registered"  # welcomed: every command is the door's


#: Each phase, the events that leave it, and where they lead.
PHASES: Mapping[Phase, Mapping[str, Phase]] = {
    Phase.CONNECTED: {"nick and USER in, CAP not holding": Phase.READY},
    Phase.READY: {"begin()": Phase.REGISTERING, "CAP LS/REQ": Phase.CONNECTED},
    Phase.REGISTERING: {"complete()": Phase.REGISTERED, "nick_refused()": Phase.CONNECTED},
    Phase.REGISTERED: {},
}


class Registration:
    """One connection's registration; ``caps`` is its :class:`CapNegotiation`."""

    def __init__(self, caps: CapNegotiation | None = None) -> None:
        self.caps = caps if caps is not None else CapNegotiation()
        self.password: str | None = None
        self.nick: str | None = None
        #: The ``USER`` name, reduced to ``A-Z a-z 0-9 _ . -`` (at most 16), so
        #: that ``nick!user@host`` stays one word; ``user`` if nothing is left.
        self.username: str | None = None
        self.realname: str | None = None
        self._begun = False
        self._registered = False

    @property
    def phase(self) -> Phase:
        if self._registered:
            return Phase.REGISTERED
        if self._begun:
            return Phase.REGISTERING
        if self.nick is not None and self.username is not None and not self.caps.held:
            return Phase.READY
        return Phase.CONNECTED

    def accepts(self, command: str) -> bool:
        """Whether ``command`` may be acted on now (else answer 451)."""
        return self._registered or command.upper() in PRE_REGISTRATION

    def handle(self, message: IrcMessage, *, server: str) -> list[IrcMessage]:
        """Take ``CAP``, ``PASS``, ``NICK`` or ``USER`` and return the replies.

        Any other command before registration is answered 451.  After
        registration ``NICK`` is a nick change for the hub, not for this
        object: passing it raises :class:`LocalIrcError`.
        """
        command, params = message.command, message.params
        if command == "CAP":
            return self.caps.handle(params, server=server, nick=self.nick)
        if self._registered:
            if command in ("PASS", "USER"):
                return [reply(server, self.nick, ERR_ALREADYREGISTERED)]
            raise LocalIrcError(f"{command} after registration is not registration's")
        if command == "PASS":
            if not params:
                return [reply(server, self.nick, ERR_NEEDMOREPARAMS, command)]
            self.password = params[0]
        elif command == "NICK":
            if not params or not params[0]:
                return [reply(server, self.nick, ERR_NONICKNAMEGIVEN)]
            if not is_valid_nick(params[0]):
                return [reply(server, self.nick, ERR_ERRONEUSNICKNAME, params[0])]
            self.nick = params[0]
        elif command == "USER":
            if len(params) < 4:
                return [reply(server, self.nick, ERR_NEEDMOREPARAMS, command)]
            self.username = _NOT_USERNAME.sub("", params[0])[:MAX_USERNAME] or "user"
            self.realname = params[3]
        elif command not in PRE_REGISTRATION:
            return [reply(server, self.nick, ERR_NOTREGISTERED)]
        return []

    def begin(self) -> None:
        """The door is asking the hub to register :attr:`nick`: it reads no
        further line until the hub answers.  Raises :class:`LocalIrcError`
        unless the phase is ``READY``."""
        if self.phase is not Phase.READY:
            raise LocalIrcError(f"cannot begin registration in phase {self.phase.value}")
        self._begun = True

    def complete(self, nick: str) -> None:
        """The hub welcomed the client as ``nick`` (its spelling)."""
        if self.phase is not Phase.REGISTERING:
            raise LocalIrcError(f"cannot complete registration in phase {self.phase.value}")
        self.nick = nick
        self._registered = True
        self.caps.registered()

    def nick_refused(self) -> None:
        """The hub refused the nick (433 sent): wait for another ``NICK``."""
        if self.phase is not Phase.REGISTERING:
            raise LocalIrcError(f"no nick to refuse in phase {self.phase.value}")
        self.nick = None
        self._begun = False
