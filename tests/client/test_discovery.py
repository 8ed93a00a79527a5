"""Finding a server: the browse, the picker, the decision, and the real client.

Browses are limited to 127.0.0.1 and servers listen there under names of their
own.  Where a test needs a LAN with *no* server on it (the fallback), it runs
in a private network namespace whose ``lo`` nobody else shares.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from ipaddress import IPv4Interface
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from chat_client.cli import main
from chat_client.discovery import (
    SERVICE_TYPE,
    DiscoveryError,
    Found,
    best_address,
    browse,
    found_from,
)
from chat_client.link import Endpoint
from chat_client.locate import Declined, Progress, decide, locate, target
from chat_client.picker import Picker, pick
from chat_client.reconnect import Connection
from chat_server.server import Server, run_server
from tests.conftest import loopback_config
from tests.mdns import BROWSE, CLIENT, SERVER, can_make_a_network_namespace, unique_name

pytestmark = pytest.mark.timeout(60)

FALLBACK = Endpoint("127.0.0.1", 7878)
DOWN = "\x1b[B"
UP = "\x1b[A"
ESCAPE = "\x1b"


def found(name: str, port: int = 7000, *, tls: bool = False, password: bool = False) -> Found:
    return Found(name=name, host="127.0.0.1", port=port, tls=tls, password=password)


# --- what an answer becomes -------------------------------------------------------------


def test_a_found_server_is_one_tab_separated_line() -> None:
    server = found("Den", 7001, tls=True)
    assert server.line() == "Den\t127.0.0.1:7001\ttls=1\tpassword=0"


def _info(name: str, addresses: list[str], **txt: str) -> AsyncServiceInfo:
    return AsyncServiceInfo(
        SERVICE_TYPE,
        f"{name}.{SERVICE_TYPE}",
        port=7002,
        properties={"proto": "1", **txt},
        parsed_addresses=addresses,
    )


def test_an_answer_becomes_a_found_server_with_its_name_sanitised() -> None:
    info = _info("evil\u202ename\x9b2J", ["192.0.2.5", "127.0.0.1"], tls="1", pw="1")
    assert found_from(info, "127.0.0.1") == Found(
        name="evil<U+202E>name<U+009B>2J", host="127.0.0.1", port=7002, tls=True, password=True
    )
    assert found_from(info).host == "192.0.2.5"  # type: ignore[union-attr]


#: A machine with loopback, a LAN address and a Docker bridge (documentation ranges).
HERE = [
    IPv4Interface("127.0.0.1/8"),
    IPv4Interface("192.0.2.30/24"),
    IPv4Interface("198.51.100.1/24"),
]


@pytest.mark.parametrize(
    ("addresses", "interface", "best"),
    [
        # The browsing interface's own address: a server on 127.0.0.1.
        (["192.0.2.20", "127.0.0.1"], "127.0.0.1", "127.0.0.1"),
        # One on the LAN, not the bridge address this machine also has.
        (["198.51.100.1", "192.0.2.20"], None, "192.0.2.20"),
        (["198.51.100.1", "192.0.2.20"], "192.0.2.30", "192.0.2.20"),
        # Nothing on a network of ours: the first.
        (["203.0.113.5", "203.0.113.6"], None, "203.0.113.5"),
    ],
)
def test_the_address_chosen_is_one_this_machine_can_reach(
    addresses: list[str], interface: str | None, best: str
) -> None:
    assert best_address(addresses, interface, HERE) == best


def test_an_answer_without_address_or_for_another_protocol_is_skipped() -> None:
    assert found_from(_info("Den", [])) is None
    assert found_from(_info("Den", ["127.0.0.1"], proto="2")) is None


async def test_a_browse_that_cannot_start_is_a_discovery_error() -> None:
    def failing(interface: str | None) -> AsyncZeroconf:
        raise OSError(98, "Address already in use")

    with pytest.raises(DiscoveryError, match=r"mDNS.*Address already in use"):
        await browse(0.1, "127.0.0.1", zeroconf_factory=failing)


# --- the picker ----------------------------------------------------------------------------


SERVERS = [found("Attic", 7001), found("Den", 7002, tls=True), found("Shed", 7003, password=True)]


async def _pick(keys: str, servers: Sequence[Found] = SERVERS) -> Found | None:
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        return await asyncio.wait_for(pick(servers, input=pipe, output=DummyOutput()), 5)


@pytest.mark.parametrize(
    ("keys", "chosen"),
    [
        ("\r", "Attic"),
        (DOWN + "\r", "Den"),
        (DOWN + DOWN + DOWN + "\r", "Attic"),
        (UP + "\r", "Shed"),
        ("3", "Shed"),
        ("2", "Den"),
    ],
)
async def test_the_picker_takes_arrows_and_enter_or_a_number(keys: str, chosen: str) -> None:
    result = await _pick(keys)
    assert result is not None
    assert result.name == chosen


async def test_escape_in_the_picker_chooses_nothing() -> None:
    assert await _pick(ESCAPE) is None


CTRL_C_IN_THE_PICKER = """
import asyncio
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from chat_client.discovery import Found
from chat_client.picker import pick

