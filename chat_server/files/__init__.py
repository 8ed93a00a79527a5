"""Shared files: content stored once per ``sha256``, quota and expiry, resumable uploads.

:class:`Files` is what the hub and the transfer door use; :class:`Disk` is
the directory (``--files-dir``) and :class:`Catalog` the records of the
files that are shared.  The records themselves are kept by the store (see
:class:`~chat_server.changes.FileShared`), so they survive a restart with
``--db`` and every node of a cluster sees them; the bytes are on the disk,
which the nodes of a cluster must share.
"""

from __future__ import annotations

from .catalog import Catalog
from .disk import Disk, PartialKey
from .service import Files
from .upload import UploadSink

__all__ = ["Catalog", "Disk", "Files", "PartialKey", "UploadSink"]
