"""docker-compose.yml gives every node of the cluster profile one shared files directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chat_server.cli import parse_args

ROOT = Path(__file__).resolve().parent.parent


def test_every_node_keeps_files_in_one_shared_volume() -> None:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    nodes = {
        name: service
        for name, service in document["services"].items()
        if service.get("command", [None])[0] == "chat-server"
    }
    assert set(nodes) >= {"hubbub", "hubbub-2"}
    mounts = set()
    for name, service in nodes.items():
        environment = service["environment"]
        config = parse_args(service["command"][1:], environ=environment)
        assert config.redis is not None, name
        assert config.files_dir is not None, f"{name} keeps files in a temporary directory"
        (volume,) = [m for m in service["volumes"] if m.endswith(f":{config.files_dir}")]
        mounts.add(volume)
    (volume,) = mounts  # one and the same for every node
    assert volume.split(":")[0] in document["volumes"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"chown hubbub {config.files_dir}" in dockerfile
