"""The requests about shared files on a chat connection, and publishing a finished upload.

``file_offer`` and ``file_get`` answer with a ticket (:mod:`.tickets`) that a
side connection redeems with ``transfer`` (the transfer door); ``files`` lists
a room's files.  Once an upload is whole and verified, :func:`publish` shares
it: a ``message`` in its room (or a ``whisper``) carrying ``file``, through
the same posting path as any message, so it is numbered, kept in history and
seen by every node.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from protocol import (
    DownloadTicket,
    ErrorCode,
    FileGet,
    FileInfo,
    FileList,
    FileOffer,
    ListFiles,
    Message,
    Transfer,
    UploadTicket,
    WhisperMessage,
    encode,
    fold,
    shared_text,
)

from ..changes import FileRecord, StoreError, Whispered
from ..files import PartialKey
from .context import Context
from .fitting import fit_list
from .gate import silenced
from .handlers import Handler
from .member import Out
from .posting import SEQ_DIGITS
from .roster import Phase, Room, Seat
from .tickets import Ticket

log = logging.getLogger(__name__)

#: Characters of a file id the server makes (``secrets.token_urlsafe(12)``).
FILE_ID_LENGTH = 16


def may_share(ctx: Context, seat: Seat, room: Room) -> tuple[ErrorCode, str] | None:
    """Why ``seat`` may not share a file in ``room`` now, or ``None`` if it may.

    A file offer is speech: it obeys the room's moderation exactly as ``say``
    does (``muted`` when muted, or in a ``moderated`` room without op or voice).
    """
    if room.mutes or room.modes.moderated:
        why = silenced(ctx, seat, room)
        if why is not None:
            return ("muted", why)
    return None


def file_offer(ctx: Context, seat: Seat, request: FileOffer) -> None:
    """Checked in this order: size (``file_too_large``), the room or the nick
    (``not_in_room``, ``no_such_nick``), moderation, the frame, the quota."""
    limit = ctx.settings.max_upload
    if ctx.files is None or not limit:
        ctx.post.error(seat, "file_too_large", "file sharing is off on this server", request)
        return
    if request.size > limit:
        text = f"the file is {request.size} bytes; this server takes at most {limit}"
        ctx.post.error(seat, "file_too_large", text, request)
        return
    if request.room is not None:
        room = seat.rooms.get(fold(request.room))
        if room is None:
            ctx.post.error(seat, "not_in_room", f"you are not in {request.room}", request)
            return
        refusal = may_share(ctx, seat, room)
        if refusal is not None:
            ctx.post.error(seat, refusal[0], refusal[1], request)
            return
        _grant(ctx, seat, request, room.name, None)
        return
    assert request.to is not None
    target = ctx.roster.seat(request.to)
    if target is not None and target.nick is not None:
        _grant(ctx, seat, request, None, target.nick)
    elif ctx.store.shared:
        ctx.tickets.spawn(_grant_remote(ctx, seat, request))
    else:
        ctx.post.error(seat, "no_such_nick", f"nobody is called {request.to}", request)


async def _grant_remote(ctx: Context, seat: Seat, request: FileOffer) -> None:
    """An offer to a nick nobody holds on this node: ask the shared store who does."""
    assert request.to is not None
    try:
        spelling = await ctx.store.nick_exists(request.to)
    except StoreError as exc:
        ctx.post.error(seat, "unavailable", str(exc), request)
    else:
        if seat.phase is Phase.GONE:
            return
        if spelling is None:
            ctx.post.error(seat, "no_such_nick", f"nobody is called {request.to}", request)
        else:
            _grant(ctx, seat, request, None, spelling)
    ctx.post.flush()


def _grant(ctx: Context, seat: Seat, request: FileOffer, room: str | None, to: str | None) -> None:
    files = ctx.files
    assert files is not None
    assert seat.nick is not None
    file = _file(request, "x" * FILE_ID_LENGTH)
    sample: Message | WhisperMessage
    if room is not None:
        sample = _room_message(request, seat.nick, room, file, 0.0, 10**SEQ_DIGITS)
    else:
        assert to is not None
        sample = _whisper(request, seat.nick, to, file, 0.0)
    if not ctx.fits(encode(sample)):
        text = f"a message sharing this file would exceed {ctx.settings.max_frame} bytes"
        ctx.post.error(seat, "text_too_long", text, request)
        return
    key = PartialKey(fold(seat.nick), request.sha256, request.size)
    free = ctx.settings.files_quota - files.in_progress(excluding=key)
    if request.size > free:
        text = f"the file is {request.size} bytes; uploads in progress leave {max(0, free)}"
        ctx.post.error(seat, "quota_exceeded", text, request)
        return
    ticket = ctx.tickets.upload(seat, request, key, ctx.settings.ticket_ttl, to)
    ctx.post.reply(seat, UploadTicket(token=ticket.token, offset=files.kept(key), id=request.id))


def file_get(ctx: Context, seat: Seat, request: FileGet) -> None:
    record = None
    if ctx.files is not None and ctx.settings.max_upload:
        record = ctx.files.find(request.file, ctx.settings.file_ttl)
    if record is None or not _may_fetch(record, seat):
        ctx.post.error(seat, "no_such_file", f"there is no file {request.file}", request)
        return
    ticket = ctx.tickets.download(seat, record, ctx.settings.ticket_ttl)
    ctx.post.reply(seat, DownloadTicket(token=ticket.token, file=record.file, id=request.id))


def _may_fetch(record: FileRecord, seat: Seat) -> bool:
    """A room's file is anyone's (as its history is); a whispered one its two ends' only."""
    if record.room is not None:
        return True
    nick = fold(seat.nick or "")
    return nick in (fold(record.owner), fold(record.to or ""))


