"""The additions for sharing files (docs/protocol.md, "Files").

File bytes never travel on the chat connection: a ``file_offer`` or
``file_get`` there is answered with a one-time ticket, which a second
connection redeems with ``transfer``.  :func:`safe_file_name` is the one
rule for what a shared file may be called, on both ends.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .fields import (
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    MAX_ID_LENGTH,
    Id,
    Nick,
    RequestModel,
    Room,
    Token,
    WireModel,
    absent,
    is_false,
)

#: Longest file name, in code points, after it was made safe.
MAX_FILE_NAME = 255
MAX_MIME = 255
_UNSAFE_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SHA256 = re.compile("[0-9a-f]{64}")


def safe_file_name(name: str) -> str | None:
    """``name`` reduced to a safe base name, or ``None`` if nothing safe is left.

    Takes the part after the last ``/`` or ``\\``, removes C0, DEL, C1 and the
    bidirectional controls, and refuses a result that is empty, ``.``, ``..``
    or longer than :data:`MAX_FILE_NAME` code points.
    """
    base = re.split(r"[/\\]", name)[-1]
    base = _UNSAFE_NAME.sub("", base)
    if base in ("", ".", "..") or len(base) > MAX_FILE_NAME:
        return None
    return base


_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_size(size: float) -> str:
    """``size`` bytes for people: ``512 B``, ``1.5 KiB``, ``50.0 MiB``, ``1.0 GiB``."""
    unit = 0
    while size >= 1024 and unit < len(_UNITS) - 1:
        size /= 1024
        unit += 1
    return f"{size:.0f} B" if unit == 0 else f"{size:.1f} {_UNITS[unit]}"


def shared_text(name: str, size: int) -> str:
    """The ``text`` of a file's ``message``, for clients that do not know ``file``."""
    return f"shared {name} ({format_size(size)})"


def _check_name(value: str) -> str:
    safe = safe_file_name(value)
    if safe is None:
        raise ValueError(
            f"a file name must keep 1-{MAX_FILE_NAME} characters once directories "
            "and control characters are removed, and not be . or .."
        )
    return safe


def _check_sha256(value: str) -> str:
    value = value.lower()
    if _SHA256.fullmatch(value) is None:
        raise ValueError("sha256 is 64 hexadecimal digits")
    return value


FileName = Annotated[str, AfterValidator(_check_name)]
Sha256 = Annotated[str, AfterValidator(_check_sha256)]
Size = Annotated[int, Field(ge=0, le=2**53)]


class FileInfo(WireModel):
    """A shared file, the same in ``message``, ``transfer_done``, tickets and lists."""

    id: Annotated[str, Field(max_length=MAX_ID_LENGTH)]
    name: str
    size: int
    sha256: str
    mime: str | None = Field(default=None, exclude_if=absent)


# --- client to server -----------------------------------------------------------


class FileOffer(RequestModel):
    """Share a file in ``room`` or with the nick ``to`` (exactly one of them)."""

    type: Literal["file_offer"] = "file_offer"
    room: Room | None = Field(default=None, exclude_if=absent)
    to: Nick | None = Field(default=None, exclude_if=absent)
    name: FileName
    size: Size
    sha256: Sha256
    mime: Annotated[str, Field(max_length=MAX_MIME)] | None = Field(default=None, exclude_if=absent)

    @model_validator(mode="after")
    def _one_place(self) -> FileOffer:
        if (self.room is None) == (self.to is None):
            raise ValueError("give exactly one of room and to")
        return self


class FileGet(RequestModel):
    type: Literal["file_get"] = "file_get"
    file: Id


class ListFiles(RequestModel):
    type: Literal["files"] = "files"
    room: Room
    before: int | None = Field(default=None, exclude_if=absent)
    limit: int = Field(default=HISTORY_LIMIT_DEFAULT, ge=1, le=HISTORY_LIMIT_MAX)


class Transfer(RequestModel):
    """The first frame of a transfer connection (no ``hello``)."""

    type: Literal["transfer"] = "transfer"
    token: Token
    offset: Size | None = Field(default=None, exclude_if=absent)


# --- server to client -----------------------------------------------------------


class UploadTicket(WireModel):
    type: Literal["upload_ticket"] = "upload_ticket"
    token: str
    #: Bytes of this same file the server kept from an interrupted upload.
    offset: int
    id: str | None = Field(default=None, exclude_if=absent)


class TransferReady(WireModel):
    type: Literal["transfer_ready"] = "transfer_ready"
    offset: int
    size: int


class TransferDone(WireModel):
    type: Literal["transfer_done"] = "transfer_done"
    file: FileInfo


class DownloadTicket(WireModel):
    type: Literal["download_ticket"] = "download_ticket"
    token: str
    file: FileInfo
    id: str | None = Field(default=None, exclude_if=absent)


class FileList(WireModel):
    type: Literal["file_list"] = "file_list"
    room: str
    files: list[FileInfo]
    truncated: bool = Field(default=False, exclude_if=is_false)


FILE_REQUESTS = (FileOffer, FileGet, ListFiles, Transfer)
