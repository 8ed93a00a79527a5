"""The catalog of shared files and the quota's choice of what goes first (no I/O)."""

from __future__ import annotations

import time
from pathlib import Path

from chat_server.changes import FileRecord, FilesRemoved
from chat_server.files import Catalog, Disk, Files, PartialKey
from chat_server.storage import MemoryStore
from protocol import FileInfo


def record(
    file_id: str, sha: str, size: int, *, ts: float = 0.0, room: str | None = "r", seq: int = 0
) -> FileRecord:
    info = FileInfo(id=file_id, name="x", size=size, sha256=sha * 64)
    return FileRecord(info, "alice", ts, room=room, to=None if room else "bob", seq=seq)


def test_content_is_counted_once_however_many_files_use_it() -> None:
    catalog = Catalog()
    catalog.add(record("a", "1", 100))
    catalog.add(record("b", "1", 100))
    catalog.add(record("c", "2", 50))
    assert catalog.content_bytes == 150
    assert catalog.remove(["a"]) == []  # "b" still uses it
    assert catalog.remove(["b", "c", "zz"]) == ["1" * 64, "2" * 64]
    assert catalog.content_bytes == 0
    assert len(catalog) == 0


def test_a_room_lists_newest_first_below_before_and_whispers_never() -> None:
    catalog = Catalog()
    for seq in (3, 1, 2):
        catalog.add(record(f"f{seq}", str(seq), 1, seq=seq, room="Lobby"))
    catalog.add(record("w", "9", 1, room=None))
    ids = [r.file.id for r in catalog.room_files("lobby", None, 50)]
    assert ids == ["f3", "f2", "f1"]
    assert [r.file.id for r in catalog.room_files("LOBBY", 3, 1)] == ["f2"]
    assert catalog.room_files("elsewhere", None, 50) == []


def test_a_room_file_learns_its_seq_once() -> None:
    catalog = Catalog()
    assert catalog.add(record("a", "1", 1, seq=0))
    assert catalog.add(record("a", "1", 1, seq=5))  # numbered by the store later
    assert not catalog.add(record("a", "1", 1, seq=6))
    assert [r.seq for r in catalog.room_files("r", None, 5)] == [5]
    assert catalog.content_bytes == 1


class Recording(MemoryStore):
    def __init__(self) -> None:
        self.removed: list[tuple[str, ...]] = []

    def record(self, change: object) -> bool:
        if isinstance(change, FilesRemoved):
            self.removed.append(change.ids)
        return True


async def test_making_room_removes_the_oldest_files_first(tmp_path: Path) -> None:
    store = Recording()
    files = Files(Disk(tmp_path), store, wall_clock=lambda: 0.0)
    for n, size in enumerate((300, 300, 300)):
        files.catalog.add(record(f"f{n}", str(n), size, ts=n))
    files.hold(PartialKey("bob", "9" * 64, 200))  # an upload under way counts in full
    files.make_room(1000)
    assert store.removed == [("f0",)]
    files.make_room(500, keep="f1")
    assert store.removed[-1] == ("f2",)
    assert [r.file.id for r in files.catalog.oldest()] == ["f1"]
    await files.close()


async def test_interrupted_uploads_are_kept_for_their_ttl_and_then_deleted(tmp_path: Path) -> None:
    now = [time.time()]  # the partial files' own times are the starting point
    files = Files(Disk(tmp_path), Recording(), wall_clock=lambda: now[0])
    await files.open()
    old, young, held = (PartialKey(nick, "a" * 64, 10) for nick in ("old", "young", "held"))
    for key in (old, young, held):
        files.disk.partial_path(key).write_bytes(b"12345")
        files.stopped(key, 5)  # unknown keys are ignored...
    await files.close()
    files = Files(Disk(tmp_path), Recording(), wall_clock=lambda: now[0])
    await files.open()  # ...the directory says what was kept
    assert files.kept(old) == 5
    assert files.in_progress() == 15
    files.hold(held)  # a ticket reserves the whole upload
    assert files.in_progress() == 5 + 5 + 10
    now[0] += 599
    files.sweep_partials(600)
    assert files.kept(old) == 5
    now[0] += 2
    files.stopped(young, 5)  # written to just now
    files.sweep_partials(600)
    await files.close()
    assert sorted(p.name for p in (tmp_path / "partial").iterdir()) == [held.name, young.name]
