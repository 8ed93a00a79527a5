"""Wiring for the interactive client: connection events -> state -> screen.

:class:`ChatClient` owns a :class:`~chat_client.reconnect.Connection` that
has already been welcomed, a :class:`~chat_client.state.ChatState` and the
prompt_toolkit application.  The connection's reader runs as the
application's background task; each event updates the state and asks for a
repaint, and those requests are coalesced into at most one redraw per
:data:`NETWORK_REPAINT_INTERVAL`, so a busy room never starves the input line.
A keystroke repaints at once: the typist never waits for the room.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from prompt_toolkit.application import Application
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output

from protocol import Welcome

from .commands import BellMode
from .events import Event
from .ignore import read_ignored
from .reconnect import Connection
from .state import ChatState
from .ui import build_application
from .windows import DEFAULT_SCROLLBACK

__all__ = ["ChatClient"]

logger = logging.getLogger(__name__)

#: Seconds between repaints caused by the network (at most 25 a second).
NETWORK_REPAINT_INTERVAL = 0.04


class ChatClient:
    """The interactive client.  Build it with a welcomed connection, then :meth:`run`."""

    def __init__(
        self,
        connection: Connection,
        *,
        rooms: Sequence[str] = (),
        scrollback: int = DEFAULT_SCROLLBACK,
        bell: BellMode = "mentions",
        input: Input | None = None,
        output: Output | None = None,
        ignore_file: Path | None = None,
    ) -> None:
        self.connection = connection
        self.rooms = list(rooms)
        self.state = ChatState(
            nick=connection.nick,
            server=str(connection.endpoint),
            send=connection.send,
            ring=self._ring,
            scrollback=scrollback,
            bell=bell,
            ignored=read_ignored(ignore_file) if ignore_file is not None else (),
            ignore_file=ignore_file,
        )
        self.state.nick_changed = self._nick_changed
        self.state.reconnect = connection.drop
        connection.on_event = self._on_event
        self.app: Application[int] = build_application(
            self.state, self._on_line, on_quit=self.quit, input=input, output=output
        )
        self._quitting = False
        self._repaint: asyncio.TimerHandle | None = None

    async def run(self, welcome: Welcome) -> int:
        """Show the screen until the user quits; returns the exit status (0)."""
        self.state.welcomed(welcome, again=False)
        for index, room in enumerate(self.rooms):
            self.state.join(room, switch=index == 0)
        return await self.app.run_async(pre_run=self._start)

    def _start(self) -> None:
        self.app.create_background_task(self.connection.run())

    def _on_event(self, event: Event) -> None:
        self.state.handle(event)
        if self._repaint is None:
            self._repaint = asyncio.get_running_loop().call_later(
                NETWORK_REPAINT_INTERVAL, self._repaint_now
            )

    def _repaint_now(self) -> None:
        self._repaint = None
        self.app.invalidate()

    def _on_line(self, line: str) -> None:
        reason = self.state.submit(line)
        if reason is not None:
            self.quit(reason)
        self.app.invalidate()

    def _nick_changed(self, nick: str) -> None:
        self.connection.nick = nick

    def _ring(self) -> None:
        self.app.output.bell()

    def quit(self, reason: str = "") -> None:
        """Say ``quit`` to the server and leave the screen with status 0."""
        if self._quitting:
            return
        self._quitting = True
        self.state.info("quitting")
        self.app.create_background_task(self._quit(reason))

    async def _quit(self, reason: str) -> None:
        await self.connection.quit(reason or None, wait=1.0)
        if self.app.is_running and not self.app.is_done:
            self.app.exit(result=0)