def list_files(ctx: Context, seat: Seat, request: ListFiles) -> None:
    files = ctx.files
    room = ctx.roster.room(request.room)
    known = files is not None and files.catalog.has_room(request.room)
    if room is None and not known:
        ctx.post.error(seat, "not_in_room", f"there is no room {request.room}", request)
        return
    records: list[FileRecord] = []
    if files is not None and ctx.settings.max_upload:
        files.expire(ctx.settings.file_ttl)
        records = files.catalog.room_files(request.room, request.before, request.limit)
    name = room.name if room is not None else (records[0].room if records else request.room)
    assert name is not None
    listing = fit_list(
        lambda kept, cut: FileList(room=name, files=kept, truncated=cut),
        [record.file for record in records],
        ctx.settings.max_frame,
    )
    ctx.post.to(seat, listing)


def transfer_here(ctx: Context, seat: Seat, request: Transfer) -> None:
    """``transfer`` belongs on a side connection of its own, as its first frame."""
    text = "transfer opens a side connection: send it first on a new connection"
    ctx.post.error(seat, "bad_message", text, request)


def publish(ctx: Context, ticket: Ticket) -> FileInfo | tuple[ErrorCode, str]:
    """Share a finished upload (its content is stored): returns its ``file``, or why not.

    Makes room for it in the quota first; then its ``message`` (or ``whisper``)
    goes out like any other.  On refusal nothing was shared.
    """
    offer, files = ticket.offer, ctx.files
    assert offer is not None
    assert files is not None
    holder = ticket.holder
    nick = holder.nick if holder.phase is not Phase.GONE and holder.nick else ticket.nick
    info = _file(offer, secrets.token_urlsafe(12))
    stored = files.catalog.uses(info.sha256)
    files.make_room(ctx.settings.files_quota - (0 if stored else info.size))
    now = ctx.wall_clock()
    try:
        if offer.room is not None:
            return _publish_in_room(ctx, offer, nick, info, now)
        return _publish_whisper(ctx, ticket, nick, info, now)
    finally:
        ctx.post.flush()


def _publish_in_room(
    ctx: Context, offer: FileOffer, nick: str, info: FileInfo, now: float
) -> FileInfo | tuple[ErrorCode, str]:
    assert offer.room is not None
    assert ctx.files is not None
    room = ctx.roster.room(offer.room)
    if room is None:
        return ("not_in_room", f"there is no room {offer.room} any more")
    refused = ctx.posting.post(
        room, lambda seq: _room_message(offer, nick, room.name, info, now, seq)
    )
    if refused is not None:
        return (refused, "the server cannot share this file right now; try again")
    if ctx.store.shared:  # numbered by the store later: know the file now
        ctx.files.shared(FileRecord(info, nick, now, room=room.name), durable=False)
    return info


def _publish_whisper(
    ctx: Context, ticket: Ticket, nick: str, info: FileInfo, now: float
) -> FileInfo | tuple[ErrorCode, str]:
    offer, to = ticket.offer, ticket.to
    assert offer is not None
    assert to is not None
    assert ctx.files is not None
    whisper = _whisper(offer, nick, to, info, now)
    target = ctx.roster.seat(to)
    ctx.files.shared(FileRecord(info, nick, now, to=to), durable=True)  # known before it is seen
    if target is None and ctx.store.shared and not ctx.store.record(Whispered(whisper)):
        return ("unavailable", "the server cannot share this file right now; try again")
    out = Out.of(whisper)
    if target is not None:
        ctx.post.to(target, out)
    sender = ctx.roster.seat(nick)
    if sender is not None and sender is not target and (target is not None or not ctx.store.shared):
        ctx.post.to(sender, out)
    return info


def _file(offer: FileOffer, file_id: str) -> FileInfo:
    return FileInfo(
        id=file_id, name=offer.name, size=offer.size, sha256=offer.sha256, mime=offer.mime
    )


def _room_message(
    offer: FileOffer, nick: str, room: str, file: FileInfo, ts: float, seq: int
) -> Message:
    """The ``message`` that shares ``offer``'s file in ``room``."""
    text = shared_text(offer.name, offer.size)
    return Message(room=room, from_=nick, text=text, ts=ts, seq=seq, id=offer.id, file=file)


def _whisper(offer: FileOffer, nick: str, to: str, file: FileInfo, ts: float) -> WhisperMessage:
    """The ``whisper`` that shares ``offer``'s file with ``to``."""
    text = shared_text(offer.name, offer.size)
    return WhisperMessage(from_=nick, to=to, text=text, ts=ts, id=offer.id, file=file)


#: The handler of each request about files.
HANDLERS: dict[type[Any], Handler] = {
    FileOffer: file_offer,
    FileGet: file_get,
    ListFiles: list_files,
    Transfer: transfer_here,
}
