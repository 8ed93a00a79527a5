"""The server's settings: one typed, validated object, built by the CLI or by code."""

from __future__ import annotations

import dataclasses
import socket
from dataclasses import dataclass, field

from protocol import DEFAULT_MAX_FRAME, DEFAULT_MAX_TEXT


class ConfigError(ValueError):
    """A setting is out of range; the message names the option and says why."""


#: Longest ``--name`` in bytes of UTF-8: one DNS label.
MAX_NAME_BYTES = 63


def default_name() -> str:
    """``hubbub on HOSTNAME`` (the host name's first label), cut to fit one DNS label."""
    host = socket.gethostname().split(".")[0] or "localhost"
    name = f"hubbub on {host}".encode()[:MAX_NAME_BYTES]
    return name.decode(errors="ignore")


@dataclass(frozen=True, slots=True)
class Config:
    host: str = "0.0.0.0"
    port: int = 7878
    password: str | None = None
    max_frame: int = DEFAULT_MAX_FRAME
    max_text: int = DEFAULT_MAX_TEXT
    history: int = 200
    ping_interval: float = 30.0
    ping_timeout: float = 60.0
    rate: float = 5.0
    burst: int = 10
    max_clients: int = 10000
    max_rooms: int = 1000
    hello_timeout: float = 10.0
    sendq: int = 1048576
    tls_cert: str | None = None
    tls_key: str | None = None
    log_level: str = "info"
    #: Unix socket of the admin console (``chat-admin``); ``None``: no console.
    admin_socket: str | None = None
    #: Password of the ``oper`` request (server operators); ``None``: ``oper`` always fails.
    oper_password: str | None = None
    #: Extra settings beyond CLI.md's table.
    motd: str | None = None
    #: Connections at once from one remote address; loopback is exempt; 0 = no cap.
    max_per_address: int = 16
    #: Largest frame accepted before ``welcome``: a stranger gets a small buffer.
    hello_max_frame: int = 4096
    #: Kernel send buffer per connection in bytes (0: the kernel's autotuning, up to
    #: several MB). A small one keeps a stalled reader's backlog in --sendq's view.
    sndbuf: int = 131072
    #: Least seconds between two rounds of writes: frames queued meanwhile go out
    #: together, one write per client. Output after a quiet spell leaves at once.
    #: The event loop's timers count whole milliseconds, hence 0 or 0.001 and up.
    flush_interval: float = 0.0
    #: Seconds a graceful shutdown waits for ``bye`` to flush before closing.
    shutdown_grace: float = 3.0
    #: Seconds a closing connection lingers to deliver its last frames.
    close_linger: float = 1.0
    #: SQLite file for durable history and topics (``None``: memory only).
    db: str | None = None
    #: Redis URL (``redis://HOST:PORT/DB``) shared by several server processes.
    redis: str | None = None
    #: Seconds a node may miss its heartbeat before the others announce its users' quit
    #: (at most half of ``ping_timeout`` is used, so they hear of it within that).
    node_ttl: float = 10.0
    #: Where shared files are kept (``None``: next to ``db``, else a temporary directory).
    files_dir: str | None = None
    #: Largest shared file in bytes; 0 turns file sharing off.
    max_upload: int = 104857600
    #: Bytes of files kept; the oldest are deleted to make room.
    files_quota: int = 1073741824
    #: Seconds a shared file is kept; 0 keeps it until the quota needs room.
    file_ttl: float = 604800.0
    #: Seconds an upload or download ticket stays valid.
    ticket_ttl: float = 60.0
    #: Seconds the bytes of an interrupted upload are kept for it to resume (at least 600).
    partial_ttl: float = 600.0
    #: Threads doing the disk work of shared files (writing uploads, reading downloads).
    file_threads: int = 4
    #: How much lower those threads' scheduling priority is (``nice`` steps): the chat first.
    file_nice: int = 10
    #: Also speak IRC on this port (``None``: no IRC gateway; 0 picks a free port).
    irc_port: int | None = None
    #: The server name IRC clients see (``None``: this machine's host name).
    irc_server_name: str | None = None
    #: The instance name people see when they discover the server over mDNS.
    name: str = field(default_factory=default_name)
    #: Do not advertise the server over mDNS (a switch: ``--no-advertise``).
    no_advertise: bool = False
    #: With ``db``: every commit waits for the disk, so it survives a power loss too.
    fsync: bool = False

    def __post_init__(self) -> None:
        def require(ok: bool, option: str, why: str) -> None:
            if not ok:
                raise ConfigError(f"--{option}: {why}")

        require(0 <= self.port <= 65535, "port", "must be between 0 and 65535")
        require(self.max_frame >= 256, "max-frame", "must be at least 256 bytes")
        require(self.max_frame < 2**32, "max-frame", "must be below 2**32")
        require(self.max_text >= 1, "max-text", "must be at least 1")
        require(self.history >= 0, "history", "must not be negative")
        require(self.ping_interval > 0, "ping-interval", "must be positive")
        require(
            self.ping_timeout > self.ping_interval,
            "ping-timeout",
            f"must be larger than --ping-interval ({self.ping_interval:g})",
        )
        require(self.rate >= 0, "rate", "must not be negative (0 turns the limit off)")
        require(self.burst >= 1, "burst", "must be at least 1")
        require(self.max_clients >= 1, "max-clients", "must be at least 1")
        require(self.max_rooms >= 1, "max-rooms", "must be at least 1")
        require(self.hello_timeout > 0, "hello-timeout", "must be positive")
        require(self.sendq >= 1024, "sendq", "must be at least 1024 bytes")
        require(
            (self.tls_cert is None) == (self.tls_key is None),
            "tls-cert",
            "--tls-cert and --tls-key go together",
        )
        require(
            self.log_level in ("debug", "info", "warning", "error"),
            "log-level",
            "must be one of debug, info, warning, error",
        )
        require(self.max_per_address >= 0, "max-per-address", "must not be negative")
        require(self.hello_max_frame >= 64, "hello-max-frame", "must be at least 64 bytes")
        require(self.sndbuf >= 0, "sndbuf", "must not be negative (0: the kernel's default)")
        require(
            self.flush_interval == 0 or 0.001 <= self.flush_interval <= 1,
            "flush-interval",
            "must be 0 or between 0.001 and 1 second (timers count whole milliseconds)",
        )
        require(self.shutdown_grace >= 0, "shutdown-grace", "must not be negative")
        require(self.close_linger >= 0, "close-linger", "must not be negative")
        require(self.db is None or self.db != "", "db", "must be a file path")
        require(
            self.db is None or self.redis is None,
            "redis",
            "--db and --redis exclude each other (Redis keeps history itself)",
        )
        require(
            self.redis is None or self.redis.startswith(("redis://", "rediss://", "unix://")),
            "redis",
            "must be a URL such as redis://HOST:PORT/DB",
        )
        require(self.node_ttl >= 1, "node-ttl", "must be at least 1 second")
        require(self.files_dir is None or self.files_dir != "", "files-dir", "must be a path")
        require(self.max_upload >= 0, "max-upload", "must not be negative (0 turns sharing off)")
        require(self.files_quota >= 0, "files-quota", "must not be negative")
        require(self.file_ttl >= 0, "file-ttl", "must not be negative (0 keeps files)")
        require(self.ticket_ttl > 0, "ticket-ttl", "must be positive")
        require(
            self.partial_ttl >= 600,
            "partial-ttl",
            "must be at least 600 seconds (interrupted uploads are kept 10 minutes)",
        )
        require(1 <= self.file_threads <= 64, "file-threads", "must be between 1 and 64")
        require(0 <= self.file_nice <= 19, "file-nice", "must be between 0 and 19")
        require(
            self.irc_port is None or 0 <= self.irc_port <= 65535,
            "irc-port",
            "must be between 0 and 65535",
        )
        require(
            self.irc_server_name is None or is_server_name(self.irc_server_name),
            "irc-server-name",
            "must be 1-63 letters, digits, '.', '-' or '_', starting with a letter or digit",
        )
        require(
            self.admin_socket is None or self.admin_socket != "",
            "admin-socket",
            "must be a file path",
        )
        require(
            self.oper_password is None or self.oper_password != "",
            "oper-password",
            "must not be empty",
        )
        require(
            self.name.isprintable() and 0 < len(self.name.encode()) <= MAX_NAME_BYTES,
            "name",
            f"must be 1-{MAX_NAME_BYTES} bytes of printable text",
        )
        require(
            not self.fsync or self.db is not None,
            "fsync",
            "applies to --db only (with --redis, Redis's appendfsync decides)",
        )

    def replace(self, **changes: object) -> Config:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def is_server_name(name: str) -> bool:
    """A word IRC can carry as a server name (in prefixes and numerics)."""
    return (
        0 < len(name) <= 63
        and name.isascii()
        and name[0].isalnum()
        and all(c.isalnum() or c in ".-_" for c in name)
    )
