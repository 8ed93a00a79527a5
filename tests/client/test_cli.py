from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from chat_client.cli import login_nick, main, parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ("127.0.0.1", 7878)),
        ("example.lan", ("example.lan", 7878)),
        ("example.lan:9000", ("example.lan", 9000)),
        (":9000", ("127.0.0.1", 9000)),
        ("[::1]:9000", ("::1", 9000)),
        ("::1", ("::1", 7878)),
    ],
)
def test_parse_address(text: str | None, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["host:0", "host:70000", "host:http", "host:"])
def test_parse_address_refuses_bad_ports(text: str) -> None:
    with pytest.raises(ValueError, match="bad port"):
        parse_address(text)


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["host:99999", "--nick", "bot"], "bad port"),
        (["--nick=-bad"], "--nick '-bad'"),
        (["--nick", "bot", "--room", "no/slash"], "--room 'no/slash'"),
        (["--batch"], "needs --nick"),
        (["--nick", "bot", "--scrollback", "0"], "--scrollback"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--batch"] if "--batch" not in argv else argv)
    assert exited.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("chat-client: error:")
    assert complaint in last


def test_login_nick_is_a_valid_nick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "jean.dupont@corp")
    assert login_nick() == "jean_dupont_corp"
    monkeypatch.setenv("LOGNAME", "x" * 40)
    assert login_nick() == "x" * 32
    monkeypatch.setenv("LOGNAME", "-" * 40)
    assert login_nick() == "guest"


#: What a hostile server puts in its answer to ``hello``: clear the screen, retitle it.
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x9b2J\u202e"


class _Terminal(io.StringIO):
    """A standard input that says it is a terminal (nothing is read from it)."""

    buffer = io.BytesIO()

    def isatty(self) -> bool:
        return True


@asynccontextmanager
async def answering_hello(answer: dict[str, str]) -> AsyncIterator[int]:
    """A fake server on 127.0.0.1 that answers every ``hello`` with ``answer``: its port."""

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = int.from_bytes(await reader.readexactly(4), "big")
        await reader.readexactly(size)
        body = json.dumps(answer).encode()
        writer.write(len(body).to_bytes(4, "big") + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"type": "bye", "reason": f"go away {ESCAPES}"}, id="bye"),
        pytest.param(
            {"type": "error", "code": f"odd{ESCAPES}", "message": f"no {ESCAPES}"}, id="error"
        ),
    ],
)
@pytest.mark.parametrize("mode", [[], ["--batch"]], ids=["interactive", "batch"])
async def test_a_refusal_from_the_server_reaches_stderr_inert(
    answer: dict[str, str],
    mode: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal())
    async with answering_hello(answer) as port:
        argv = [f"127.0.0.1:{port}", "--nick", "alice", *mode]
        status = await asyncio.to_thread(main, argv)
    out, err = capfd.readouterr()
    assert status == 1
    assert err.startswith("chat-client: ")
    assert err.count("\n") == 1
    assert "^[[2J^[]0;pwned^G<U+009B>2J<U+202E>" in err
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in out + err
