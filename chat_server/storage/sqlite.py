"""SQLite: history and topics that survive a restart, in one file (``--db PATH``).

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
import logging
import queue
import secrets
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from protocol import Message, encode_body, fold

from ..changes import (
    Change,
    Feed,
    FileShared,
    FilesRemoved,
    Forgotten,
    Posted,
    RoomState,
    Snapshot,
    StoreError,
    TopicSet,
)
from .base import LocalStore
from .filerecords import decode_record, encode_record

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
CREATE TABLE IF NOT EXISTS files (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
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
            case TopicSet(room=room, topic=topic):
                self._queue.put(("t", fold(room), room, topic, None))
            case Forgotten(room=room):
                self._queue.put(("f", fold(room), room, None, None))
            case FileShared(record=record):
                self._queue.put(("F", record.file.id, "", None, encode_record(record)))
            case FilesRemoved(ids=ids):
                self._queue.put(("X", "", "", ids, None))
            case _:
                pass  # presence and nicks do not outlive the process
        return True

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
        for key, name, topic, seq in db.execute("SELECT key, name, topic, seq FROM rooms"):
            bodies = db.execute(
                "SELECT body FROM messages WHERE room = ? ORDER BY seq DESC LIMIT ?",
                (key, self.retain),
            ).fetchall()
            if not bodies:
                continue  # a room exists while it has members or history
            history = [Message.model_validate_json(body) for (body,) in reversed(bodies)]
            rooms.append(RoomState(name=name, seq=seq, topic=topic, history=history))
        files = [decode_record(body) for (body,) in db.execute("SELECT body FROM files")]
        return Snapshot(epoch=epoch, rooms=rooms, files=files)

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
            elif kind == "F":
                db.execute("INSERT OR REPLACE INTO files (id, body) VALUES (?, ?)", (key, body))
            elif kind == "X":
                db.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in value])
            else:
                db.execute("DELETE FROM messages WHERE room = ?", (key,))
                db.execute("DELETE FROM rooms WHERE key = ?", (key,))
                newest.pop(key, None)
        for key, seq in newest.items():
            db.execute("DELETE FROM messages WHERE room = ? AND seq <= ?", (key, seq - self.retain))
        db.execute("COMMIT")
