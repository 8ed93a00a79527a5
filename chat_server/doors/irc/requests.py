"""Hub requests built from IRC input, and the shape of a command handler."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from protocol import MessageError
from protocol.fields import RULE_CODES

from ...hub import Request
from .asked import Asked
from .wire import IrcMessage

if TYPE_CHECKING:
    from .connection import IrcConnection

#: A request for the hub, with the command it answers.
Step = tuple[Request, Asked]
#: A command handler: the requests of one line (answering what it can by itself).
Handler = Callable[["IrcConnection", IrcMessage], Iterable[Step]]
M = TypeVar("M", bound=BaseModel)


def build(conn: IrcConnection, kind: type[M], **fields: Any) -> M | MessageError:
    """``kind`` from ``fields``, validated as the native door validates a frame,
    or the :class:`MessageError` the hub answers (``room_invalid``,
    ``text_too_long``, ``nick_invalid`` or ``bad_message``).

    Every request gets a fresh ``id`` (see :mod:`.ledger`) unless ``fields``
    has one; a refusal carries it too.
    """
    message_id = fields.setdefault("id", conn.door.new_id())
    try:
        return kind.model_validate(fields, context={"max_text": conn.config.max_text})
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        ref = str(kind.model_fields["type"].default)
        codes = [error["type"] for error in errors]
        if all(code in RULE_CODES for code in codes):
            return MessageError(RULE_CODES[codes[0]], errors[0]["msg"], ref=ref, id=message_id)
        return MessageError("bad_message", str(errors[0]["msg"]), ref=ref, id=message_id)
