"""SQLite: history, topics and bans that survive a restart, in one file (``--db PATH``).

One dedicated writer thread owns the connection; the event loop only puts
changes on a bounded queue (:meth:`SqliteStore.record` never waits) and the
writer commits them in batches, one transaction per batch, in WAL mode.  The
hub assigns ``seq`` in memory from what :meth:`SqliteStore.open` loaded, so
each room's sequence continues where it stopped, and the history ``epoch`` is
kept in the file so clients know their ``seq`` values still hold.

Messages are broadcast before their batch is committed, so a crash can lose
the last of them, and their ``seq`` would then be given again.  The file is
marked ``running`` while a server has it open and unmarked once everything
was written; a start that finds the mark takes a new epoch, which tells
clients to forget their ``seq`` values.
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

# What goes on the queue: (kind, room key, room name, value, body); None stops.
_Op = tuple[str, str, str, Any, str | None]


class SqliteStore(LocalStore):
    """A local, durable store in the SQLite file ``path``.

    ``retain`` messages are kept per room (the server's ``--history``);
    ``backlog`` changes may wait for the writer before :meth:`record` refuses.
    """

    def __init__(self, path: str, *, retain: int, backlog: int = 100_000) -> None:
        self.path = path
        self.retain = retain
        self.backlog = backlog
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        #: Set by the writer on its way out; ``record`` refuses from then on.
        self._stopped = threading.Event()

    # --- the event loop's side ---------------------------------------------

    async def open(self, feed: Feed) -> Snapshot:
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[Snapshot] = loop.create_future()

        def report(result: Snapshot | BaseException) -> None:
            def settle() -> None:
                if opened.done():
                    return
                if isinstance(result, BaseException):
                    opened.set_exception(result)
                else:
                    opened.set_result(result)

            loop.call_soon_threadsafe(settle)

        self._thread = threading.Thread(
            target=self._run, args=(report,), name="sqlite-writer", daemon=True
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
        await asyncio.to_thread(thread.join, 10.0)
        if thread.is_alive():
            log.error("the SQLite writer did not finish within 10 s")
        self._thread = None

    def record(self, change: Change) -> bool:
        if self._stopped.is_set() or self._queue.qsize() >= self.backlog:
            return False
        match change:
            case Posted(message=message):
                body = encode_body(message).decode()
                self._queue.put(("m", fold(message.room), message.room, message.seq, body))
            case TopicSet(room=room, topic=topic, by=by, ts=ts):
                meta = json.dumps({"by": by, "ts": ts})
                self._queue.put(("t", fold(room), room, topic, meta))
            case Forgotten(room=room):
                self._queue.put(("f", fold(room), room, None, None))
            case BanSet(room=room, ban=ban):
                target = ban_key(ban.nick, ban.address)
                self._queue.put(("b", fold(room), room, target, encode_body(ban).decode()))
            case BanLifted(room=room, nick=nick, address=address):
                self._queue.put(("u", fold(room), room, ban_key(nick, address), None))
            case _:
                pass  # presence and nicks do not outlive the process
        return True

    def health(self) -> str:
        if self._stopped.is_set():
            return f"sqlite {self.path}: stopped"
        return f"sqlite {self.path}: ok, {self._queue.qsize()} changes waiting"

    # --- the writer thread -------------------------------------------------

    def _run(self, report: Callable[[Snapshot | BaseException], None]) -> None:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(SCHEMA)
                snapshot = self._load(db)
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
            self._write_until_stopped(db)
        finally:
            self._stopped.set()
            db.close()

    def _load(self, db: sqlite3.Connection) -> Snapshot:
        row = db.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
        crashed = db.execute("SELECT 1 FROM meta WHERE key = 'running'").fetchone() is not None
        if row is None or crashed:
            if crashed:
                log.warning("%s was not closed cleanly: a new history epoch", self.path)
            epoch = secrets.token_hex(8)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('epoch', ?)", (epoch,))
        else:
            epoch = str(row[0])
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('running', '1')")
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

    def _write_until_stopped(self, db: sqlite3.Connection) -> None:
        """Write batches until told to stop; then, if none failed, clear the mark."""
        intact = True
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
            try:
                self._write(db, batch)
            except sqlite3.Error:
                intact = False
                log.exception("writing %d changes to %s failed", len(batch), self.path)
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            if stop:
                break
        if intact:  # if this fails too, the next start takes a new epoch: safe
            with contextlib.suppress(sqlite3.Error):
                db.execute("DELETE FROM meta WHERE key = 'running'")

    def _write(self, db: sqlite3.Connection, batch: list[_Op]) -> None:
        newest: dict[str, int] = {}
        db.execute("BEGIN")
        for kind, key, name, value, body in batch:
            if kind == "m":
                db.execute(
                    "INSERT INTO rooms (key, name, seq) VALUES (?, ?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET seq = max(seq, excluded.seq)",
                    (key, name, value),
                )
                if self.retain:
                    db.execute(
                        "INSERT OR REPLACE INTO messages (room, seq, body) VALUES (?, ?, ?)",
                        (key, value, body),
                    )
                newest[key] = value
            elif kind == "t":
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
                newest.pop(key, None)
        for key, seq in newest.items():
            db.execute("DELETE FROM messages WHERE room = ? AND seq <= ?", (key, seq - self.retain))
        db.execute("COMMIT")
