"""The admin socket (``--admin-socket``) and ``chat-admin``: who may connect, and every command."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from chat_server.cli import load_config
from chat_server.server import Server
from chat_server.storage import make_store
from protocol import Bye, Kicked, Notice, Presence, Whisper, encode
from tests.conftest import TlsFiles
from tests.mdns import unique_name
from tests.server.helpers import close_all, hung_up, sync, welcomed
from tests.server.moderation import room_of
from tests.server.test_cli import BASE_ARGS, chat_server, clean_env, run_invalid
from tests.wire import WireClient

#: A Python that the user ``nobody`` may run (the venv's lives under /root).
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path (a Unix socket path holds at most 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="hubbub-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def ask(path: Path, *commands: str) -> list[list[str]]:
    """The reply lines of each command, sent in turn on one console connection."""
    reader, writer = await asyncio.open_unix_connection(str(path))
    replies = []
    try:
        for command in commands:
            writer.write(command.encode() + b"\n")
            lines: list[str] = []
            while (line := (await asyncio.wait_for(reader.readline(), 10)).decode()) != "\n":
                assert line, f"the console closed during the reply to {command!r}"
                lines.append(line.rstrip("\n"))
            replies.append(lines)
    finally:
        writer.close()
    return replies


@asynccontextmanager
async def admin_server(
    directory: Path, *args: str, environ: dict[str, str] | None = None
) -> AsyncIterator[Server]:
    """An in-process server with a console at ``directory/admin.sock``, reloading from
    ``args`` and ``environ`` as the command line would."""
    argv = [*BASE_ARGS, "--no-advertise", "--admin-socket", str(directory / "admin.sock"), *args]
    env = environ or {}
    config = load_config(argv, env)
    server = Server(config, make_store(config), reloader=lambda: load_config(argv, env))
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown()


# --- the socket file ----------------------------------------------------------------


async def test_the_socket_is_mode_0600_before_the_first_connection_and_removed_at_exit(
    short_dir: Path,
) -> None:
    path = short_dir / "admin.sock"
    async with admin_server(short_dir):
        mode = os.stat(path).st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600
    assert not path.exists()


async def test_a_stale_socket_is_replaced(short_dir: Path) -> None:
    path = short_dir / "admin.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    async with admin_server(short_dir):
        assert (await ask(path, "motd"))[0] == ["no motd"]


def test_a_path_holding_a_file_exits_2_with_one_line(short_dir: Path) -> None:
    path = short_dir / "admin.sock"
    path.write_text("precious\n")
    message = run_invalid([*BASE_ARGS, "--admin-socket", str(path)])
    assert "admin-socket" in message
    assert "not a socket" in message
    assert path.read_text() == "precious\n"


async def test_a_socket_a_live_server_answers_on_exits_2_with_one_line(short_dir: Path) -> None:
    async with admin_server(short_dir):
        message = await asyncio.to_thread(
            run_invalid, [*BASE_ARGS, "--admin-socket", str(short_dir / "admin.sock")]
        )
        assert "running server" in message
        assert (await ask(short_dir / "admin.sock", "motd"))[0] == ["no motd"], "still ours"


# --- who may connect ------------------------------------------------------------------


def connect_as_nobody(path: Path) -> str:
    """What ``nobody`` gets connecting to ``path`` and sending ``stats``."""
    if SYSTEM_PYTHON is None:
        pytest.fail("the uid test needs a python3 in /usr/bin that nobody may run")
    script = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "s.settimeout(10)\n"
        "try:\n"
        "    s.connect(sys.argv[1])\n"
        "except PermissionError:\n"
        "    print('connect: permission denied'); sys.exit()\n"
        "try:\n"
        "    s.sendall(b'stats\\n')\n"
        "    data = s.recv(4096)\n"
        "except OSError as exc:\n"
        "    print('closed:', type(exc).__name__); sys.exit()\n"
        "print('closed' if not data else 'answered: ' + data.decode(errors='replace'))\n"
    )
    result = subprocess.run(
        [
            "setpriv",
            "--reuid",
            "nobody",
            "--regid",
            "nogroup",
            "--clear-groups",
            SYSTEM_PYTHON,
            "-c",
            script,
            str(path),
        ],
        capture_output=True,
        timeout=30,
        check=True,
    )
    return result.stdout.decode().strip()


async def test_another_user_is_refused_by_the_file_mode_and_by_peer_credentials(
    short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert os.getuid() == 0, "run as root, to run a client as nobody"
    os.chmod(short_dir, 0o711)  # nobody may reach the socket file, not list the directory
    path = short_dir / "admin.sock"
    caplog.set_level(logging.WARNING, logger="chat_server.doors.admin")
    async with admin_server(short_dir):
        # Layer one: mode 0600 keeps everyone but the owner (and root) from connecting.
        assert await asyncio.to_thread(connect_as_nobody, path) == "connect: permission denied"
        assert not caplog.records, "the kernel refused it; the server never saw it"
        # Layer two: were the mode ever wider, SO_PEERCRED still closes the door.
        path.chmod(0o666)
        outcome = await asyncio.to_thread(connect_as_nobody, path)
        assert outcome.startswith("closed"), outcome
        refusals = [r.getMessage() for r in caplog.records]
        assert refusals == ["admin console: refused a connection from uid 65534"]
        assert (await ask(path, "motd"))[0] == ["no motd"], "root is still welcome"


# --- the commands -----------------------------------------------------------------------


async def test_stats_reports_connections_rooms_messages_drops_and_store(short_dir: Path) -> None:
    async with admin_server(short_dir, "--rate", "0.01", "--burst", "2") as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        stranger = await WireClient.connect(server.port)  # not welcomed: counted too
        (flooder,) = await welcomed(server.port, "flooder")
        await flooder.send_raw(b"".join(encode(Whisper(to="bob", text="x")) for _ in range(7)))
        assert (await hung_up(flooder))[-1] == Bye(reason="rate_limited")
        text, _, as_json = await ask(short_dir / "admin.sock", "stats", "json on", "stats")
        assert text[0].startswith("uptime: ")
        assert f"epoch: {server.hub.epoch}" in text
        assert "connections: native=3 transfer=0 admin=1" in text
        assert "rooms: 1" in text
        assert "drops: rate=1 sendq=0 ping=0 kills=0" in text
        assert "store: memory: nothing outlives the process" in text
        (report,) = [json.loads(line) for line in as_json]
        assert report["connections"] == {"native": 3, "transfer": 0, "admin": 1}
        assert report["messages_in"] >= 12  # 3 hellos, 2 joins, 7 whispers, the syncs' pings
        assert report["messages_out"] >= 10
        assert report["drops"] == {"rate": 1, "sendq": 0, "ping": 0, "kills": 0}
        await close_all([alice, bob, stranger])


async def test_clients_and_rooms_list_what_is_there(short_dir: Path) -> None:
    path = short_dir / "admin.sock"
    async with admin_server(short_dir) as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await bob.join("dev")
        clients, in_dev, rooms, listed = await ask(
            path, "clients", "clients dev", "rooms", "json on"
        )
        assert [line.split()[0] for line in clients] == ["alice", "bob"]
        assert "rooms=lobby,dev" in clients[1]
        assert "via=native" in clients[1]
        assert [line.split()[0] for line in in_dev] == ["bob"]
        assert sorted(rooms) == ["dev members=1 modes=-", "lobby members=2 modes=-"]
        assert listed == ['{"json":true}']
        objects = await _json(path)
        assert {o["nick"]: o["rooms"] for o in objects} == {
            "alice": ["lobby"],
            "bob": ["lobby", "dev"],
        }
        await close_all([alice, bob])


async def _json(path: Path) -> list[dict[str, object]]:
    _, lines = await ask(path, "json on", "clients")
    return [json.loads(line) for line in lines]


async def test_kick_ban_unban_bans_op_and_kill_act_as_admin(short_dir: Path) -> None:
    path = short_dir / "admin.sock"
    async with admin_server(short_dir) as server:
        alice, bob, carol = await room_of(server.port, "lobby", "alice", "bob", "carol")
        (kicked,) = await ask(path, "kick lobby bob behave")
        assert kicked == ["kicked bob from lobby"]
        assert await bob.expect(Kicked) == Kicked(room="lobby", by="*admin*", reason="behave")
        assert (await alice.recv_until(Presence)).reason == "kicked by *admin*: behave"
        replies = await ask(
            path,
            "ban lobby bob 3600 spam and more",
            "ban lobby 10.0.0.0/8",
            "bans lobby",
            "unban lobby 10.0.0.0/8",
            "op lobby carol",
            "kill carol go away",
            "kill carol",
        )
        assert replies[0] == ["banned bob from lobby for 3600 s"]
        assert replies[1] == ["banned 10.0.0.0/8 from lobby"]
        assert [line.split()[0] for line in replies[2]] == ["bob", "10.0.0.0/8"]
        assert "reason=spam and more" in replies[2][0]
        assert replies[3] == ["unbanned 10.0.0.0/8 from lobby"]
        assert replies[4] == ["carol is an op in lobby"]
        assert replies[5] == ["killed carol"]
        assert replies[6] == ["error: nobody is called carol (no_such_nick)"]
        assert (await hung_up(carol))[-1] == Bye(reason="killed")
        quit = await alice.recv_until(Presence)
        while quit.event != "quit":
            quit = await alice.recv_until(Presence)
        assert quit.reason == "killed by *admin*: go away"
        stats = (await ask(path, "stats"))[0]
        assert "drops: rate=0 sendq=0 ping=0 kills=1" in stats
        await close_all([alice, bob])


@pytest.fixture
def root_level() -> Iterator[None]:
    """``loglevel`` sets the process's root logger: put it back after the test."""
    level = logging.getLogger().level
    try:
        yield
    finally:
        logging.getLogger().setLevel(level)


