"""``chat-server``: the command line over :class:`chat_server.config.Config`.

Every option also comes from the environment as ``CHAT_`` + its name in
capitals (``--max-frame`` is ``CHAT_MAX_FRAME``) and from the ``--config`` TOML
file; a flag beats the environment, which beats the file.
A switch (``--no-advertise``) is on in the environment as ``1``, ``true`` or
``yes`` and off as ``0``, ``false``, ``no`` or empty.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import ssl
import sys
import tomllib
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, NoReturn

from . import __version__
from .config import Config, ConfigError
from .doors.admin import AdminSocketError
from .server import Server, lan_addresses, make_tls_context
from .storage import StoreError, make_store

log = logging.getLogger("chat_server")

# (option, type, help); the defaults come from Config.
OPTIONS: list[tuple[str, Callable[[str], Any], str]] = [
    ("host", str, "address to listen on"),
    ("port", int, "TCP port; 0 picks a free one"),
    ("password", str, "shared secret every hello must carry"),
    ("max-frame", int, "largest frame body in bytes"),
    ("max-text", int, "longest text in characters"),
    ("history", int, "messages kept per room for joined/history"),
    ("ping-interval", float, "seconds of silence before the server pings"),
    ("ping-timeout", float, "seconds of silence after which it disconnects"),
    ("rate", float, "sustained messages per second per client; 0 turns the limit off"),
    ("burst", int, "messages a client may send at once above the rate"),
    ("max-clients", int, "connections at once; the next gets server_full"),
    ("max-rooms", int, "rooms at once; a new one past it gets room_limit"),
    ("hello-timeout", float, "seconds a new connection has to be welcomed"),
    ("sendq", int, "bytes queued for one client before it is dropped as too slow"),
    ("tls-cert", str, "serve TLS with this certificate (PEM)"),
    ("tls-key", str, "the private key of --tls-cert (PEM)"),
    ("log-level", str, "debug, info, warning or error"),
    ("motd", str, "message of the day sent in welcome"),
    ("admin-socket", str, "Unix socket for chat-admin (mode 0600, this user and root only)"),
    ("oper-password", str, "password of the oper request (server operators)"),
    ("max-per-address", int, "connections at once from one address (loopback exempt; 0: no cap)"),
    ("hello-max-frame", int, "largest frame accepted before welcome"),
    ("sndbuf", int, "kernel send buffer per connection in bytes (0: kernel autotuning)"),
    ("flush-interval", float, "least seconds between rounds of writes, 0 or 0.001-1"),
    ("shutdown-grace", float, "seconds a shutdown waits for bye to flush"),
    ("close-linger", float, "seconds a closing connection lingers to deliver its last frames"),
    ("db", str, "SQLite file that keeps history and topics across restarts"),
    ("redis", str, "redis://HOST:PORT/DB shared by several chat-server processes"),
    ("node-ttl", float, "seconds without a heartbeat before other nodes drop this one's users"),
    ("files-dir", str, "where shared files are kept (default: next to --db, else a temporary dir)"),
    ("max-upload", int, "largest shared file in bytes; 0 turns file sharing off"),
    ("files-quota", int, "bytes of files kept; the oldest are deleted to make room"),
    ("file-ttl", float, "seconds a shared file is kept; 0 keeps it until the quota needs room"),
    ("ticket-ttl", float, "seconds an upload or download ticket stays valid"),
    ("partial-ttl", float, "seconds an interrupted upload's bytes are kept to resume (min 600)"),
    ("file-threads", int, "threads doing the disk work of shared files"),
    ("file-nice", int, "how many nice steps below the chat those threads run (0-19)"),
    ("irc-port", int, "also speak IRC on this port (TLS when --tls-cert is set)"),
    ("irc-server-name", str, "the server name IRC clients see (default: the host name)"),
    ("name", str, "the name people see when they discover the server"),
]

# (switch, help): flags that take no value; all are off by default.
SWITCHES: list[tuple[str, str]] = [
    ("no-advertise", "do not advertise the server over mDNS"),
    ("fsync", "with --db, every write waits for the disk (survives a power loss)"),
]
SWITCH_ON = frozenset({"1", "true", "yes"})
SWITCH_OFF = frozenset({"0", "false", "no", ""})


def env_name(option: str) -> str:
    return "CHAT_" + option.upper().replace("-", "_")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Exit 2 with one line, not argparse's usage block."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of CLI.md; only the flags given end up in its namespace."""
    parser = _Parser(
        prog="chat-server",
        description="hubbub: a LAN chat hub. Every option can also be set as CHAT_<OPTION> "
        "or in the --config file; a flag beats the environment, which beats the file.",
        argument_default=argparse.SUPPRESS,
    )
    defaults = Config()
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="read options from this TOML file (keys are the option names) [CHAT_CONFIG]",
    )
    for option, kind, text in OPTIONS:
        attribute = option.replace("-", "_")
        parser.add_argument(
            f"--{option}",
            type=kind,
            metavar=attribute.upper(),
            help=f"{text} [{env_name(option)}; default: {getattr(defaults, attribute)}]",
        )
    for switch, text in SWITCHES:
        parser.add_argument(
            f"--{switch}", action="store_true", help=f"{text} [{env_name(switch)}=1]"
        )
    parser.add_argument("--version", action="version", version=f"hubbub {__version__}")
    return parser


