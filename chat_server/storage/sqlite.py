"""SQLite: history, topics and bans that survive a restart, in one file (``--db PATH``).

One dedicated writer thread owns the connection; the event loop only puts
changes on a bounded queue (:meth:`SqliteStore.record` never waits) and the
writer commits them in batches, one transaction per batch, in WAL mode.  The
hub assigns ``seq`` in memory from what :meth:`SqliteStore.open` loaded, so
each room's sequence continues where it stopped, and the history ``epoch`` is
kept in the file so clients know their ``seq`` values still hold.

Acknowledged after the write (group commit): every change taken is reported
to the hub (:meth:`Feed.held`), which hands nothing out until the writer has
committed it (:meth:`Feed.written`).  A batch is what arrived while the
previous one was written, so the disk sees one commit per batch, not per
message.  A commit with ``synchronous=NORMAL`` is in the operating system's
hands when it returns: it survives the process being killed, not a power loss
or a kernel crash; ``--fsync`` (``synchronous=FULL``) waits for the disk too.

So a crash of the process loses only what nobody was told about, and the
next start keeps the epoch.  The file is marked ``running`` (with the boot it
started in and its ``synchronous`` mode) while a server has it open: a start
that finds the mark of an earlier boot without ``--fsync`` knows acknowledged
commits may have been lost with the machine, and takes a new epoch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import secrets
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from protocol import BanEntry, Message, encode_body, fold

from ..changes import (
    BanLifted,
    BanSet,
    Change,
    Feed,
    Forgotten,
    Posted,
    RoomState,
    Snapshot,
    StoreError,
    TopicSet,
    ban_key,
)
from .base import LocalStore

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rooms (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    topic TEXT,
    seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (room, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topic_meta (
    key TEXT PRIMARY KEY,
    set_by TEXT,
    set_at REAL
);
CREATE TABLE IF NOT EXISTS bans (
    room TEXT NOT NULL,
    target TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (room, target)
) WITHOUT ROWID;
"""

#: Changes written in one transaction at most.
BATCH = 2000
#: Seconds between attempts to write a batch that failed (doubling up to the max).
RETRY_FIRST = 0.05
RETRY_MAX = 2.0
#: Where Linux names the current boot; elsewhere every boot looks new.
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")

# What goes on the queue: (number, kind, room key, room name, value, body); None stops.
_Op = tuple[int, str, str, str, Any, str | None]


def boot_id() -> str:
    """This boot of the machine, or ``""`` where the system does not say."""
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


