"""mDNS advertisement: settings, the advertiser's failures and order, and real
servers found (or not) by a real ``chat-client --discover``, all on ``lo``."""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

import pytest
from zeroconf.asyncio import AsyncZeroconf

from chat_server import __version__
from chat_server.cli import parse_args
from chat_server.config import Config, ConfigError, default_name
from chat_server.discovery import Advertisement, Advertiser, advertised_addresses
from chat_server.server import run_server
from tests.conftest import TlsFiles, loopback_config
from tests.mdns import (
    AdvertisedServer,
    can_make_a_network_namespace,
    discover,
    environment,
    lines_named,
    unique_name,
)
from tests.server.helpers import welcomed

pytestmark = pytest.mark.timeout(60)

LAN = ["192.0.2.10", "198.51.100.7"]  # documentation addresses: never contacted


# --- settings ---------------------------------------------------------------------------


def test_name_defaults_to_hubbub_on_the_host_name() -> None:
    assert default_name() == f"hubbub on {socket.gethostname().split('.')[0]}"[:63]
    assert parse_args([], environ={}).name == default_name()
    assert parse_args(["--name", "Den"], environ={}).name == "Den"
    assert parse_args([], environ={"CHAT_NAME": "Attic"}).name == "Attic"


@pytest.mark.parametrize("name", ["", "x" * 64, "tab\there", "new\nline"])
def test_a_name_that_cannot_be_one_dns_label_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="--name"):
        Config(name=name)


@pytest.mark.parametrize(
    ("value", "on"),
    [("1", True), ("true", True), ("yes", True), ("YES", True),
     ("0", False), ("false", False), ("no", False), ("", False)],
)  # fmt: skip
def test_no_advertise_switch_from_the_environment(value: str, on: bool) -> None:
    assert parse_args([], environ={"CHAT_NO_ADVERTISE": value}).no_advertise is on


def test_no_advertise_flag_beats_the_environment_and_defaults_off() -> None:
    assert parse_args([], environ={}).no_advertise is False
    assert parse_args(["--no-advertise"], environ={"CHAT_NO_ADVERTISE": "0"}).no_advertise


def test_an_invalid_switch_value_exits_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args([], environ={"CHAT_NO_ADVERTISE": "maybe"})
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "CHAT_NO_ADVERTISE" in line
    assert "'maybe'" in line


# --- what is advertised -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", ["127.0.0.1"]),
        ("127.0.0.2", ["127.0.0.2"]),
        ("0.0.0.0", LAN),
        ("", LAN),
        ("::", LAN),
        ("::1", []),
        ("localhost", ["127.0.0.1"]),
    ],
)
def test_advertised_addresses_are_those_of_the_listening_interfaces(
    host: str, expected: list[str]
) -> None:
    assert advertised_addresses(host, lambda: list(LAN)) == expected


def test_the_advertisement_carries_port_tls_password_version_and_irc() -> None:
    config = Config(host="127.0.0.1", name="Den", password="s", tls_cert="c", tls_key="k")
    advertisement = Advertisement.of(config, 7000, lambda: [], irc_port=6667)
    assert (advertisement.name, advertisement.port, advertisement.addresses) == (
        "Den",
        7000,
        ("127.0.0.1",),
    )
    assert advertisement.properties() == {
        "proto": "1",
        "tls": "1",
        "pw": "1",
        "ver": __version__,
        "irc": "6667",
    }
    plain = Advertisement.of(Config(host="127.0.0.1"), 7000, lambda: [])
    assert plain.properties() == {"proto": "1", "tls": "0", "pw": "0", "ver": __version__}
    info = plain.service_info()
    assert info.port == 7000
    assert info.parsed_addresses() == ["127.0.0.1"]
    assert info.name == f"{default_name()}._hubbub._tcp.local."


# --- the advertiser in process ------------------------------------------------------------


def _failing_zeroconf(interfaces: Sequence[str]) -> AsyncZeroconf:
    raise OSError(errno.EADDRINUSE, "Address already in use")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_failure_to_advertise_is_one_warning_naming_mdns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    advertisement = Advertisement.of(Config(host="127.0.0.1"), 7000, lambda: [])
    advertiser = Advertiser(advertisement, zeroconf_factory=_failing_zeroconf)
    advertiser.start()
    assert await advertiser.wait() is None
    await advertiser.close()
    (warning,) = _warnings(caplog)
    assert "mDNS" in warning
    assert "Address already in use" in warning


async def test_nothing_to_advertise_on_is_one_warning_naming_mdns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    advertiser = Advertiser(Advertisement.of(Config(host="::1"), 7000, lambda: []))
    advertiser.start()
    assert await advertiser.wait() is None
    await advertiser.close()
    (warning,) = _warnings(caplog)
    assert "mDNS" in warning


async def test_the_goodbye_goes_before_any_connection_hears_bye() -> None:
    config = loopback_config(no_advertise=False, name=unique_name(), close_linger=0)
    heard_bye_first: list[bool] = []
    async with run_server(config) as server:
        (alice,) = await welcomed(server.port, "alice")
        advertiser = server.advertiser
        assert advertiser is not None
        close = advertiser.close

        async def spy() -> None:
            heard_bye_first.append(server.hub.closing)
            await close()

        advertiser.close = spy  # type: ignore[method-assign]
    assert heard_bye_first == [False]
    await alice.close()


# --- real servers, found by the real client ----------------------------------------------


@contextlib.contextmanager
def servers(*each: Sequence[str]) -> Iterator[list[AdvertisedServer]]:
    """Start a server per argument list (all at once) and kill any left at the end."""
    started: list[AdvertisedServer] = []
    try:
        for args in each:
            started.append(AdvertisedServer(*args).start())
        yield started
    finally:
        for server in started:
            server.kill()


