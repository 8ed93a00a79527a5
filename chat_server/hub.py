"""Rooms, nicks and fan-out: everything the server knows, and no sockets.

The hub answers validated client messages by calling ``send(frame)`` on
members, and ``send_shared(frame)`` for a broadcast: encoded once, the same
bytes go to every member.  Neither blocks, so one slow member cannot delay the
others.  Consecutive messages to one room are held back and fanned out in one
piece by :meth:`Hub.deliver`, which the connection calls at the end of a read.
Every frame the hub builds fits in ``max_frame``: lists are cut short
(``truncated``) and histories drop their oldest messages until they do.

Where rooms and messages live beyond this process is the injected
:class:`~chat_server.storage.Store`'s business: memory (the default) keeps
nothing, SQLite makes history durable.  :meth:`Hub.open` loads what the store
holds; every lasting change goes to :meth:`Store.record`, which never blocks.

With a *shared* store (Redis: several nodes), the hub's rooms mirror the whole
cluster: a change is recorded first and applied only when the store hands it
back (:meth:`Hub.apply`), in the order every node sees.  Claiming a nick waits
for the store; the member's later messages wait in order behind the claim.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel

from protocol import (
    HISTORY_LIMIT_DEFAULT,
    PROTOCOL_VERSION,
    ClientMessage,
    Error,
    Hello,
    History,
    HistoryRequest,
    Join,
    Joined,
    Leave,
    Left,
    ListRooms,
    Members,
    Message,
    NickChanged,
    Presence,
    RoomInfo,
    RoomList,
    Say,
    SetNick,
    SetTopic,
    Topic,
    Welcome,
    Whisper,
    WhisperMessage,
    Who,
    encode,
    fold,
    is_valid_nick,
)
from protocol.models import NICK_RULE

from . import __version__
from .config import Config
from .storage import (
    Change,
    Departed,
    Entered,
    Forgotten,
    Posted,
    Quit,
    Renamed,
    RoomState,
    Snapshot,
    Store,
    StoreError,
    TopicSet,
    Whispered,
    make_store,
)

log = logging.getLogger(__name__)

SERVER_NAME = f"hubbub {__version__}"
#: Digits a shared store's seq may take beyond the placeholder 0 (up to 10**16).
SEQ_DIGITS = 16
T = TypeVar("T")


class Member(Protocol):
    """What the hub needs of a connection: a name and a way to queue a frame."""

    nick: str | None
    rooms: dict[str, Room]

    def send(self, frame: bytes) -> None:
        """Queue one encoded frame meant for this member alone; must not block or raise."""

    def send_shared(self, frame: bytes) -> None:
        """Queue one frame of a broadcast, the same bytes for many members.

        The cheapest way to queue, for the hot path: the bytes are counted
        against ``--sendq`` when the round of writes happens, not one by one.
        """

    def resume(self) -> None:
        """The store has decided this member's nick: go on with what it sent.

        While :meth:`Hub.waiting` is true for a member, its connection must
        hand the hub nothing more (and should stop reading it).
        """


@dataclass(eq=False, slots=True)
class Room:
    name: str
    history: deque[Message]
    members: dict[Member, None] = field(default_factory=dict)
    topic: str | None = None
    seq: int = 0
    active: int = 0
    #: Members connected to other nodes, by folded nick (shared stores only).
    remote: dict[str, str] = field(default_factory=dict)

    def nicks(self) -> list[str]:
        local = [m.nick for m in self.members if m.nick is not None]
        return [*local, *self.remote.values()] if self.remote else local

    def size(self) -> int:
        return len(self.members) + len(self.remote)


class Hub:
    """The state of one chat server.

    Call :meth:`hello` with a connection's ``hello`` until it returns ``True``,
    then :meth:`handle` with every other message, :meth:`deliver` after each
    read and before queuing a frame of the connection's own, and
    :meth:`disconnect` exactly once when the connection ends.
    """

    def __init__(
        self,
        config: Config,
        *,
        wall_clock: Callable[[], float] = time.time,
        epoch: str | None = None,
        store: Store | None = None,
    ) -> None:
        self.config = config
        self.store = store if store is not None else make_store(config)
        self._fixed_epoch = epoch
        self.epoch = epoch or secrets.token_hex(8)
        self.rooms: dict[str, Room] = {}
        self.nicks: dict[str, Member] = {}
        #: Set on shutdown: nobody is told about departures any more.
        self.closing = False
        self._clock = wall_clock
        self._activity = 0
        #: Consecutive messages to one room, held back until :meth:`deliver`.
        self._burst_room: Room | None = None
        self._burst: list[bytes] = []
        self._password = config.password.encode() if config.password is not None else None
        self.shared = self.store.shared
        #: Members whose nick claim the store is deciding: for a "hello" or a "nick".
        self._waiting: dict[Member, Literal["hello", "nick"]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: dict[type[Any], Callable[[Member, Any], None]] = {
            Join: self._join,
            Leave: self._leave,
            Say: self._say,
            Whisper: self._whisper,
            SetNick: self._nick,
            SetTopic: self._topic,
            ListRooms: self._list,
            Who: self._who,
            HistoryRequest: self._history,
        }

    # --- store lifecycle ---------------------------------------------------

    async def open(self) -> None:
        """Open the store and load the rooms it holds; call before any connection.

        Raises :class:`~chat_server.storage.StoreError` if the store is unusable.
        """
        snapshot = await self.store.open(self)
        if self._fixed_epoch is None and snapshot.epoch is not None:
            self.epoch = snapshot.epoch
        for state in snapshot.rooms:
            self._load_room(state)

    async def close(self) -> None:
        """Write what the store still holds back and close it."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.store.close()

    def _load_room(self, state: RoomState) -> Room:
        room = Room(
            name=state.name,
            history=deque(state.history, maxlen=self.config.history),
            topic=state.topic,
            seq=state.seq,
            remote={fold(nick): nick for nick in state.members},
        )
        self.rooms[fold(state.name)] = room
        self._touch(room)
        return room

    # --- what a store may ask (chat_server.storage.Feed) --------------------

    def apply(self, change: Change, mine: bool) -> None:
        """A change in the order a shared store agreed; local stores never call it.

        ``mine`` says this node made it: its own members heard of a presence or
        rename when it happened, so only messages, topics and whispers remain.
        """
        if mine and isinstance(change, Entered | Departed | Quit | Renamed):
            return
        match change:
            case Posted(message=message):
                room = self._mirror(message.room)
                if message.seq <= room.seq:
                    return  # seen already (a snapshot overlapping the stream)
                room.seq = message.seq
                room.history.append(message)
                self._touch(room)
                frame = encode(message)
                for each in room.members:
                    each.send_shared(frame)
            case TopicSet(room=name, topic=topic, by=by):
                topical = self._mirror(name)
                topical.topic = topic
                self._touch(topical)
                self._broadcast(topical, Topic(room=topical.name, topic=topic, by=by))
            case Entered(room=name, nick=nick):
                self._apply_entered(self._mirror(name), nick)
            case Departed(room=name, nick=nick):
                left = self.rooms.get(fold(name))
                if left is not None:
                    left.remote.pop(fold(nick), None)
                    self._broadcast(left, Presence(room=left.name, nick=nick, event="leave"))
                    self._forget_if_unused(left)
            case Quit(nick=nick, reason=reason, rooms=names):
                self._apply_quit(nick, reason, names)
            case Renamed(old=old, new=new, rooms=names):
                self._apply_rename(old, new, names)
            case Whispered(message=whisper):
                frame = encode(whisper)
                target = self.nicks.get(fold(whisper.to))
                sender = self.nicks.get(fold(whisper.from_))
                if target is not None:
                    target.send(frame)
                if sender is not None and sender is not target:
                    sender.send(frame)
            case Forgotten(room=name):
                gone = self.rooms.get(fold(name))
                if gone is not None and not gone.size():
                    del self.rooms[fold(name)]

    def _apply_entered(self, room: Room, nick: str) -> None:
        if fold(nick) not in room.remote:
            room.remote[fold(nick)] = nick
            self._broadcast(room, Presence(room=room.name, nick=nick, event="join"))

    def _apply_quit(self, nick: str, reason: str, names: tuple[str, ...]) -> None:
        for name in names:
            room = self.rooms.get(fold(name))
            if room is None:
                continue
            room.remote.pop(fold(nick), None)
            if not self.closing:
                self._broadcast(
                    room, Presence(room=room.name, nick=nick, event="quit", reason=reason)
                )
            self._forget_if_unused(room)

    def _apply_rename(self, old: str, new: str, names: tuple[str, ...]) -> None:
        told: dict[Member, None] = {}
        for name in names:
            room = self.rooms.get(fold(name))
            if room is None:
                continue
            if room.remote.pop(fold(old), None) is not None:
                room.remote[fold(new)] = new
            told.update(dict.fromkeys(room.members))
        frame = encode(NickChanged(old=old, new=new))
        for each in told:
            each.send_shared(frame)

    def _mirror(self, name: str) -> Room:
        """The room called ``name``, made if this node has not seen it yet."""
        room = self.rooms.get(fold(name))
        if room is None:
            room = Room(name=name, history=deque(maxlen=self.config.history))
            self.rooms[fold(name)] = room
        return room

    def unavailable(self, reason: str) -> None:
        """Tell every welcomed member that the store is gone for now."""
        frame = encode(Error(code="unavailable", message=reason))
        for member in self.nicks.values():
            member.send_shared(frame)

    def local_state(self) -> Snapshot:
        return Snapshot(
            epoch=self.epoch,
            rooms=[
                RoomState(
                    name=room.name,
                    seq=room.seq,
                    topic=room.topic,
                    history=list(room.history),
                    members=[m.nick for m in room.members if m.nick is not None],
                )
                for room in self.rooms.values()
            ],
        )

    def local_nicks(self) -> list[str]:
        return [member.nick for member in self.nicks.values() if member.nick is not None]

    # --- connection lifecycle ----------------------------------------------

    def hello(self, member: Member, hello: Hello) -> bool:
        """Welcome ``member`` or answer the error; ``True`` once welcomed."""
        if hello.protocol != PROTOCOL_VERSION:
            self._error(
                member,
                "protocol_unsupported",
                f"this server speaks protocol {PROTOCOL_VERSION}",
                hello,
            )
            return False
        if self._password is not None and not hmac.compare_digest(
            (hello.password or "").encode(), self._password
        ):
            self._error(member, "auth_failed", "wrong password", hello)
            return False
        if not is_valid_nick(hello.nick):
            self._error(member, "nick_invalid", NICK_RULE, hello)
            return False
        key = fold(hello.nick)
        if key in self.nicks:
            self._error(member, "nick_taken", f"{hello.nick} is already in use", hello)
            return False
        self.nicks[key] = member
        member.nick = hello.nick
        if self.shared:
            self._waiting[member] = "hello"
            self._spawn(self._claim_for_hello(member, hello))
            return True
        self._welcome(member)
        return True

    async def _claim_for_hello(self, member: Member, hello: Hello) -> None:
        nick = hello.nick
        try:
            claimed = await self.store.claim_nick(nick)
        except StoreError as exc:
            self._refuse_hello(member, hello, "unavailable", str(exc))
            return
        if member not in self._waiting:  # gone while we waited
            if claimed:
                await self._release(nick)
            return
        if not claimed:
            self._refuse_hello(member, hello, "nick_taken", f"{nick} is already in use")
            return
        self._welcome(member)
        self._resume(member)

    def _refuse_hello(self, member: Member, hello: Hello, code: str, text: str) -> None:
        if member not in self._waiting:
            return
        if self.nicks.get(fold(hello.nick)) is member:
            del self.nicks[fold(hello.nick)]
        member.nick = None
        self._error(member, code, text, hello)
        self._resume(member)

    def _welcome(self, member: Member) -> None:
        nick = member.nick
        assert nick is not None
        names = [room.name for room in self.rooms.values()]
        member.send(
            self._fit_list(
                lambda rooms, cut: Welcome(
                    nick=nick,
                    protocol=PROTOCOL_VERSION,
                    epoch=self.epoch,
                    server=SERVER_NAME,
                    rooms=rooms,
                    motd=self.config.motd,
                    truncated=cut,
                    max_text=self.config.max_text,
                    max_frame=self.config.max_frame,
                    rate=self.config.rate,
                    burst=self.config.burst,
                ),
                names,
            )
        )
        log.debug("welcomed %s", member.nick)

    def disconnect(self, member: Member, reason: str) -> None:
        """Forget ``member``: its rooms get ``presence`` ``quit`` with ``reason``."""
        self.deliver()
        nick = member.nick
        if nick is None:
            return
        if self.nicks.get(fold(nick)) is member:
            del self.nicks[fold(nick)]
        rooms = list(member.rooms.values())
        member.rooms.clear()
        # Only a member whose hello the store is still deciding is unknown to the others.
        if self.shared and self._waiting.pop(member, None) != "hello":
            self.store.record(Quit(nick=nick, reason=reason, rooms=_names(rooms)))
        for room in rooms:
            room.members.pop(member, None)
            if not self.closing:
                self._broadcast(
                    room, Presence(room=room.name, nick=nick, event="quit", reason=reason)
                )
            self._forget_if_unused(room)
        log.debug("%s left: %s", nick, reason)

    def waiting(self, member: Member) -> bool:
        """Whether the store is deciding ``member``'s nick; see :meth:`Member.resume`."""
        return member in self._waiting

    def handle(self, member: Member, message: ClientMessage) -> None:
        """Answer one message from a welcomed member."""
        if type(message) is not Say:
            self.deliver()  # held-back messages go out before whatever this causes
        self._handlers[type(message)](member, message)

    def _resume(self, member: Member) -> None:
        del self._waiting[member]
        member.resume()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- handlers ----------------------------------------------------------

    def _join(self, member: Member, msg: Join) -> None:
        key = fold(msg.room)
        room = self.rooms.get(key)
        if room is None:
            if not self._make_room_for_one_more():
                self._error(
                    member,
                    "room_limit",
                    f"the server holds {self.config.max_rooms} rooms already",
                    msg,
                )
                return
            room = Room(name=msg.room, history=deque(maxlen=self.config.history))
            self.rooms[key] = room
        self._touch(room)
        newcomer = member not in room.members
        if newcomer:
            assert member.nick is not None
            if self.shared and not self.store.record(Entered(room=room.name, nick=member.nick)):
                self._backlogged(member, msg)
                self._forget_if_unused(room)
                return
            room.members[member] = None
            member.rooms[key] = room
        nicks = room.nicks()
        history = _newest(room.history, HISTORY_LIMIT_DEFAULT)
        frame = self._fit_history(
            lambda kept: Joined(room=room.name, members=nicks, topic=room.topic, history=kept),
            history,
        )
        if frame is None:  # the member list alone is too long: cut it, history and all
            frame = self._fit_list(
                lambda cut_nicks, cut: Joined(
                    room=room.name, members=cut_nicks, topic=room.topic, history=[], truncated=cut
                ),
                nicks,
            )
        member.send(frame)
        if newcomer:
            assert member.nick is not None
            self._broadcast(
                room, Presence(room=room.name, nick=member.nick, event="join"), skip=member
            )

    def _leave(self, member: Member, msg: Leave) -> None:
        room = self._joined_room(member, msg)
        if room is None:
            return
        del room.members[member]
        del member.rooms[fold(room.name)]
        member.send(encode(Left(room=room.name)))
        assert member.nick is not None
        if self.shared:
            self.store.record(Departed(room=room.name, nick=member.nick))
        self._broadcast(room, Presence(room=room.name, nick=member.nick, event="leave"))
        self._forget_if_unused(room)

    def _say(self, member: Member, msg: Say) -> None:
        room = self._joined_room(member, msg)
        if room is None:
            return
        assert member.nick is not None
        if self.shared:
            self._say_shared(member, room, msg)
            return
        message = Message(
            room=room.name,
            from_=member.nick,
            text=msg.text,
            ts=self._clock(),
            seq=room.seq + 1,
            id=msg.id,
            action=msg.action,
        )
        frame = encode(message)
        if not self._fits(frame):
            self._too_long(member, msg)
            return
        if not self.store.record(Posted(message)):
            self._backlogged(member, msg)
            return
        room.seq += 1
        room.history.append(message)
        self._touch(room)
        if self._burst_room is not room:
            self.deliver()
            self._burst_room = room
        self._burst.append(frame)

    def deliver(self) -> None:
        """Fan out the messages held back since the last call, in one piece.

        Consecutive messages to one room (one read from a busy client can hold
        dozens) are queued on each member once, not once per message.  The hub
        calls this before it queues anything else, so no member sees frames out
        of order; a connection must call it before queuing a frame of its own
        and at the end of every read.
        """
        room = self._burst_room
        if room is None:
            return
        self._burst_room = None
        burst = self._burst
        frame = burst[0] if len(burst) == 1 else b"".join(burst)
        burst.clear()
        for each in room.members:
            each.send_shared(frame)

    def _say_shared(self, member: Member, room: Room, msg: Say) -> None:
        """Submit a message; the store numbers it and every node delivers it."""
        assert member.nick is not None
        message = Message(
            room=room.name,
            from_=member.nick,
            text=msg.text,
            ts=self._clock(),
            seq=0,
            id=msg.id,
            action=msg.action,
        )
        # The store writes the real seq in place of 0: leave room for its digits.
        if not self._fits(encode(message) + b"0" * SEQ_DIGITS):
            self._too_long(member, msg)
            return
        if not self.store.record(Posted(message)):
            self._backlogged(member, msg)

    def _whisper(self, member: Member, msg: Whisper) -> None:
        target = self.nicks.get(fold(msg.to))
        if self.shared and (target is None or target.nick is None):
            self._spawn(self._whisper_shared(member, msg))
            return
        if target is None or target.nick is None:
            self._error(member, "no_such_nick", f"nobody is called {msg.to}", msg)
            return
        assert member.nick is not None
        frame = encode(
            WhisperMessage(
                from_=member.nick, to=target.nick, text=msg.text, ts=self._clock(), id=msg.id
            )
        )
        if not self._fits(frame):
            self._too_long(member, msg)
            return
        target.send(frame)
        if target is not member:
            member.send(frame)

    async def _whisper_shared(self, member: Member, msg: Whisper) -> None:
        """A whisper to somebody on another node, if anybody holds that nick."""
        try:
            spelling = await self.store.nick_exists(msg.to)
        except StoreError as exc:
            self._error(member, "unavailable", str(exc), msg)
            return
        if member.nick is None:
            return
        if spelling is None:
            self._error(member, "no_such_nick", f"nobody is called {msg.to}", msg)
            return
        whisper = WhisperMessage(
            from_=member.nick, to=spelling, text=msg.text, ts=self._clock(), id=msg.id
        )
        if not self._fits(encode(whisper)):
            self._too_long(member, msg)
        elif not self.store.record(Whispered(whisper)):
            self._backlogged(member, msg)

    def _nick(self, member: Member, msg: SetNick) -> None:
        if self.shared:
            self._nick_shared(member, msg)
            return
        old = member.nick
        assert old is not None
        key = fold(msg.nick)
        holder = self.nicks.get(key)
        if holder is not None and holder is not member:
            self._error(member, "nick_taken", f"{msg.nick} is already in use", msg)
            return
        del self.nicks[fold(old)]
        self.nicks[key] = member
        member.nick = msg.nick
        frame = encode(NickChanged(old=old, new=msg.nick))
        for each in self._everyone_sharing_a_room(member):
            each.send_shared(frame)

    def _nick_shared(self, member: Member, msg: SetNick) -> None:
        old = member.nick
        assert old is not None
        holder = self.nicks.get(fold(msg.nick))
        if holder is not None and holder is not member:
            self._error(member, "nick_taken", f"{msg.nick} is already in use", msg)
            return
        if fold(msg.nick) == fold(old):
            self._rename(member, old, msg.nick)
            return
        self._waiting[member] = "nick"
        self._spawn(self._claim_for_nick(member, old, msg))

    async def _claim_for_nick(self, member: Member, old: str, msg: SetNick) -> None:
        new = msg.nick
        try:
            claimed = await self.store.claim_nick(new)
        except StoreError as exc:
            claimed = False
            self._error(member, "unavailable", str(exc), msg)
        else:
            if not claimed and member in self._waiting:
                self._error(member, "nick_taken", f"{new} is already in use", msg)
        if member not in self._waiting:  # gone while we waited
            if claimed:
                await self._release(new)
            return
        if claimed:
            self._rename(member, old, new)
            await self._release(old)
        if member in self._waiting:
            self._resume(member)

    async def _release(self, nick: str) -> None:
        try:
            await self.store.release_nick(nick)
        except StoreError:
            log.warning("could not give back the nick %s; it expires by itself", nick)

    def _rename(self, member: Member, old: str, new: str) -> None:
        """Rename and tell this node's sharers now; the other nodes through the store."""
        if self.nicks.get(fold(old)) is member:
            del self.nicks[fold(old)]
        self.nicks[fold(new)] = member
        member.nick = new
        self.store.record(Renamed(old=old, new=new, rooms=_names(member.rooms.values())))
        frame = encode(NickChanged(old=old, new=new))
        for each in self._everyone_sharing_a_room(member):
            each.send_shared(frame)

    def _topic(self, member: Member, msg: SetTopic) -> None:
        room = self._joined_room(member, msg)
        if room is None:
            return
        assert member.nick is not None
        topic = Topic(room=room.name, topic=msg.topic, by=member.nick)
        frame = encode(topic)
        if not self._fits(frame):
            self._too_long(member, msg)
            return
        if not self.store.record(TopicSet(room=room.name, topic=msg.topic, by=member.nick)):
            self._backlogged(member, msg)
            return
        if self.shared:
            return  # applied when the store hands it back
        room.topic = msg.topic
        self._touch(room)
        for each in room.members:
            each.send_shared(frame)

    def _list(self, member: Member, msg: ListRooms) -> None:
        infos = [
            RoomInfo(name=room.name, members=room.size(), topic=room.topic)
            for room in self.rooms.values()
        ]
        member.send(self._fit_list(lambda rooms, cut: RoomList(rooms=rooms, truncated=cut), infos))

    def _who(self, member: Member, msg: Who) -> None:
        room = self._existing_room(member, msg)
        if room is None:
            return
        member.send(
            self._fit_list(
                lambda nicks, cut: Members(room=room.name, members=nicks, truncated=cut),
                room.nicks(),
            )
        )

    def _history(self, member: Member, msg: HistoryRequest) -> None:
        room = self._existing_room(member, msg)
        if room is None:
            return
        kept: Sequence[Message] = room.history
        if msg.before is not None and kept:
            # seq values in the ring are consecutive, so ``before`` maps to an index.
            end = max(0, min(len(kept), msg.before - kept[0].seq))
            kept = list(islice(kept, end))
        messages = _newest(kept, msg.limit)
        frame = self._fit_history(lambda ms: History(room=room.name, messages=ms), messages)
        assert frame is not None  # with no messages, a history frame always fits
        member.send(frame)

    # --- helpers -----------------------------------------------------------

    def _broadcast(self, room: Room, message: BaseModel, skip: Member | None = None) -> None:
        frame = encode(message)
        for each in room.members:
            if each is not skip:
                each.send_shared(frame)

    def _everyone_sharing_a_room(self, member: Member) -> Iterable[Member]:
        seen: dict[Member, None] = {member: None}
        for room in member.rooms.values():
            seen.update(dict.fromkeys(room.members))
        return seen

    def _joined_room(self, member: Member, msg: Leave | Say | SetTopic) -> Room | None:
        room = member.rooms.get(fold(msg.room))
        if room is None:
            self._error(member, "not_in_room", f"you are not in {msg.room}", msg)
        return room

    def _existing_room(self, member: Member, msg: Who | HistoryRequest) -> Room | None:
        room = self.rooms.get(fold(msg.room))
        if room is None:
            self._error(member, "not_in_room", f"there is no room {msg.room}", msg)
        return room

    def _touch(self, room: Room) -> None:
        self._activity += 1
        room.active = self._activity

    def _forget_if_unused(self, room: Room) -> None:
        if not room.members and not room.history and not room.remote:
            self.rooms.pop(fold(room.name), None)
            if not self.shared:  # every node forgets it by itself
                self.store.record(Forgotten(room=room.name))

    def _make_room_for_one_more(self) -> bool:
        if len(self.rooms) < self.config.max_rooms:
            return True
        empty = [room for room in self.rooms.values() if not room.size()]
        if not empty:
            return False
        oldest = min(empty, key=lambda room: room.active)
        del self.rooms[fold(oldest.name)]
        self.store.record(Forgotten(room=oldest.name))
        log.info("forgot room %s to make space for a new one", oldest.name)
        return True

    def _fits(self, frame: bytes) -> bool:
        return len(frame) - 4 <= self.config.max_frame

    def _fit_history(
        self, build: Callable[[list[Message]], BaseModel], messages: list[Message]
    ) -> bytes | None:
        """Encode ``build(messages)``, dropping the oldest messages until it fits."""
        count = _largest_fitting(
            len(messages), lambda n: self._fits(encode(build(messages[len(messages) - n :])))
        )
        if count is None:
            return None
        return encode(build(messages[len(messages) - count :]))

    def _fit_list(self, build: Callable[[list[T], bool], BaseModel], items: list[T]) -> bytes:
        """Encode ``build(items, False)``, or the longest prefix that fits, marked truncated."""
        frame = encode(build(items, False))
        if self._fits(frame):
            return frame
        count = _largest_fitting(
            len(items) - 1, lambda n: self._fits(encode(build(items[:n], True)))
        )
        return encode(build(items[: count or 0], True))

    def _too_long(self, member: Member, cause: ClientMessage) -> None:
        self._error(
            member,
            "text_too_long",
            f"the message would exceed the {self.config.max_frame}-byte frame limit",
            cause,
        )

    def _backlogged(self, member: Member, cause: ClientMessage) -> None:
        self._error(
            member,
            "unavailable",
            "the server cannot store this right now; nothing was sent, try again",
            cause,
        )

    def _error(self, member: Member, code: str, text: str, cause: ClientMessage) -> None:
        """Answer ``cause`` with an error that names its type and echoes its ``id``."""
        self.deliver()
        member.send(encode(Error(code=code, message=text, ref=cause.type, id=cause.id)))


def _names(rooms: Iterable[Room]) -> tuple[str, ...]:
    return tuple(room.name for room in rooms)


def _newest(items: Sequence[T], count: int) -> list[T]:
    return list(islice(items, max(0, len(items) - count), None))


def _largest_fitting(most: int, fits: Callable[[int], bool]) -> int | None:
    """The largest n in 0..most with ``fits(n)``, assuming fits is monotone."""
    if most < 0 or not fits(0):
        return None
    if fits(most):
        return most
    low, high = 0, most  # fits(low) and not fits(high)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low