servers = [Found(name, "127.0.0.1", 7000, False, False) for name in ("a", "b")]
with create_pipe_input() as pipe:
    pipe.send_text("\\x03")
    try:
        asyncio.run(pick(servers, input=pipe, output=DummyOutput()))
    except KeyboardInterrupt:
        print("interrupted")
"""


def test_ctrl_c_in_the_picker_interrupts() -> None:
    # In a process of its own: a KeyboardInterrupt let out of an event loop
    # leaves this interpreter (3.11) unable to compile the modules imported next.
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_IN_THE_PICKER],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.stdout == "interrupted\n", done.stderr


def test_a_number_with_two_digits_waits_for_the_second() -> None:
    picker = Picker([found(f"s{n}", 7000 + n) for n in range(1, 13)])
    assert picker.type_digit("1") is False  # 1, 10, 11 or 12
    assert picker.chosen.name == "s1"
    assert picker.type_digit("2") is True
    assert picker.chosen.name == "s12"


def test_the_picker_shows_name_address_tls_and_password() -> None:
    text = "".join(fragment[1] for fragment in Picker(SERVERS).render())
    lines = text.splitlines()
    assert lines[1].split() == ["#", "NAME", "ADDRESS", "TLS", "PASSWORD"]
    assert lines[2].split() == [">", "1", "Attic", "127.0.0.1:7001", "no", "no"]
    assert lines[3].split() == ["2", "Den", "127.0.0.1:7002", "yes", "no"]
    assert lines[4].split() == ["3", "Shed", "127.0.0.1:7003", "no", "needed"]


# --- the decision ----------------------------------------------------------------------


async def _never_pick(servers: Sequence[Found]) -> Found | None:
    raise AssertionError("asked which server although the answer was clear")


async def _never_ask(server: Found) -> str:
    raise AssertionError("asked for a password")


async def test_one_server_found_is_taken_without_a_question() -> None:
    assert await decide([SERVERS[1]], _never_pick) == SERVERS[1]


async def test_no_server_found_falls_back() -> None:
    assert await decide([], _never_pick) is None
    chosen = await target(None, FALLBACK, tls=None, password="p", ask_password=_never_ask)
    assert (chosen.endpoint, chosen.password) == (FALLBACK, "p")


async def test_several_servers_found_are_picked_from_or_declined() -> None:
    async def second(servers: Sequence[Found]) -> Found | None:
        return servers[1]

    async def none(servers: Sequence[Found]) -> Found | None:
        return None

    assert await decide(SERVERS, second) == SERVERS[1]
    with pytest.raises(Declined):
        await decide(SERVERS, none)


async def test_an_advertised_tls_server_gets_a_verifying_context_unless_one_was_given() -> None:
    chosen = await target(SERVERS[1], FALLBACK, tls=None, password=None, ask_password=_never_ask)
    context = chosen.endpoint.tls
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert (chosen.endpoint.host, chosen.endpoint.port) == ("127.0.0.1", 7002)
    own = ssl.create_default_context()
    chosen = await target(SERVERS[1], FALLBACK, tls=own, password=None, ask_password=_never_ask)
    assert chosen.endpoint.tls is own
    plain = await target(SERVERS[0], FALLBACK, tls=None, password=None, ask_password=_never_ask)
    assert plain.endpoint.tls is None


async def test_a_server_that_needs_a_password_gets_the_given_one_or_asks() -> None:
    asked: list[str] = []

    async def ask(server: Found) -> str:
        asked.append(server.name)
        return "typed"

    given = await target(SERVERS[2], FALLBACK, tls=None, password="env", ask_password=ask)
    assert (given.password, asked) == ("env", [])
    typed = await target(SERVERS[2], FALLBACK, tls=None, password=None, ask_password=ask)
    assert (typed.password, asked) == ("typed", ["Shed"])


def test_the_progress_line_redraws_in_place_then_says_what_was_found() -> None:
    stream = io.StringIO()
    progress = Progress(stream, 2.0)
    progress.draw()
    progress.found(1)
    progress.finish("found Den at 127.0.0.1:7002")
    text = stream.getvalue()
    assert text.count("\r\x1b[Klooking for hubbub servers on the LAN [") == 2
    assert "1 found" in text
    assert text.endswith("\r\x1b[Kfound Den at 127.0.0.1:7002\n")


async def test_locate_with_a_failed_browse_says_so_and_falls_back() -> None:
    async def failing(on_found: Callable[[int], None]) -> list[Found]:
        raise DiscoveryError("cannot browse over mDNS: no multicast")

    stream = io.StringIO()
    chosen = await locate(
        FALLBACK, seconds=0.1, interface="127.0.0.1", tls=None, password=None,
        ask_password=_never_ask, stream=stream, browse_with=failing, pick_with=_never_pick,
    )  # fmt: skip
    assert chosen.endpoint == FALLBACK
    assert "no multicast; no hubbub server answered; trying 127.0.0.1:7878" in stream.getvalue()


# --- real servers, a real browse, the picker on a pipe ----------------------------------------


@contextlib.asynccontextmanager
async def advertised(*settings: dict[str, object]) -> AsyncIterator[list[tuple[Server, str]]]:
    """In-process servers advertised on ``lo``, and the names they got."""
    async with contextlib.AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(
                run_server(loopback_config(no_advertise=False, close_linger=0, **each))
            )
            for each in settings
        ]
        waits = [server.advertiser.wait() for server in servers if server.advertiser]
        names = await asyncio.wait_for(asyncio.gather(*waits), 10)
        assert None not in names, "not advertised"
        yield [(server, str(name)) for server, name in zip(servers, names, strict=True)]


async def test_the_picker_connects_to_the_chosen_server() -> None:
    async with advertised(
        {"name": unique_name("one"), "motd": "first"},
        {"name": unique_name("two"), "motd": "second"},
    ) as servers:
        (_, one), (second, two) = servers

        async def ours(on_found: Callable[[int], None]) -> list[Found]:
            servers = await browse(BROWSE, "127.0.0.1", on_found=on_found)
            return [server for server in servers if server.name in (one, two)]

        with create_pipe_input() as pipe:

            async def on_pipe(servers: Sequence[Found]) -> Found | None:
                assert [server.name for server in servers] == sorted([one, two], key=str.casefold)
                pipe.send_text(str([server.name for server in servers].index(two) + 1))
                return await pick(servers, input=pipe, output=DummyOutput())

            chosen = await locate(
                FALLBACK, seconds=BROWSE, interface="127.0.0.1", tls=None, password=None,
                ask_password=_never_ask, stream=io.StringIO(), browse_with=ours,
                pick_with=on_pipe,
            )  # fmt: skip
        assert chosen.endpoint == Endpoint("127.0.0.1", second.port)
        connection = Connection(chosen.endpoint, "alice", password=chosen.password)
        welcome = await connection.connect()
        assert welcome.motd == "second"
        await connection.quit()


# --- the real client with no address ----------------------------------------------------


def test_discovery_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, complaint in [
        (["--discover", "--discover-timeout", "0"], "--discover-timeout"),
        (["--discover", "--discover-timeout", "nan"], "--discover-timeout"),
        (["--discover", "--discover-interface", "lo"], "not an IPv4 address"),
        (["--discover", "example.lan"], "--discover takes no HOST"),
    ]:
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
        assert complaint in capsys.readouterr().err.strip().splitlines()[-1]


def _private_lo() -> None:
    """Fail clearly unless this test may make a network namespace of its own."""
    if not can_make_a_network_namespace():
        pytest.fail("needs unshare and ip, as root, for a private network namespace")


def in_private_lo(script: str, **variables: str) -> list[str]:
    """``sh -c SCRIPT`` in a new network namespace whose ``lo`` is up, as argv."""
    prelude = "ip link set lo up || exit 97\n"
    assignments = "".join(f"{key}='{value}'\n" for key, value in variables.items())
    return ["unshare", "--net", "sh", "-c", prelude + assignments + script]


@contextlib.contextmanager
def terminal(argv: list[str]) -> Iterator[pexpect.spawn]:
    """Run ``argv`` in a pseudo-terminal, without any ``CHAT_`` setting; end its
    whole process group at the end."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHAT_")}
    child = pexpect.spawn(
        argv[0], argv[1:], env={**env, "TERM": "xterm"},
        dimensions=(24, 100), timeout=15, encoding="utf-8",
    )  # fmt: skip
    try:
        yield child
    finally:
        for signum in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signum)
        child.close(force=True)