def read_config_file(path: str) -> dict[str, Any]:
    """The options of a TOML file, by option name, typed; raises ConfigError (one line)."""
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise ConfigError(f"--config {path}: cannot read it: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config {path}: not valid TOML: {exc}") from None
    kinds = {option: kind for option, kind, _ in OPTIONS}
    switches = {switch for switch, _ in SWITCHES}
    values: dict[str, Any] = {}
    for option, value in data.items():
        where = f"--config {path}"
        if option in switches:
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: {option}: expected true or false")
            values[option] = value
            continue
        kind = kinds.get(option)
        if kind is None:
            raise ConfigError(f"{where}: unknown option {option!r}")
        values[option] = _typed(option, kind, value, where)
    return values


def _typed(option: str, kind: Callable[[str], Any], value: object, where: str) -> Any:
    """``value`` as the option's type: a string is parsed, a TOML number taken as it is."""
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            name = getattr(kind, "__name__", "")
            raise ConfigError(f"{where}: invalid {name} value for {option}: {value!r}") from None
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is float and number:
        return float(value)  # type: ignore[arg-type]
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ConfigError(f"{where}: {option}: expected {getattr(kind, '__name__', kind)}")


def load_config(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Config:
    """A :class:`Config` from the ``--config`` file, ``environ`` and ``argv``, in that order
    of strength (a flag wins).

    Raises :class:`ConfigError` with one line for people; an invalid flag
    exits 2 as argparse does.
    """
    args = vars(build_parser().parse_args(argv))
    path = args.pop("config", None) or environ.get("CHAT_CONFIG") or None
    values: dict[str, Any] = read_config_file(path) if path else {}
    for option, kind, _ in OPTIONS:
        name = env_name(option)
        if name in environ:
            values[option] = _typed(option, kind, environ[name], name)
    for switch, _ in SWITCHES:
        name = env_name(switch)
        raw = environ.get(name, "").strip().lower()
        if raw not in SWITCH_ON | SWITCH_OFF:
            raise ConfigError(
                f"{name}: invalid switch value {environ[name]!r}"
                " (on: 1, true, yes; off: 0, false, no or empty)"
            )
        if raw:
            values[switch] = raw in SWITCH_ON
    names = [option for option, _, _ in OPTIONS] + [switch for switch, _ in SWITCHES]
    for option in names:
        attribute = option.replace("-", "_")
        if attribute in args:
            values[option] = args[attribute]
    return Config(**{option.replace("-", "_"): value for option, value in values.items()})


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Build a :class:`Config` from the ``--config`` file, ``CHAT_*`` variables and flags.

    Exits 2 with a one-line message, as argparse does, on any invalid value,
    including a TLS certificate or key that cannot be loaded.
    """
    try:
        config = load_config(argv, os.environ if environ is None else environ)
    except ConfigError as exc:
        build_parser().error(str(exc))
    if config.tls_cert and config.tls_key:
        try:
            make_tls_context(config.tls_cert, config.tls_key)
        except (OSError, ssl.SSLError) as exc:
            build_parser().error(f"--tls-cert/--tls-key: cannot load: {exc}")
    return config


async def serve(config: Config, reloader: Callable[[], Config] | None = None) -> None:
    """Run until SIGINT, SIGTERM or the admin console's ``shutdown``, then shut down
    gracefully; SIGHUP reloads the settings (``reloader`` reads them again)."""
    server = Server(config, make_store(config), reloader=reloader)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, server.stop.set)
    loop.add_signal_handler(signal.SIGHUP, server.reload_logged)
    await server.start()
    print(f"hubbub {__version__} listening on {config.host}:{server.port}", flush=True)
    if config.host in ("0.0.0.0", "::", ""):
        for address in lan_addresses():
            log.info("reachable on the LAN at %s:%d", address, server.port)
    try:
        await server.stop.wait()
        log.info("shutting down")
    finally:
        await server.shutdown()


#: File descriptors beyond one per client: the listener, the loop, logs, a store.
SPARE_FDS = 64


def raise_fd_limit(max_clients: int) -> None:
    """Raise the soft open-file limit towards ``max_clients`` (up to the hard limit).

    Logs a warning, naming ``ulimit -n``, if it is still too low for
    ``--max-clients`` connections.
    """
    try:
        import resource
    except ImportError:  # not on this platform: nothing to raise
        return
    wanted = max_clients + SPARE_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinity = resource.RLIM_INFINITY
    if soft != infinity and soft < wanted:
        target = wanted if hard == infinity else min(wanted, hard)
        if target > soft:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
    if soft != infinity and soft < wanted:
        log.warning(
            "only %d open files allowed (hard limit %s): fewer than --max-clients %d "
            "connections fit; raise it with ulimit -n %d",
            soft,
            "unlimited" if hard == infinity else hard,
            max_clients,
            wanted,
        )


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    environ = dict(os.environ)  # a reload reads the environment the process started with
    config = parse_args(argv, environ)
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # mDNS trouble is one warning from chat_server.discovery; the library's own
    # lines (a bind error, a failed send) are detail for --log-level debug.
    debug = config.log_level == "debug"
    logging.getLogger("zeroconf").setLevel(logging.DEBUG if debug else logging.CRITICAL)
    raise_fd_limit(config.max_clients)
    try:
        _run(serve(config, lambda: load_config(argv, environ)))
    except (StoreError, AdminSocketError) as exc:
        print(f"chat-server: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"chat-server: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 0
