from __future__ import annotations

import pytest

from chat_client.cli import login_nick, main, parse_address
from protocol import is_valid_nick


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
    monkeypatch.setenv("LOGNAME", "-" * 40)
    assert is_valid_nick(login_nick())
