"""Settings without the command line: flag > CHAT_* environment > settings file > default."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

from chat_client.cli import _parser
from chat_client.settings import Settings, config_path, load

from .processes import CLIENT, ChatServer


def _load(
    argv: list[str], environ: dict[str, str], toml: str | None, home: Path
) -> tuple[Settings, str]:
    path = home / "config" / "hubbub" / "client.toml"
    if toml is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(toml, encoding="utf-8")
        path.chmod(0o600)
    warnings = io.StringIO()
    env = {"XDG_CONFIG_HOME": str(home / "config"), **environ}
    return load(_parser(), argv, env, warn=warnings), warnings.getvalue()


FILE = 'nick = "filenick"\nrooms = ["a", "b"]\nbell = "off"\ntls = true\nscrollback = 500\n'


def test_a_flag_beats_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    env = {"CHAT_NICK": "envnick", "CHAT_ROOMS": "c, d", "CHAT_TLS": "no"}
    flags = ["--nick", "flagnick", "--room", "e"]
    both, _ = _load(flags, env, FILE, tmp_path)
    assert (both.args.nick, both.args.rooms, both.args.tls) == ("flagnick", ["e"], False)
    no_flags, _ = _load([], env, FILE, tmp_path)
    assert (no_flags.args.nick, no_flags.args.rooms) == ("envnick", ["c", "d"])
    file_only, _ = _load([], {}, FILE, tmp_path)
    args = file_only.args
    assert (args.nick, args.rooms, args.bell, args.tls, args.scrollback) == (
        "filenick",
        ["a", "b"],
        "off",
        True,
        500,
    )
    nothing, _ = _load([], {}, None, tmp_path / "elsewhere")
    assert (nothing.args.nick, nothing.args.rooms, nothing.args.bell) == (None, [], "mentions")


def test_the_server_and_the_password_need_no_command_line(tmp_path: Path) -> None:
    env = {"CHAT_SERVER": "chat.lan:9000", "CHAT_PASSWORD": "sesame"}
    loaded, _ = _load([], env, None, tmp_path)
    assert (loaded.args.address, loaded.args.password) == ("chat.lan:9000", "sesame")
    loaded, _ = _load([], {}, 'server = "other:1"\npassword = "x"\n', tmp_path)
    assert (loaded.args.address, loaded.args.password) == ("other:1", "x")


@pytest.mark.parametrize(
    ("environ", "toml", "complaint"),
    [
        ({"CHAT_SCROLLBACK": "lots"}, None, "CHAT_SCROLLBACK: invalid value 'lots'"),
        ({}, 'bell = "loud"\n', "bell: 'loud' is not one of on, off, mentions"),
        ({"CHAT_TLS": "maybe"}, None, "CHAT_TLS: 'maybe' is not a switch"),
        ({}, "nick = [1, 2]\n", "nick: [1, 2] is not a single value"),
        ({}, "nick = \n", "client.toml: "),
        ({"CHAT_CONFIG": "/nonexistent/client.toml"}, None, "no such settings file"),
    ],
)
def test_a_bad_setting_exits_2_naming_where_it_came_from(
    tmp_path: Path,
    environ: dict[str, str],
    toml: str | None,
    complaint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        _load([], environ, toml, tmp_path)
    assert exited.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("chat-client: error:")
    assert complaint in last


def test_unknown_keys_and_a_readable_password_are_warned_about(tmp_path: Path) -> None:
    loaded, warnings = _load([], {}, 'nik = "x"\npassword = "p"\n', tmp_path)
    assert "unknown setting 'nik'" in warnings
    assert "holds a password" not in warnings
    loaded.path.chmod(0o644)
    _, warnings = _load([], {}, None, tmp_path)
    assert "holds a password and others may read it" in warnings


def test_xdg_config_home_is_honoured(tmp_path: Path) -> None:
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "hubbub" / "client.toml"
    assert config_path({"XDG_CONFIG_HOME": "relative"}).parts[-3:] == (
        ".config",
        "hubbub",
        "client.toml",
    )


def test_a_batch_client_reads_nick_rooms_and_password_from_the_file(private_home: Path) -> None:
    server = ChatServer("--password", "sesame").start()
    try:
        settings = private_home / "config" / "hubbub" / "client.toml"
        settings.parent.mkdir(parents=True)
        settings.write_text('nick = "filebot"\nrooms = ["general"]\npassword = "sesame"\n')
        settings.chmod(0o600)
        address = f"127.0.0.1:{server.port}"

        def run(**env: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [CLIENT, address],
                input="hello\n",
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
                env={**os.environ, **env},
            )

        from_file = run()
        assert (from_file.returncode, from_file.stdout) == (0, "general <filebot> hello\n")
        from_env = run(CHAT_NICK="envbot")
        assert (from_env.returncode, from_env.stdout) == (0, "general <envbot> hello\n")
    finally:
        server.kill()
