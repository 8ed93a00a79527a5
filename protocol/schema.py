"""Print the JSON Schema of both message unions: ``python -m protocol.schema``.

Third-party clients and bots can validate frames against it.  The ``client``
schema is what a client may send, the ``server`` schema what it may receive.
"""

from __future__ import annotations

import json
from typing import Any

from .models import CLIENT_ADAPTER, PROTOCOL_VERSION, SERVER_ADAPTER


def schema() -> dict[str, Any]:
    return {
        "$comment": f"hubbub wire protocol version {PROTOCOL_VERSION}",
        "client": CLIENT_ADAPTER.json_schema(by_alias=True),
        "server": SERVER_ADAPTER.json_schema(by_alias=True, mode="serialization"),
    }


def main() -> None:
    print(json.dumps(schema(), indent=2))


if __name__ == "__main__":
    main()
