"""``python -m protocol.schema``: one document a validator can use as it is."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from protocol.schema import schema


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: dict[str, Any], pointer: str) -> Any:
    assert pointer.startswith("#/"), f"{pointer} points outside the document"
    node: Any = document
    for part in pointer[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_ref_of_the_printed_schema_resolves_in_the_document() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "protocol.schema"], capture_output=True, check=True, timeout=60
    ).stdout
    document = json.loads(printed)
    found = list(refs(document))
    assert len(found) > 20
    for pointer in found:
        assert isinstance(resolve(document, pointer), dict), pointer


def test_the_client_and_server_halves_name_every_message() -> None:
    document = schema()
    client = {ref.rsplit("/", 1)[1] for ref in refs(document["client"])}
    server = {ref.rsplit("/", 1)[1] for ref in refs(document["server"])}
    assert {"Hello", "Say", "Quit"} <= client
    assert {"Welcome", "Message", "Error", "Bye"} <= server
    error = document["$defs"]["Error"]["properties"]["code"]
    assert "unavailable" in error["enum"]
