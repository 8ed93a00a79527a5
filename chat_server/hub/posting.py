"""The two posting paths, chosen once: a local store, or a store shared by several nodes.

See :class:`~chat_server.hub.context.Posting` for what each path must do.
The shared path waits for the store twice: to claim a nick (the member's
later requests wait behind the claim, see :attr:`Seat.waiting`) and to look
up a nick held on another node.  Both wait in tasks the path keeps and
cancels on :meth:`SharedPosting.close`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from pydantic import BaseModel

from protocol import (
    PROTOCOL_VERSION,
    ErrorCode,
    Hello,
    Message,
    NickChanged,
    Say,
    SetNick,
    SetTopic,
    Topic,
    Welcome,
    Whisper,
    WhisperMessage,
    encode,
    fold,
)

from ..changes import (
    Change,
    Forgotten,
    Moderation,
    Posted,
    Renamed,
    StoreError,
    TopicSet,
    Whispered,
)
from . import enforce
from .context import Context
from .fitting import fit_list
from .mirror import Mirror
from .roster import Phase, Room, Seat

log = logging.getLogger(__name__)

#: Digits a shared store's seq may take in place of the placeholder 0 (up to 10**16).
SEQ_DIGITS = 16


def welcome(ctx: Context, seat: Seat) -> None:
    """Send ``welcome`` to ``seat``, whose nick is decided; it is welcomed from now on."""
    nick = seat.nick
    assert nick is not None
    seat.phase = Phase.WELCOMED
    settings = ctx.settings
    names = [room.name for room in ctx.roster.rooms.values()]
    ctx.post.to(
        seat,
        fit_list(
            lambda rooms, cut: Welcome(
                nick=nick,
                protocol=PROTOCOL_VERSION,
                epoch=ctx.epoch,
                server=ctx.server_name,
                rooms=rooms,
                motd=settings.motd,
                truncated=cut,
                max_text=settings.max_text,
                max_frame=settings.max_frame,
                rate=settings.rate,
                burst=settings.burst,
            ),
            names,
            settings.max_frame,
        ),
    )
    log.debug("welcomed %s", nick)


def renamed(ctx: Context, seat: Seat, old: str, new: str) -> None:
    """``seat`` is now ``new``: tell it and everyone sharing a room with it, once each."""
    roster = ctx.roster
    if roster.nicks.get(fold(old)) is seat:
        del roster.nicks[fold(old)]
    roster.nicks[fold(new)] = seat
    seat.nick = new
    for room in seat.rooms.values():
        room.renamed(old, new)
    away = ctx.away.pop(fold(old), None)
    if away is not None:
        ctx.away[fold(new)] = away
    ctx.post.each(roster.sharing(seat), NickChanged(old=old, new=new))


def too_long(ctx: Context, seat: Seat, cause: Say | Whisper | SetTopic) -> None:
    limit = ctx.settings.max_frame
    text = f"the message would exceed the {limit}-byte frame limit"
    ctx.post.error(seat, "text_too_long", text, cause)


def backlogged(ctx: Context, seat: Seat, cause: Any) -> None:
    text = "the server cannot store this right now; nothing was sent, try again"
    ctx.post.error(seat, "unavailable", text, cause)


def refuse(ctx: Context, seat: Seat, request: Say, code: ErrorCode) -> None:
    """Answer a message :meth:`Posting.post` refused with ``code``."""
    if code == "text_too_long":
        too_long(ctx, seat, request)
    else:
        backlogged(ctx, seat, request)


def _message(ctx: Context, seat: Seat, room: Room, request: Say, seq: int) -> Message:
    assert seat.nick is not None
    return Message(
        room=room.name,
        from_=seat.nick,
        text=request.text,
        ts=ctx.wall_clock(),
        seq=seq,
        id=request.id,
        action=request.action,
    )


class LocalPosting:
    """A store only this process uses: record, then apply at once."""

    def __init__(self, ctx: Context, mirror: Mirror) -> None:
        self.ctx = ctx
        self.mirror = mirror

    def name(self, seat: Seat, hello: Hello) -> None:
        welcome(self.ctx, seat)

    def rename(self, seat: Seat, request: SetNick) -> None:
        assert seat.nick is not None
        renamed(self.ctx, seat, seat.nick, request.nick)

    def say(self, seat: Seat, room: Room, request: Say) -> None:
        refused = self.post(room, lambda seq: _message(self.ctx, seat, room, request, seq))
        if refused is not None:
            refuse(self.ctx, seat, request, refused)

    def post(self, room: Room, build: Callable[[int], Message]) -> ErrorCode | None:
        ctx = self.ctx
        message = build(room.seq + 1)
        frame = encode(message)
        if not ctx.fits(frame):
            return "text_too_long"
        if not ctx.store.record(Posted(message)):
            return "unavailable"
        self.mirror.posted(room, message, frame)
        return None

    def topic(self, seat: Seat, room: Room, request: SetTopic) -> None:
        ctx = self.ctx
        assert seat.nick is not None
        topic = Topic(room=room.name, topic=request.topic, by=seat.nick)
        frame = encode(topic)
        change = TopicSet(room=room.name, topic=request.topic, by=seat.nick, ts=ctx.wall_clock())
        if not ctx.fits(frame):
            too_long(ctx, seat, request)
        elif not ctx.store.record(change):
            backlogged(ctx, seat, request)
        else:
            self.mirror.topic_set(room, topic, frame, change.ts)

    def whisper_away(self, seat: Seat, request: Whisper) -> None:
        self.ctx.post.error(seat, "no_such_nick", f"nobody is called {request.to}", request)

    def share(self, change: Change) -> bool:
        return True

    def forget(self, room: Room) -> None:
        self.ctx.store.record(Forgotten(room=room.name))

    def moderate(self, seat: Seat | None, cause: BaseModel | None, change: Moderation) -> bool:
        if not self.ctx.store.record(change):
            if seat is not None:
                backlogged(self.ctx, seat, cause)
            return False
        enforce.apply(self.ctx, change)
        return True

    def find(
        self, seat: Seat, cause: BaseModel, nick: str, then: Callable[[str | None], None]
    ) -> None:
        then(None)

    def pending(self) -> frozenset[asyncio.Task[None]]:
        return frozenset()

    async def close(self) -> None:
        pass


class SharedPosting:
    """A store several nodes share: it numbers messages and decides nicks."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._tasks: set[asyncio.Task[None]] = set()

    # --- nicks -----------------------------------------------------------------

    def name(self, seat: Seat, hello: Hello) -> None:
        seat.phase = Phase.NAMING
        self._spawn(self._claim_for_hello(seat, hello))

    async def _claim_for_hello(self, seat: Seat, hello: Hello) -> None:
        nick = hello.nick
        try:
            claimed = await self.ctx.store.claim_nick(nick)
        except StoreError as exc:
            self._refuse_hello(seat, hello, "unavailable", str(exc))
            return
        if seat.phase is not Phase.NAMING:  # gone while we waited
            if claimed:
                await self._release(nick)
            return
        if not claimed:
            self._refuse_hello(seat, hello, "nick_taken", f"{nick} is already in use")
            return
        welcome(self.ctx, seat)
        seat.member.resume()

    def _refuse_hello(self, seat: Seat, hello: Hello, code: ErrorCode, text: str) -> None:
        if seat.phase is not Phase.NAMING:
            return
        if self.ctx.roster.holder(hello.nick) is seat:
            del self.ctx.roster.nicks[fold(hello.nick)]
        seat.nick = None
        seat.phase = Phase.NEW
        self.ctx.post.error(seat, code, text, hello)
        seat.member.resume()

    def rename(self, seat: Seat, request: SetNick) -> None:
        old = seat.nick
        assert old is not None
        if fold(request.nick) == fold(old):  # only the case changes: nobody else can hold it
            self._rename(seat, old, request.nick)
            return
        seat.phase = Phase.RENAMING
        self._spawn(self._claim_for_nick(seat, old, request))

    async def _claim_for_nick(self, seat: Seat, old: str, request: SetNick) -> None:
        new = request.nick
        try:
            claimed = await self.ctx.store.claim_nick(new)
        except StoreError as exc:
            claimed = False
            self.ctx.post.error(seat, "unavailable", str(exc), request)
        else:
            if not claimed and seat.phase is Phase.RENAMING:
                self.ctx.post.error(seat, "nick_taken", f"{new} is already in use", request)
        if seat.phase is not Phase.RENAMING:  # gone while we waited
            if claimed:
                await self._release(new)
            return
        if claimed:
            self._rename(seat, old, new)
            await self._release(old)
        if seat.phase is Phase.RENAMING:
            seat.phase = Phase.WELCOMED
            seat.member.resume()

    def _rename(self, seat: Seat, old: str, new: str) -> None:
        """Rename and tell this node's sharers now; the other nodes through the store."""
        rooms = tuple(room.name for room in seat.rooms.values())
        self.ctx.store.record(Renamed(old=old, new=new, rooms=rooms))
        renamed(self.ctx, seat, old, new)

    async def _release(self, nick: str) -> None:
        try:
            await self.ctx.store.release_nick(nick)
        except StoreError:
            log.warning("could not give back the nick %s; it expires by itself", nick)

    # --- messages ----------------------------------------------------------------

    def say(self, seat: Seat, room: Room, request: Say) -> None:
        refused = self.post(room, lambda seq: _message(self.ctx, seat, room, request, seq))
        if refused is not None:
            refuse(self.ctx, seat, request, refused)

    def post(self, room: Room, build: Callable[[int], Message]) -> ErrorCode | None:
        ctx = self.ctx
        message = build(0)
        frame = encode(message)
        # The store writes the real seq in place of 0: leave room for its digits.
        if not ctx.fits(frame + b"0" * SEQ_DIGITS):
            return "text_too_long"
        if not ctx.store.record(Posted(message, frame=frame)):
            return "unavailable"
        return None

    def topic(self, seat: Seat, room: Room, request: SetTopic) -> None:
        ctx = self.ctx
        assert seat.nick is not None
        change = TopicSet(room=room.name, topic=request.topic, by=seat.nick, ts=ctx.wall_clock())
        if not ctx.fits(encode(Topic(room=room.name, topic=request.topic, by=seat.nick))):
            too_long(ctx, seat, request)
        elif not ctx.store.record(change):
            backlogged(ctx, seat, request)

    def whisper_away(self, seat: Seat, request: Whisper) -> None:
        self._spawn(self._whisper_away(seat, request))

    async def _whisper_away(self, seat: Seat, request: Whisper) -> None:
        """A whisper to somebody on another node, if anybody holds that nick."""
        ctx = self.ctx
        try:
            spelling = await ctx.store.nick_exists(request.to)
        except StoreError as exc:
            ctx.post.error(seat, "unavailable", str(exc), request)
            return
        if seat.nick is None or seat.phase is Phase.GONE:
            return
        if spelling is None:
            ctx.post.error(seat, "no_such_nick", f"nobody is called {request.to}", request)
            return
        whisper = WhisperMessage(
            from_=seat.nick,
            to=spelling,
            text=request.text,
            ts=ctx.wall_clock(),
            id=request.id,
            action=request.action,
        )
        if not ctx.fits(encode(whisper)):
            too_long(ctx, seat, request)
        elif not ctx.store.record(Whispered(whisper)):
            backlogged(ctx, seat, request)

    def share(self, change: Change) -> bool:
        return self.ctx.store.record(change)

    def forget(self, room: Room) -> None:
        pass  # every node forgets it by itself

    def moderate(self, seat: Seat | None, cause: BaseModel | None, change: Moderation) -> bool:
        """Recorded now, carried out when the store hands it back (here as on every node)."""
        if self.ctx.store.record(change):
            return True
        if seat is not None:
            backlogged(self.ctx, seat, cause)
        return False

    def find(
        self, seat: Seat, cause: BaseModel, nick: str, then: Callable[[str | None], None]
    ) -> None:
        self._spawn(self._find(seat, cause, nick, then))

    async def _find(
        self, seat: Seat, cause: BaseModel, nick: str, then: Callable[[str | None], None]
    ) -> None:
        ctx = self.ctx
        try:
            spelling = await ctx.store.nick_exists(nick)
        except StoreError as exc:
            ctx.post.error(seat, "unavailable", str(exc), cause)
            return
        if seat.phase is Phase.GONE:
            return
        then(spelling)
        ctx.post.flush()

    def pending(self) -> frozenset[asyncio.Task[None]]:
        return frozenset(self._tasks)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
