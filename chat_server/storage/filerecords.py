"""One JSON form for a :class:`~chat_server.changes.FileRecord`, for every store that writes one."""

from __future__ import annotations

import json
from typing import Any

from protocol import FileInfo

from ..changes import FileRecord


def encode_record(record: FileRecord) -> str:
    """The record as one line of JSON."""
    data: dict[str, Any] = {
        "file": record.file.model_dump(mode="json"),
        "owner": record.owner,
        "ts": record.ts,
        "seq": record.seq,
    }
    if record.room is not None:
        data["room"] = record.room
    if record.to is not None:
        data["to"] = record.to
    return json.dumps(data, separators=(",", ":"))


def decode_record(body: str | bytes) -> FileRecord:
    """A record written by :func:`encode_record`; raises ``ValueError`` or ``KeyError``."""
    data: dict[str, Any] = json.loads(body)
    return FileRecord(
        file=FileInfo.model_validate(data["file"]),
        owner=str(data["owner"]),
        ts=float(data["ts"]),
        room=data.get("room"),
        to=data.get("to"),
        seq=int(data.get("seq", 0)),
    )
