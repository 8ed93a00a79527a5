"""``python -m chat_client.demo_bot``: a small bot for the demo, a client like any other.

It joins a room, greets whoever joins, and posts one of a few lines whenever
the room has been quiet for ``--every`` seconds, so a newcomer never finds an
empty room.  It is the client's own :class:`~chat_client.reconnect.Connection`
with a few event handlers: pings are answered for it, and when the server goes
away it reconnects with backoff (taking ``NICK_`` if its nick is held) and
joins its room again.  It stops only when the server refuses it for good
(a password it does not have), with exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import random
import sys
import time
from collections.abc import Callable, Sequence

from protocol import Join, Joined, Message, Presence, Say, fold

from .events import Connected, Disconnected, Event, GaveUp, Incoming, Retrying
from .link import ConnectFailed, Endpoint, Refused
from .reconnect import Connection

__all__ = ["LINES", "DemoBot", "main", "parse_args", "run"]

log = logging.getLogger("chat_client.demo_bot")

LINES = (
    "Tip: /join another-room to start a new room, /list shows them all.",
    "Tip: /msg NICK text whispers to one person.",
    "Tip: /topic sets what this room is about.",
    "Anyone around? Say hi, the room is listening.",
    "Fun fact: every message here carries a seq, so clients notice a gap.",
)


class DemoBot:
    """The bot in ``room`` of the server at ``endpoint``.  Run it with :meth:`run`.

    ``every`` is the seconds of quiet (no message from anyone else) before it
    posts; ``hint`` ends each greeting; ``clock`` measures the quiet.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        nick: str,
        *,
        room: str,
        every: float,
        hint: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.room = room
        self.every = every
        self.hint = hint
        self.clock = clock
        self.connection = Connection(endpoint, nick, on_event=self._on_event)
        self._lines = itertools.cycle(random.sample(LINES, len(LINES)))
        self._joined = False
        self._quiet_since = clock()

    async def run(self) -> int:
        """Chat until the server refuses the bot for good (returns 1) or until cancelled.

        On cancellation it says ``quit`` (waiting a second at most) before it
        lets the cancellation through.
        """
        chatter = asyncio.create_task(self._chatter())
        try:
            try:
                welcome = await self.connection.connect()
            except (ConnectFailed, Refused) as exc:
                log.warning("connection to %s failed: %s", self.connection.endpoint, exc)
            else:
                self._on_event(Connected(welcome, again=False))
            await self.connection.run()
            return 1
        finally:
            chatter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chatter
            await self.connection.quit(wait=1.0)

    def _on_event(self, event: Event) -> None:
        me = fold(self.connection.nick)
        match event:
            case Connected():
                log.info("connected as %s", self.connection.nick)
                self._joined = False
                self._quiet_since = self.clock()
                self.connection.send(Join(room=self.room))
            case Incoming(message=Joined(room=room)) if fold(room) == fold(self.room):
                self._joined = True
            case Incoming(message=Presence(event="join", nick=nick, room=room)) if fold(nick) != me:
                text = f"Welcome to {room}, {nick}! {self.hint}".strip()
                self.connection.send(Say(room=room, text=text))
            case Incoming(message=Message(from_=sender)) if fold(sender) != me:
                self._quiet_since = self.clock()
            case Disconnected(reason=reason):
                self._joined = False
                log.warning("disconnected: %s", reason)
            case Retrying(delay=delay, error=error) if error:
                log.warning("connecting again in %.0f s: %s", delay, error)
            case GaveUp(reason=reason):
                log.error("giving up: %s", reason)

    async def _chatter(self) -> None:
        """Post a line whenever the room has been quiet for :attr:`every` seconds."""
        while True:
            wait = self._quiet_since + self.every - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if self._joined:
                self.connection.send(Say(room=self.room, text=next(self._lines)))
            self._quiet_since = self.clock()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The bot's options; exits 2 on a bad one, as argparse does."""
    parser = argparse.ArgumentParser(prog="hubbub-demo-bot", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7878)
    parser.add_argument("--nick", default="hubbot")
    parser.add_argument("--room", default="lobby")
    parser.add_argument("--every", type=float, default=120.0, help="seconds of quiet per post")
    parser.add_argument("--hint", default="Type /help for the commands.")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    """Run the bot that ``args`` (from :func:`parse_args`) describe; see :meth:`DemoBot.run`."""
    bot = DemoBot(
        Endpoint(args.host, args.port), args.nick, room=args.room, every=args.every, hint=args.hint
    )
    return await bot.run()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bot until Ctrl-C (exit 0) or until the server refuses it for good (1)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
