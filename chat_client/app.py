"""Wiring for the interactive client: connection events -> state -> screen.

:class:`ChatClient` owns a :class:`~chat_client.reconnect.Connection` that
has already been welcomed, a :class:`~chat_client.state.ChatState` and the
prompt_toolkit application.  The connection's reader runs as the
application's background task; each event updates the state and asks for a
repaint, and those requests are coalesced into at most one redraw per
:data:`NETWORK_REPAINT_INTERVAL`, so a busy room never starves the input line.
A keystroke repaints at once: the typist never waits for the room.
SIGTERM and SIGHUP (the terminal closed) quit as ``/quit`` does, so the
server hears ``quit`` and the chat logs are closed.

Two timers run beside it: while waiting to reconnect, a repaint each second
so the status bar counts down; and, while the server has given us another
nick than the one chosen, a try to take it back every
:data:`NICK_RETRY_INTERVAL` seconds.  With a :class:`~chat_client.logs.ChatLog`
every room and private window is logged, written off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterable, Sequence
from pathlib import Path

from prompt_toolkit.application import Application
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output

from protocol import Welcome

from .commands import BellMode
from .events import Disconnected, Event, Retrying
from .logs import ChatLog
from .reconnect import Connection
from .state import ChatState
from .ui import build_application
from .windows import DEFAULT_SCROLLBACK

__all__ = ["ChatClient"]

logger = logging.getLogger(__name__)

#: Seconds between repaints caused by the network (at most 25 a second).
NETWORK_REPAINT_INTERVAL = 0.04
#: Signals that quit as /quit does: killed, or the terminal closed.
QUIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
#: Seconds between tries to take the chosen nick back.
NICK_RETRY_INTERVAL = 30.0


class ChatClient:
    """The interactive client.  Build it with a welcomed connection, then :meth:`run`."""

    def __init__(
        self,
        connection: Connection,
        *,
        rooms: Sequence[str] = (),
        scrollback: int = DEFAULT_SCROLLBACK,
        bell: BellMode = "mentions",
        logs: ChatLog | None = None,
        input: Input | None = None,
        output: Output | None = None,
        ignored: Iterable[str] = (),
        ignore_file: Path | None = None,
    ) -> None:
        self.connection = connection
        self.rooms = list(rooms)
        self.logs = logs
        self.state = ChatState(
            nick=connection.nick,
            server=str(connection.endpoint),
            send=connection.send,
            ring=self._ring,
            scrollback=scrollback,
            bell=bell,
            ignored=ignored,
            ignore_file=ignore_file,
        )
        self.state.nick_changed = self._nick_changed
        self.state.reconnect = connection.drop
        if logs is not None:
            self.state.windows.on_line = logs.add
        connection.on_event = self._on_event
        self.app: Application[int] = build_application(
            self.state, self._on_line, on_quit=self.quit, input=input, output=output
        )
        self._quitting = False
        self._repaint: asyncio.TimerHandle | None = None
        self._ticking: asyncio.TimerHandle | None = None

    async def run(self, welcome: Welcome) -> int:
        """Show the screen until the user quits; returns the exit status (0)."""
        self.state.welcomed(welcome, again=False, joining=tuple(self.rooms))
        for index, room in enumerate(self.rooms):
            self.state.join(room, switch=index == 0)
        try:
            return await self.app.run_async(pre_run=self._start)
        finally:
            loop = asyncio.get_running_loop()
            for signum in QUIT_SIGNALS:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(signum)
            if self.logs is not None:
                await self.logs.close()

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in QUIT_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self.quit)
        self.app.create_background_task(self.connection.run())
        self.app.create_background_task(self._keep_nick())
        if self.logs is not None:
            self.app.create_background_task(self.logs.run())

    async def _keep_nick(self) -> None:
        while True:
            await asyncio.sleep(NICK_RETRY_INTERVAL)
            self.state.reclaim_nick()

    def _tick(self) -> None:
        """Repaint each second while the status bar counts down to a reconnect."""
        self._ticking = None
        if self.state.link == "waiting":
            self.app.invalidate()
            self._ticking = asyncio.get_running_loop().call_later(1.0, self._tick)

    def _on_event(self, event: Event) -> None:
        self.state.handle(event)
        if isinstance(event, Disconnected):
            self.connection.nick = self.state.wanted_nick  # come back as who we chose
        if isinstance(event, Retrying) and self._ticking is None:
            self._ticking = asyncio.get_running_loop().call_later(1.0, self._tick)
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
