"""Applying changes to the rooms and telling the members: the store's side of the hub.

A local store's messages and topics are applied here as they are made; a
shared store (several nodes) hands every change back through
:meth:`Mirror.apply`, in the one order every node sees, and this node's rooms
then mirror the whole cluster.  A local store that writes in the background
reports each change it takes (:meth:`Mirror.held`) and each batch written
(:meth:`Mirror.written`), and what was handed out meanwhile waits in the
:class:`~chat_server.hub.post.Post` until then.  :class:`Mirror` is the hub's
:class:`~chat_server.changes.Feed`.
"""

from __future__ import annotations

from protocol import Error, Message, NickChanged, Presence, Topic, encode, fold

from ..changes import (
    BanSet,
    Change,
    Departed,
    Entered,
    Forgotten,
    Moderation,
    Posted,
    Quit,
    Renamed,
    RoomState,
    Snapshot,
    TopicSet,
    Whispered,
)
from . import enforce
from .context import Context
from .member import Out
from .roster import Room, Seat


class Mirror:
    """Applies changes to the rooms of ``ctx``; see the module docstring."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # --- applying, for both posting paths ---------------------------------------

    def posted(self, room: Room, message: Message, frame: bytes) -> None:
        """A message numbered ``message.seq``: keep it and send it (``frame``) to the room."""
        room.seq = message.seq
        room.history.append(message)
        self.ctx.roster.touch(room)
        self.ctx.post.message(room, message, frame)

    def topic_set(self, room: Room, topic: Topic, frame: bytes, ts: float | None) -> None:
        room.topic = topic.topic
        room.topic_by = topic.by if topic.topic is not None else None
        room.topic_ts = ts if topic.topic is not None else None
        self.ctx.roster.touch(room)
        self.ctx.post.frame(room, frame, topic)

    def load(self, state: RoomState) -> Room:
        """A room as a store kept it (at start)."""
        room = self.ctx.roster.add_room(state.name)
        room.history.extend(state.history)
        room.topic = state.topic
        room.topic_by = state.topic_by
        room.topic_ts = state.topic_ts
        room.seq = state.seq
        room.remote.update((fold(nick), nick) for nick in state.members)
        self.ctx.roster.touch(room)
        return room

    # --- what a shared store hands back (chat_server.changes.Feed) --------------

    def apply(self, change: Change, mine: bool) -> None:
        """A change in the order a shared store agreed; local stores never call it.

        ``mine`` says this node made it: its own members heard of a presence or
        rename when it happened, so only messages, topics and whispers remain.
        """
        if mine and isinstance(change, Entered | Departed | Quit | Renamed):
            return
        match change:
            case Posted(message=message, frame=frame):
                room = self._mirror(message.room)
                if message.seq > room.seq:  # else seen already (a snapshot overlapping)
                    self.posted(room, message, frame or encode(message))
            case TopicSet(room=name, topic=text, by=by, ts=ts):
                room = self._mirror(name)
                topic = Topic(room=room.name, topic=text, by=by)
                self.topic_set(room, topic, encode(topic), ts)
            case Entered(room=name, nick=nick):
                room = self._mirror(name)
                room.invites.pop(fold(nick), None)  # an invitation lets one join in
                if fold(nick) not in room.remote:
                    room.remote[fold(nick)] = nick
                    self.ctx.post.room(room, Presence(room=room.name, nick=nick, event="join"))
            case Departed(room=name, nick=nick):
                left = self.ctx.roster.room(name)
                if left is not None and left.remote.pop(fold(nick), None) is not None:
                    left.departed(fold(nick))
                    self.ctx.post.room(left, Presence(room=left.name, nick=nick, event="leave"))
                    self.ctx.roster.forget_if_unused(left)
            case Quit(nick=nick, reason=reason, rooms=names):
                self._quit(nick, reason, names)
            case Renamed(old=old, new=new, rooms=names):
                self._rename(old, new, names)
            case Whispered(message=whisper):
                out = Out.of(whisper)
                target = self.ctx.roster.seat(whisper.to)
                sender = self.ctx.roster.seat(whisper.from_)
                if target is not None:
                    self.ctx.post.to(target, out)
                if sender is not None and sender is not target:
                    self.ctx.post.to(sender, out)
            case Forgotten(room=name):
                gone = self.ctx.roster.room(name)
                if gone is not None and not gone.size():
                    self.ctx.roster.drop(gone)
            case _ if isinstance(change, Moderation):
                enforce.apply(self.ctx, change)

    def settle(self) -> None:
        """The store handed over a batch of changes: send what they caused, in one piece."""
        self.ctx.post.flush()

    def unavailable(self, reason: str) -> None:
        """Tell every welcomed member that the store is gone for now (ahead of what waits)."""
        self.ctx.post.now(self.ctx.roster.welcomed(), Error(code="unavailable", message=reason))

    def held(self) -> None:
        self.ctx.post.hold()

    def written(self, count: int) -> None:
        """Hand out what waited for these changes; read again from members that had to wait."""
        ctx = self.ctx
        ctx.post.written(count)
        if ctx.stalled and not ctx.post.full:
            stalled = list(ctx.stalled)
            ctx.stalled.clear()
            for seat in stalled:
                seat.stalled = False
                seat.member.resume()

    def local_state(self) -> Snapshot:
        return Snapshot(
            epoch=self.ctx.epoch,
            rooms=[
                RoomState(
                    name=room.name,
                    seq=room.seq,
                    topic=room.topic,
                    topic_by=room.topic_by,
                    topic_ts=room.topic_ts,
                    history=list(room.history),
                    members=[seat.nick for seat in room.members if seat.nick is not None],
                )
                for room in self.ctx.roster.rooms.values()
            ],
            bans=[
                BanSet(room=room, ban=ban)
                for room, ban in self.ctx.bans.everything(self.ctx.wall_clock())
            ],
        )

    def local_nicks(self) -> list[str]:
        return [seat.nick for seat in self.ctx.roster.welcomed() if seat.nick is not None]

    def _mirror(self, name: str) -> Room:
        """The room called ``name``, made if this node has not seen it yet."""
        return self.ctx.roster.room(name) or self.ctx.roster.add_room(name)

    def _quit(self, nick: str, reason: str, names: tuple[str, ...]) -> None:
        self.ctx.away.pop(fold(nick), None)
        for name in names:
            room = self.ctx.roster.room(name)
            if room is None:
                continue
            room.remote.pop(fold(nick), None)
            room.departed(fold(nick))
            if not self.ctx.closing:
                quit = Presence(room=room.name, nick=nick, event="quit", reason=reason)
                self.ctx.post.room(room, quit)
            self.ctx.roster.forget_if_unused(room)

    def _rename(self, old: str, new: str, names: tuple[str, ...]) -> None:
        told: dict[Seat, None] = {}
        away = self.ctx.away.pop(fold(old), None)
        if away is not None:
            self.ctx.away[fold(new)] = away
        for name in names:
            room = self.ctx.roster.room(name)
            if room is None:
                continue
            if room.remote.pop(fold(old), None) is not None:
                room.remote[fold(new)] = new
            room.renamed(old, new)
            told.update(room.members)
        self.ctx.post.each(told, NickChanged(old=old, new=new))