def test_servers_are_found_with_port_tls_and_password_and_gone_after_sigterm(
    tls_files: TlsFiles,
) -> None:
    plain, locked, secure, hidden = (unique_name(kind) for kind in ("plain", "pw", "tls", "no"))
    tls = ("--tls-cert", str(tls_files.cert), "--tls-key", str(tls_files.key))
    with servers(
        ("--name", plain),
        ("--name", locked, "--password", "sesame"),
        ("--name", secure, *tls),
        ("--name", hidden, "--no-advertise"),
    ) as running:
        for server, name in zip(running[:3], (plain, locked, secure), strict=True):
            assert server.advertised_name() == name
        status, lines = discover()
        assert status == 0
        found = lines_named(lines, plain, locked, secure, hidden)
        assert found == {
            plain: [plain, f"127.0.0.1:{running[0].port}", "tls=0", "password=0"],
            locked: [locked, f"127.0.0.1:{running[1].port}", "tls=0", "password=1"],
            secure: [secure, f"127.0.0.1:{running[2].port}", "tls=1", "password=0"],
        }
        assert "mDNS" not in running[3].log()

        assert [server.stop() for server in running] == [0, 0, 0, 0]
        for server in running[:3]:
            assert "withdrew the mDNS advertisement" in server.log()
        _, lines = discover()
        assert lines_named(lines, plain, locked, secure, hidden) == {}


#: Seconds after which a server's three announcements are over: a server
#: started later learns of it only by asking.
ANNOUNCED = 1.5


def test_two_servers_with_one_name_are_both_found_under_distinct_names() -> None:
    name = unique_name("twin")
    with servers(("--name", name)) as (first,):
        assert first.advertised_name() == name
        time.sleep(ANNOUNCED)
        with servers(("--name", name)) as (second,):
            renamed = second.advertised_name()
            assert renamed == f"{name}-2"
            _, lines = discover()
            found = lines_named(lines, name, renamed)
            assert sorted(line[1] for line in found.values()) == sorted(
                f"127.0.0.1:{server.port}" for server in (first, second)
            )


# On one host every mDNS program shares port 5353, and a unicast datagram to it
# reaches one of their sockets, chosen by a hash salted per network namespace:
# in a fresh namespace, any of them.  The library probes a name asking for
# unicast answers, so without asking around first, a server that starts after
# another's announcements would usually keep the same name.  Four responders
# with nothing to say share the port, as other programs would.
ONE_NAME_AMONG_RESPONDERS = """
import asyncio
import sys
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncZeroconf
from chat_server.config import Config
from chat_server.discovery import Advertisement, Advertiser

async def main(name, pause):
    others = [AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
              for _ in range(4)]
    advertisers = []
    for port in (7001, 7002):
        config = Config(host="127.0.0.1", name=name)
        advertiser = Advertiser(Advertisement.of(config, port, list))
        advertiser.start()
        print(await advertiser.wait(), flush=True)
        advertisers.append(advertiser)
        await asyncio.sleep(pause)
    for advertiser in advertisers:
        await advertiser.close()
    for other in others:
        await other.async_close()

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


def test_a_server_learns_its_name_is_taken_even_when_unicast_goes_astray() -> None:
    if not can_make_a_network_namespace():
        pytest.fail("needs unshare and ip, as root, for a private network namespace")
    script = 'ip link set lo up && exec "$0" -c "$1" NAME "$2"'
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", script,
         sys.executable, ONE_NAME_AMONG_RESPONDERS, str(ANNOUNCED)],
        env=environment(), capture_output=True, text=True, timeout=40, check=False,
    )  # fmt: skip
    assert done.stdout.split() == ["NAME", "NAME-2"], done.stderr


#: Run in a network namespace of its own: hold 127.0.0.1:5353 without
#: SO_REUSEADDR/SO_REUSEPORT (so no responder can bind it), start a server,
#: welcome one client, stop the server; print its exit status and its log.
ADVERTISING_FAILS = """
import signal, socket, struct, subprocess, sys
squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
squatter.bind(("127.0.0.1", 5353))
server = subprocess.Popen(
    [sys.executable, "-m", "chat_server", "--host", "127.0.0.1", "--port", "0",
     "--name", sys.argv[1]],
    stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
)
line = server.stdout.readline().decode()
port = int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
    hello = b'{"type":"hello","nick":"alice","protocol":1}'
    client.sendall(struct.pack(">I", len(hello)) + hello)
    (length,) = struct.unpack(">I", client.recv(4, socket.MSG_WAITALL))
    print(client.recv(length, socket.MSG_WAITALL).decode())
server.send_signal(signal.SIGTERM)
_, err = server.communicate(timeout=20)
print("exit", server.returncode)
sys.stdout.write(err.decode())
"""


def test_a_server_that_cannot_advertise_logs_one_mdns_warning_and_serves() -> None:
    if not can_make_a_network_namespace():
        pytest.fail("needs unshare and ip, as root, for a private network namespace")
    script = 'ip link set lo up && exec "$0" -c "$1" "$2"'
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", script,
         sys.executable, ADVERTISING_FAILS, unique_name("taken")],
        env=environment(), capture_output=True, text=True, timeout=40, check=False,
    )  # fmt: skip
    welcome, status, *log = done.stdout.splitlines()
    assert '"type":"welcome"' in welcome, done.stdout + done.stderr
    assert status == "exit 0", done.stdout
    problems = [line for line in log if " WARNING " in line or " ERROR " in line]
    assert len(problems) == 1, done.stdout
    assert "mDNS" in problems[0]
