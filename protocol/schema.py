"""Print the JSON Schema of both message unions: ``python -m protocol.schema``.

Third-party clients and bots can validate frames against it.  One document:
``client`` is what a client may send, ``server`` what it may receive, and
both refer to the message definitions under the document's own ``$defs``.
The rules behind them are in ``docs/protocol.md``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from .fields import PROTOCOL_VERSION
from .models import CLIENT_ADAPTER, SERVER_ADAPTER


def schema() -> dict[str, Any]:
    """The whole document; every ``$ref`` in it points into its ``$defs``."""
    schemas, definitions = TypeAdapter.json_schemas(
        [("client", "validation", CLIENT_ADAPTER), ("server", "serialization", SERVER_ADAPTER)],
        by_alias=True,
        title=f"hubbub wire protocol version {PROTOCOL_VERSION}",
        description="Frames of the hubbub chat protocol; see docs/protocol.md.",
    )
    return {
        **definitions,
        "client": schemas[("client", "validation")],
        "server": schemas[("server", "serialization")],
    }


def main() -> None:
    print(json.dumps(schema(), indent=2))


if __name__ == "__main__":
    main()
