"""The one exception tree of the protocol package.

::

    ProtocolError                 anything a peer sent that breaks docs/protocol.md
    ├── FrameError                the byte stream cannot be resynchronised: close
    │   ├── FrameTooLarge         a length above max_frame   (frame_too_large)
    │   └── BadFrame              a length of 0              (bad_frame)
    └── MessageError              one frame rejected; the connection stays open
                                  (bad_message, unknown_type, not_ready,
                                   nick_invalid, room_invalid, text_too_long)

Every error carries the wire ``code`` it is answered with.  Any other exception
raised from this package is a bug.
"""

from __future__ import annotations

from .fields import ErrorCode


class ProtocolError(Exception):
    """Root of every error this package raises on behalf of a peer."""

    code: ErrorCode = "bad_message"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FrameError(ProtocolError):
    """The framing is broken; nothing after this point can be trusted.

    The caller must answer ``error`` with :attr:`code`, then ``bye``, then close.
    """


class FrameTooLarge(FrameError):
    code: ErrorCode = "frame_too_large"


class BadFrame(FrameError):
    code: ErrorCode = "bad_frame"


class MessageError(ProtocolError):
    """One frame's body was rejected; the caller answers ``error`` and goes on.

    ``ref`` is the ``type`` of the offending message and ``id`` its correlation
    id, when the body was readable enough to tell.
    """

    def __init__(
        self, code: ErrorCode, message: str, *, ref: str | None = None, id: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.ref = ref
        self.id = id