# The server runs beside the client in the namespace; the script stops it after.
WITH_SERVER = """
"$SERVER" --host 127.0.0.1 --port "$PORT" $SERVER_ARGS >"$LOG" 2>&1 &
server=$!
until grep -q "$READY" "$LOG"; do sleep 0.05; done
"$CLIENT" --nick alice --discover-interface 127.0.0.1 --discover-timeout 2 $CLIENT_ARGS
status=$?
kill "$server"; wait "$server"
exit $status
"""


def test_no_server_on_the_lan_means_127_0_0_1_port_7878(tmp_path: Path) -> None:
    _private_lo()
    script = in_private_lo(
        WITH_SERVER, SERVER=SERVER, CLIENT=CLIENT, PORT="7878", LOG=str(tmp_path / "log"),
        SERVER_ARGS="--no-advertise", READY="history epoch", CLIENT_ARGS="",
    )  # fmt: skip
    with terminal(script) as client:
        client.expect("looking for hubbub servers on the LAN")
        client.expect(r"no hubbub server answered; trying 127\.0\.0\.1:7878")
        client.expect(r"connected to 127\.0\.0\.1:7878")
        client.send("/quit\r")
        client.expect(pexpect.EOF)
        client.close()
        assert client.exitstatus == 0


def test_the_one_server_found_is_joined_over_tls_after_asking_its_password(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    _private_lo()
    cert, key = certificate
    name = unique_name("den")
    script = in_private_lo(
        WITH_SERVER, SERVER=SERVER, CLIENT=CLIENT, PORT="7000", LOG=str(tmp_path / "log"),
        SERVER_ARGS=f"--name {name} --password sesame --tls-cert {cert} --tls-key {key}",
        READY="advertised over mDNS", CLIENT_ARGS=f"--tls-ca {cert}",
    )  # fmt: skip
    with terminal(script) as client:
        client.expect(f"found {name} at 127.0.0.1:7000")
        client.expect(f"password for {name}:")
        client.send("sesame\r")
        client.expect(r"connected to 127\.0\.0\.1:7000")
        client.send("/quit\r")
        client.expect(pexpect.EOF)
        client.close()
        assert client.exitstatus == 0


def test_discover_with_no_server_exits_1_and_batch_never_browses() -> None:
    _private_lo()
    script = in_private_lo(
        """
        "$CLIENT" --discover --discover-interface 127.0.0.1 --discover-timeout 1
        echo "discover=$?"
        echo hi | "$CLIENT" --nick bot
        echo "batch=$?"
        """,
        CLIENT=CLIENT,
    )
    done = subprocess.run(script, capture_output=True, text=True, timeout=30, check=False)
    assert done.stdout.split() == ["discover=1", "batch=1"], done.stderr
    assert done.stderr.strip() == (
        "chat-client: connection refused by 127.0.0.1:7878 (is chat-server running there?)"
    )