class SqliteStore(LocalStore):
    """A local, durable store in the SQLite file ``path``.

    ``retain`` messages are kept per room (the server's ``--history``);
    ``backlog`` changes may wait for the writer before :meth:`record` refuses;
    ``fsync`` waits for the disk on every commit (``--fsync``).
    """

    def __init__(
        self, path: str, *, retain: int, backlog: int = 100_000, fsync: bool = False
    ) -> None:
        self.path = path
        self.retain = retain
        self.backlog = backlog
        self.fsync = fsync
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._feed: Feed | None = None
        #: Changes taken so far (the loop's side); the writer reports how many are written.
        self._taken = 0
        #: Set by the writer on its way out; ``record`` refuses from then on.
        self._stopped = threading.Event()
        #: Set by :meth:`close`: a batch that keeps failing is given up.
        self._closing = threading.Event()

    # --- the event loop's side ---------------------------------------------

    async def open(self, feed: Feed) -> Snapshot:
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[Snapshot] = loop.create_future()
        self._feed = feed

        def report(result: Snapshot | BaseException) -> None:
            def settle() -> None:
                if opened.done():
                    return
                if isinstance(result, BaseException):
                    opened.set_exception(result)
                else:
                    opened.set_result(result)

            loop.call_soon_threadsafe(settle)

        def written(count: int) -> None:
            loop.call_soon_threadsafe(feed.written, count)

        def failing(reason: str) -> None:
            loop.call_soon_threadsafe(feed.unavailable, reason)

        self._thread = threading.Thread(
            target=self._run, args=(report, written, failing), name="sqlite-writer", daemon=True
        )
        self._thread.start()
        snapshot = await opened
        log.info("history in %s: %d rooms", self.path, len(snapshot.rooms))
        return snapshot

    async def close(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        self._closing.set()
        await asyncio.to_thread(thread.join, 10.0)
        if thread.is_alive():
            log.error("the SQLite writer did not finish within 10 s")
        self._thread = None

    def record(self, change: Change) -> bool:
        if self._stopped.is_set() or self._queue.qsize() >= self.backlog:
            return False
        op: tuple[str, str, str, Any, str | None]
        match change:
            case Posted(message=message):
                body = encode_body(message).decode()
                op = ("m", fold(message.room), message.room, message.seq, body)
            case TopicSet(room=room, topic=topic, by=by, ts=ts):
                meta = json.dumps({"by": by, "ts": ts})
                op = ("t", fold(room), room, topic, meta)
            case Forgotten(room=room):
                op = ("f", fold(room), room, None, None)
            case BanSet(room=room, ban=ban):
                target = ban_key(ban.nick, ban.address)
                op = ("b", fold(room), room, target, encode_body(ban).decode())
            case BanLifted(room=room, nick=nick, address=address):
                op = ("u", fold(room), room, ban_key(nick, address), None)
            case _:
                return True  # presence and nicks do not outlive the process
        self._taken += 1
        self._queue.put((self._taken, *op))
        if self._feed is not None:
            self._feed.held()
        return True

    def health(self) -> str:
        if self._stopped.is_set():
            return f"sqlite {self.path}: stopped"
        return f"sqlite {self.path}: ok, {self._queue.qsize()} changes waiting"

    # --- the writer thread -------------------------------------------------

    def _run(
        self,
        report: Callable[[Snapshot | BaseException], None],
        written: Callable[[int], None],
        failing: Callable[[str], None],
    ) -> None:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")  # the mark below reaches the disk
                db.executescript(SCHEMA)
                snapshot = self._load(db)
                db.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
            except BaseException:
                db.close()
                raise
        except (sqlite3.Error, OSError) as exc:
            self._stopped.set()
            report(StoreError(f"--db: cannot use {self.path}: {exc}"))
            return
        except BaseException as exc:  # a bug: still wake the loop
            self._stopped.set()
            report(exc)
            raise
        report(snapshot)
        try:
            self._write_until_stopped(db, written, failing)
        finally:
            self._stopped.set()
            db.close()

    def _load(self, db: sqlite3.Connection) -> Snapshot:
        row = db.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
        mark = db.execute("SELECT value FROM meta WHERE key = 'running'").fetchone()
        if row is None or (mark is not None and self._maybe_lost(str(mark[0]))):
            epoch = secrets.token_hex(8)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('epoch', ?)", (epoch,))
        else:
            epoch = str(row[0])
            if mark is not None:
                log.warning("%s was not closed cleanly; nothing acknowledged was lost", self.path)
        running = f"{boot_id()} {'full' if self.fsync else 'normal'}"
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('running', ?)", (running,))
        rooms: list[RoomState] = []
        for key, name, topic, seq, by, at in db.execute(
            "SELECT rooms.key, name, topic, seq, set_by, set_at FROM rooms "
            "LEFT JOIN topic_meta ON topic_meta.key = rooms.key"
        ):
            bodies = db.execute(
                "SELECT body FROM messages WHERE room = ? ORDER BY seq DESC LIMIT ?",
                (key, self.retain),
            ).fetchall()
            if not bodies:
                continue  # a room exists while it has members or history
            history = [Message.model_validate_json(body) for (body,) in reversed(bodies)]
            known = topic is not None
            rooms.append(
                RoomState(
                    name=name,
                    seq=seq,
                    topic=topic,
                    history=history,
                    topic_by=by if known else None,
                    topic_ts=at if known else None,
                )
            )
        bans = [
            BanSet(room=name, ban=BanEntry.model_validate_json(body))
            for name, body in db.execute("SELECT name, body FROM bans")
        ]
        return Snapshot(epoch=epoch, rooms=rooms, bans=bans)

    def _maybe_lost(self, mark: str) -> bool:
        """Whether the server that left ``mark`` may have lost acknowledged commits.

        A process that dies leaves its commits to the operating system, which
        writes them; only the machine going down loses them, and only without
        ``--fsync``.
        """
        boot, _, mode = mark.partition(" ")
        if mode == "full" or (boot and boot == boot_id()):
            return False
        log.warning(
            "%s was open without --fsync when the machine went down: a new history epoch",
            self.path,
        )
        return True

    def _write_until_stopped(
        self,
        db: sqlite3.Connection,
        written: Callable[[int], None],
        failing: Callable[[str], None],
    ) -> None:
        """Write batches until told to stop, then clear the mark.

        A batch that fails is tried again until it is written (or the store is
        closed): nothing in it was handed out, and nothing after it is.
        """
        while True:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            stop = False
            while len(batch) < BATCH:
                try:
                    op = self._queue.get_nowait()
                except queue.Empty:
                    break
                if op is None:
                    stop = True
                    break
                batch.append(op)
            if not self._write_with_retries(db, batch, failing):
                return
            written(batch[-1][0])
            if stop:
                break
        with contextlib.suppress(sqlite3.Error):
            db.execute("DELETE FROM meta WHERE key = 'running'")

    def _write_with_retries(
        self,
        db: sqlite3.Connection,
        batch: list[_Op],
        failing: Callable[[str], None],
    ) -> bool:
        """Write ``batch``; ``False`` if it could not be written before a stop."""
        delay = RETRY_FIRST
        told = False
        while True:
            try:
                self._write(db, batch)
                if told:
                    log.warning("writing to %s works again", self.path)
                return True
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                if not told:
                    log.error("writing %d changes to %s failed: %s", len(batch), self.path, exc)
                    failing("the server cannot write its history: what you send waits")
                    told = True
            if self._closing.wait(delay):
                log.error("%s: %d changes were never written (never sent)", self.path, len(batch))
                return False
            delay = min(RETRY_MAX, delay * 2)

    def _write(self, db: sqlite3.Connection, batch: list[_Op]) -> None:
        newest: dict[str, tuple[str, int]] = {}
        messages: list[tuple[str, int, str | None]] = []
        db.execute("BEGIN")
        for _, kind, key, name, value, body in batch:
            if kind == "m":
                messages.append((key, value, body))
                newest[key] = (name, value)
                continue
            self._messages(db, messages, newest)
            if kind == "t":
                db.execute(
                    "INSERT INTO rooms (key, name, topic) VALUES (?, ?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET topic = excluded.topic",
                    (key, name, value),
                )
                meta = json.loads(body or "{}")
                db.execute(
                    "INSERT OR REPLACE INTO topic_meta (key, set_by, set_at) VALUES (?, ?, ?)",
                    (key, meta.get("by"), meta.get("ts")),
                )
            elif kind == "b":
                db.execute(
                    "INSERT OR REPLACE INTO bans (room, target, name, body) VALUES (?, ?, ?, ?)",
                    (key, value, name, body),
                )
            elif kind == "u":
                db.execute("DELETE FROM bans WHERE room = ? AND target = ?", (key, value))
            else:
                db.execute("DELETE FROM messages WHERE room = ?", (key,))
                db.execute("DELETE FROM rooms WHERE key = ?", (key,))
                db.execute("DELETE FROM topic_meta WHERE key = ?", (key,))
        self._messages(db, messages, newest)
        db.execute("COMMIT")

    def _messages(
        self,
        db: sqlite3.Connection,
        messages: list[tuple[str, int, str | None]],
        newest: dict[str, tuple[str, int]],
    ) -> None:
        """Write a run of messages: each room's ``seq`` once, old ones beyond ``retain`` out."""
        if not messages:
            return
        db.executemany(
            "INSERT INTO rooms (key, name, seq) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET seq = max(seq, excluded.seq)",
            [(key, name, seq) for key, (name, seq) in newest.items()],
        )
        if self.retain:
            db.executemany(
                "INSERT OR REPLACE INTO messages (room, seq, body) VALUES (?, ?, ?)", messages
            )
            db.executemany(
                "DELETE FROM messages WHERE room = ? AND seq <= ?",
                [(key, seq - self.retain) for key, (_, seq) in newest.items()],
            )
        messages.clear()
        newest.clear()
