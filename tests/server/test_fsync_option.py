"""``--fsync``: a switch, also ``CHAT_FSYNC``, that only ``--db`` takes."""

from __future__ import annotations

import pytest

from chat_server.cli import parse_args


def test_fsync_is_off_by_default_and_on_as_a_flag_or_from_the_environment() -> None:
    assert parse_args(["--db", "hub.db"], environ={}).fsync is False
    assert parse_args(["--db", "hub.db", "--fsync"], environ={}).fsync is True
    assert parse_args(["--db", "hub.db"], environ={"CHAT_FSYNC": "yes"}).fsync is True
    assert parse_args(["--db", "hub.db"], environ={"CHAT_FSYNC": "0"}).fsync is False


@pytest.mark.parametrize(
    ("argv", "environ", "says"),
    [
        (["--fsync"], {}, "--fsync"),
        (["--db", "hub.db"], {"CHAT_FSYNC": "maybe"}, "CHAT_FSYNC"),
    ],
)
def test_fsync_without_db_or_a_bad_switch_value_exits_2(
    argv: list[str], environ: dict[str, str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args(argv, environ=environ)
    assert stopped.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert says in line