@pytest.mark.usefixtures("root_level")
async def test_notice_motd_loglevel_help_and_errors(short_dir: Path) -> None:
    path = short_dir / "admin.sock"
    async with admin_server(short_dir, "--motd", "old") as server:
        (alice,) = await welcomed(server.port, "alice")
        replies = await ask(
            path,
            "notice maintenance at noon",
            "motd",
            "motd a new day",
            "loglevel warning",
            "loglevel loud",
            "help",
            "kick lobby",
            "ban lobby nick!*@*",
            "whatever",
            "json on",
            "whatever",
        )
        assert replies[0] == ["notice sent"]
        notice = await alice.expect(Notice)
        assert (notice.from_, notice.text) == ("*admin*", "maintenance at noon")
        assert replies[1:4] == [["motd: old"], ["motd: a new day"], ["log level warning"]]
        assert replies[4][0].startswith("error: usage: loglevel")
        assert {line.split()[0] for line in replies[5]} >= {"stats", "kill", "reload", "shutdown"}
        assert replies[6] == ["error: usage: kick ROOM NICK [REASON]"]
        assert replies[7][0].startswith("error: bad nick")
        assert replies[8] == ["error: unknown command 'whatever' (try help)"]
        assert json.loads(replies[10][0]) == {"error": "unknown command 'whatever' (try help)"}
        again = await WireClient.connect(server.port)
        assert (await again.hello("bob")).motd == "a new day"
        await close_all([alice, again])


async def test_shutdown_says_bye_to_everyone(short_dir: Path) -> None:
    async with admin_server(short_dir) as server:
        (alice,) = await welcomed(server.port, "alice")
        assert await ask(short_dir / "admin.sock", "shutdown") == [["shutting down"]]
        assert server.stop.is_set()
        await alice.close()


# --- reload -------------------------------------------------------------------------------


async def test_reload_applies_a_new_motd_and_password_and_keeps_everyone(
    short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = short_dir / "hub.toml"
    config.write_text('motd = "before"\npassword = "one"\nmax-text = 100\n')
    path = short_dir / "admin.sock"
    async with admin_server(short_dir, "--config", str(config)) as server:
        alice = await WireClient.connect(server.port)
        assert (await alice.hello("alice", password="one")).motd == "before"
        await alice.join("lobby")
        config.write_text('motd = "after"\npassword = "two"\nmax-text = 5\nnode-ttl = 30\n')
        caplog.set_level(logging.WARNING, logger="chat_server")
        (reloaded,) = await ask(path, "reload")
        assert reloaded == ["reloaded (max-text, motd, password)"]
        assert "node-ttl need a restart" in caplog.text
        assert await sync(alice) == [], "still connected, told nothing"
        late = await WireClient.connect(server.port)
        await late.send({"type": "hello", "nick": "bob", "protocol": 1, "password": "one"})
        assert (await late.recv()).type == "error"
        assert (await late.hello("bob", password="two")).motd == "after"
        await alice.send({"type": "say", "room": "lobby", "text": "too long"})
        assert (await alice.recv()).type == "error"
        config.write_text("motd = [unterminated\n")
        (refused,) = await ask(path, "reload")
        assert refused[0].startswith("error: --config")
        assert "TOML" in refused[0]
        assert server.config.motd == "after", "an invalid file changes nothing"
        await close_all([alice, late])


async def test_sighup_reloads_and_an_invalid_file_is_one_error_line(short_dir: Path) -> None:
    config = short_dir / "hub.toml"
    config.write_text('motd = "first"\n')
    args = (*BASE_ARGS, "--no-advertise", "--config", str(config))
    async with chat_server(args=args) as server:
        config.write_text('motd = "second"\n')
        server.process.send_signal(signal.SIGHUP)
        for _ in range(100):
            if "reloaded (motd)" in server.log():
                break
            await asyncio.sleep(0.05)
        client = await WireClient.connect(server.port)
        assert (await client.hello("alice")).motd == "second"
        config.write_text("bogus-option = 3\n")
        server.process.send_signal(signal.SIGHUP)
        for _ in range(100):
            if "reload failed" in server.log():
                break
            await asyncio.sleep(0.05)
        errors = [line for line in server.log().splitlines() if " ERROR " in line]
        assert len(errors) == 1
        assert "unknown option 'bogus-option'" in errors[0]
        assert await sync(client) == []
        await client.close()


# --- chat-admin ---------------------------------------------------------------------------


async def test_chat_admin_prints_the_reply_and_exits_by_it(short_dir: Path) -> None:
    socket_path = str(short_dir / "admin.sock")
    script = str(Path(sys.executable).with_name("chat-admin"))
    args = (*BASE_ARGS, "--no-advertise", "--admin-socket", socket_path, "--motd", "hello")
    async with chat_server(args=args) as server:

        def run(*argv: str, stdin: str = "", env: dict[str, str] | None = None) -> tuple[int, str]:
            done = subprocess.run(
                [script, *argv],
                input=stdin.encode(),
                capture_output=True,
                timeout=30,
                env=env or clean_env(),
                check=False,
            )
            return done.returncode, done.stdout.decode()

        assert await asyncio.to_thread(run, "--socket", socket_path, "motd") == (0, "motd: hello\n")
        code, out = await asyncio.to_thread(run, "--socket", socket_path, "kick", "lobby")
        assert (code, out) == (1, "error: usage: kick ROOM NICK [REASON]\n")
        env = clean_env(CHAT_ADMIN_SOCKET=socket_path)
        code, out = await asyncio.to_thread(run, stdin="motd\njson on\nmotd\n", env=env)
        assert (code, out) == (0, 'motd: hello\n{"json":true}\n{"motd":"hello"}\n')
        code, out = await asyncio.to_thread(run, "motd", env=clean_env())
        assert code == 2
        server.process.send_signal(signal.SIGTERM)
        assert await server.wait(10) == 0
    with pytest.raises(FileNotFoundError):  # removed at exit
        os.stat(socket_path)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A second self-signed certificate for 127.0.0.1, and its key."""
    cert, key = directory / "new-cert.pem", directory / "new-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=renewed", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return cert, key


async def test_reload_serves_a_new_certificate_to_new_connections_only(
    short_dir: Path, tls_files: TlsFiles
) -> None:
    new_cert, new_key = await asyncio.to_thread(self_signed, short_dir)
    config = short_dir / "hub.toml"
    config.write_text(f'tls-cert = "{tls_files.cert}"\ntls-key = "{tls_files.key}"\n')
    trust = ssl.create_default_context(cafile=str(tls_files.cert))
    trust.load_verify_locations(cafile=str(new_cert))

    def presented(client: WireClient) -> bytes:
        der: bytes = client.writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return der

    async with admin_server(short_dir, "--config", str(config)) as server:
        before = await WireClient.connect(server.port, tls=trust)
        await before.hello("before")
        config.write_text(f'tls-cert = "{new_cert}"\ntls-key = "{new_key}"\n')
        (reloaded,) = await ask(short_dir / "admin.sock", "reload")
        assert reloaded == ["reloaded (tls-cert, tls-key)"]
        after = await WireClient.connect(server.port, tls=trust)
        await after.hello("after")
        assert presented(after) == ssl.PEM_cert_to_DER_cert(new_cert.read_text())
        assert presented(before) == ssl.PEM_cert_to_DER_cert(tls_files.cert.read_text())
        assert await sync(before) == [], "the old connection goes on"
        config.write_text(f'tls-cert = "{config}"\ntls-key = "{new_key}"\n')
        (refused,) = await ask(short_dir / "admin.sock", "reload")
        assert refused[0].startswith("error: --tls-cert/--tls-key: cannot load")
        assert server.config.tls_cert == str(new_cert), "nothing changed"
        await close_all([before, after])


async def test_a_reload_that_renames_the_server_announces_it_anew() -> None:
    first, second = unique_name("before"), unique_name("after")
    argv = [*BASE_ARGS, "--name", first]
    env: dict[str, str] = {}
    config = load_config(argv, env)
    server = Server(config, make_store(config), reloader=lambda: load_config(argv, env))
    await server.start()
    try:
        before = server.advertiser
        assert before is not None
        assert await before.wait() == first
        argv[-1] = second
        env["CHAT_PASSWORD"] = "sesame"
        assert server.reload() == "reloaded (name, password)"
        after = server.advertiser
        assert after is not None
        assert after is not before
        assert after.advertisement.password
        assert await asyncio.wait_for(_announced(server), 10) == second
    finally:
        await server.shutdown()


async def _announced(server: Server) -> str | None:
    while server._readvertising is not None and not server._readvertising.done():
        await asyncio.wait([server._readvertising])
    assert server.advertiser is not None
    return await server.advertiser.wait()
