"""Load generator for any hubbub server: N clients in R rooms, S of them sending.

    python bench/load.py --clients 50 --rooms 1 --senders 5 --rate 3000 --duration 10
    python bench/load.py --spawn --clients 50 --senders 5 --inflight 64   # saturated

Every sender stamps each ``say`` with its send time in ``id``, which the server
echoes to every member, so each delivery yields a latency.  It prints
deliveries/s, loss, latency percentiles and, for a local server (``--spawn`` or
``--server-pid``), the server's CPU time per delivery and RSS per connection.
The load generator's own CPU share is printed too: if it nears 100 % of a
core, the figures measure the generator, not the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import IO

HEADER = 4
#: A say's id: sender, send time (perf_counter_ns), 1 if sent inside the measured window.
ID_RE = re.compile(rb'"id":"(\d+)-(\d+)-([01])"')


@dataclass
class Totals:
    sent: int = 0
    delivered: int = 0
    expected: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass
class Result:
    """What one run measured; server figures are ``None`` without a server PID."""

    mode: str
    elapsed: float
    sent: int
    delivered: int
    lost: int
    expected: int
    latencies: list[float]
    setup: float
    loadgen_cpu: float
    server_cpu: float | None = None
    server_rss: int | None = None
    rss_per_connection: float | None = None

    def percentile(self, p: float) -> float:
        lat = self.latencies
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")

    @property
    def cpu_per_delivery_us(self) -> float | None:
        if self.server_cpu is None or not self.delivered:
            return None
        return self.server_cpu / self.delivered * 1e6


def frame(obj: dict[str, object]) -> bytes:
    body = json.dumps(obj, separators=(",", ":")).encode()
    return len(body).to_bytes(4, "big") + body


class BenchClient(asyncio.Protocol):
    """A lean client: it finds each message's ``id`` without a JSON parse."""

    def __init__(self, index: int, totals: Totals) -> None:
        self.index = index
        self.totals = totals
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.ready = asyncio.get_running_loop().create_future()
        self.echoes = asyncio.Event()
        self.outstanding = 0

    def itself(self) -> BenchClient:
        """The protocol factory that hands ``create_connection`` this very client."""
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport) or hasattr(transport, "write")
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        pos = 0
        now = time.perf_counter_ns()
        end = len(buffer)
        while end - pos >= HEADER:
            length = int.from_bytes(buffer[pos : pos + HEADER], "big")
            if end - pos - HEADER < length:
                break
            body = bytes(buffer[pos + HEADER : pos + HEADER + length])
            pos += HEADER + length
            if body.startswith(b'{"type":"message"'):
                match = ID_RE.search(body)
                if match is None:
                    continue
                if match.group(3) == b"1":  # counted as it was sent: exact loss
                    self.totals.delivered += 1
                    self.totals.latencies.append((now - int(match.group(2))) / 1e6)
                if int(match.group(1)) == self.index:
                    self.outstanding -= 1
                    self.echoes.set()
            elif not self.ready.done() and body.startswith(b'{"type":"joined"'):
                self.ready.set_result(None)
            elif body.startswith(b'{"type":"ping"'):
                assert self.transport is not None
                self.transport.write(frame({"type": "pong"}))
            elif body.startswith(b'{"type":"error"') or body.startswith(b'{"type":"bye"'):
                print(f"client {self.index}: {body[:200]!r}", file=sys.stderr)
        del buffer[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"client {self.index} lost: {exc}"))

    def say(self, room: str, text: str, measured: bool = False) -> None:
        assert self.transport is not None
        stamp = f"{self.index}-{time.perf_counter_ns()}-{int(measured)}"
        self.transport.write(frame({"type": "say", "room": room, "text": text, "id": stamp}))
        self.outstanding += 1


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def parse_ports(text: str) -> list[int]:
    """``7878`` or ``7878,7879``: clients are spread over the ports in turn."""
    return [int(part) for part in text.split(",")]


async def run(args: argparse.Namespace, pids: list[int]) -> Result:
    """Connect, join, send for ``args.duration`` seconds and measure.

    ``args.port`` is a list of ports (several nodes of one hub); ``pids`` are
    the local server processes whose CPU time and RSS are summed.
    """
    loop = asyncio.get_running_loop()
    totals = Totals()
    measuring = False
    rooms = [f"bench{r}" for r in range(args.rooms)]
    rss_before = sum(map(rss_bytes, pids))
    clients: list[BenchClient] = []
    started = time.perf_counter()
    for index in range(args.clients):
        client = BenchClient(index, totals)
        port = args.port[index % len(args.port)]
        await loop.create_connection(client.itself, args.host, port)
        assert client.transport is not None
        client.transport.write(frame({"type": "hello", "nick": f"b{index}", "protocol": 1}))
        client.transport.write(frame({"type": "join", "room": rooms[index % args.rooms]}))
        clients.append(client)
        if index % 500 == 499:
            await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*(c.ready for c in clients)), 60)
    setup = time.perf_counter() - started
    rss_after = sum(map(rss_bytes, pids))
    members = {
        room: sum(1 for i in range(args.clients) if i % args.rooms == r)
        for r, room in enumerate(rooms)
    }
    senders = clients[: args.senders]
    text = "x" * args.text_size
    stop = time.perf_counter() + args.warmup + args.duration
    own0 = resource.getrusage(resource.RUSAGE_SELF)

    async def send_loop(client: BenchClient) -> None:
        room = rooms[client.index % args.rooms]
        per_sender = args.rate / args.senders if args.rate else 0.0
        next_at = time.perf_counter()
        while time.perf_counter() < stop:
            if per_sender:
                next_at += 1.0 / per_sender
                client.say(room, text, measuring)
                if measuring:
                    totals.sent += 1
                    totals.expected += members[room]
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    await asyncio.sleep(0)
            else:
                while client.outstanding < args.inflight:
                    client.say(room, text, measuring)
                    if measuring:
                        totals.sent += 1
                        totals.expected += members[room]
                client.echoes.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(client.echoes.wait(), 1.0)

    tasks = [asyncio.create_task(send_loop(c)) for c in senders]
    await asyncio.sleep(args.warmup)
    measuring = True
    t0 = time.perf_counter()
    cpu0 = sum(map(cpu_seconds, pids))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    cpu1 = sum(map(cpu_seconds, pids))
    await asyncio.sleep(args.settle)  # let in-flight deliveries land before counting loss
    own1 = resource.getrusage(resource.RUSAGE_SELF)
    own_cpu = (own1.ru_utime + own1.ru_stime) - (own0.ru_utime + own0.ru_stime)
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    mode = f"paced {args.rate:g} msg/s" if args.rate else f"saturated, {args.inflight} in flight"
    return Result(
        mode=f"{mode}, {args.senders} senders, {args.text_size}-character texts",
        elapsed=elapsed,
        sent=totals.sent,
        delivered=totals.delivered,
        lost=max(0, totals.expected - totals.delivered),
        expected=totals.expected,
        latencies=sorted(totals.latencies),
        setup=setup,
        loadgen_cpu=own_cpu / (elapsed + args.settle),
        server_cpu=cpu1 - cpu0 if pids else None,
        server_rss=rss_after if pids else None,
        rss_per_connection=(rss_after - rss_before) / args.clients if pids else None,
    )


def report(args: argparse.Namespace, result: Result) -> None:
    r = result
    print(f"{args.clients} clients joined {args.rooms} room(s) in {r.setup:.2f} s")
    if r.server_rss is not None and r.rss_per_connection is not None:
        print(
            f"server RSS: {r.server_rss / 2**20:.1f} MiB, "
            f"{r.rss_per_connection / 1024:.2f} KiB per connection"
        )
    print(f"mode: {r.mode}")
    print(f"sent {r.sent} messages in {r.elapsed:.2f} s ({r.sent / r.elapsed:,.0f} msg/s)")
    print(f"delivered {r.delivered:,} ({r.delivered / r.elapsed:,.0f} deliveries/s)")
    print(f"loss: {r.lost} of {r.expected} ({100 * r.lost / max(1, r.expected):.3f} %)")
    lat = r.latencies
    print(
        f"latency ms: p50 {r.percentile(50):.2f}  p90 {r.percentile(90):.2f}  "
        f"p99 {r.percentile(99):.2f}  max {lat[-1] if lat else float('nan'):.2f}  "
        f"mean {statistics.fmean(lat) if lat else float('nan'):.2f}"
    )
    if r.server_cpu is not None and r.cpu_per_delivery_us is not None:
        print(
            f"server CPU: {r.server_cpu:.2f} s, {r.cpu_per_delivery_us:.2f} µs per delivery "
            f"({100 * r.server_cpu / r.elapsed:.0f} % of a core)"
        )
    print(f"load generator CPU: {100 * r.loadgen_cpu:.0f} % of a core")


def spawn_server(
    *extra: str, cpu: int | None = None, stderr: IO[bytes] | None = None
) -> tuple[subprocess.Popen[str], int]:
    """A local ``chat-server --rate 0`` on a free loopback port, and that port.

    Waits for its ``listening on`` line; ``cpu`` pins it to one core. Raises
    ``RuntimeError`` if it does not start.
    """
    command = [
        sys.executable, "-m", "chat_server", "--host", "127.0.0.1", "--port", "0",
        "--rate", "0", "--log-level", "warning", *extra,
    ]  # fmt: skip
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    unadvertised = {**os.environ, "CHAT_NO_ADVERTISE": "1"}  # not for finding on the LAN
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=unadvertised
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if "listening on" not in line:
        server.kill()
        raise RuntimeError(f"chat-server did not start (exit status {server.wait()})")
    return server, int(line.rsplit(":", 1)[1])


def run_with_best_loop(args: argparse.Namespace, pids: list[int]) -> Result:
    """:func:`run` on uvloop where it is installed, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run(args, pids))
    return uvloop.run(run(args, pids))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        type=parse_ports,
        default=[7878],
        help="a port, or several nodes' ports (7878,7879)",
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rooms", type=int, default=1)
    parser.add_argument("--senders", type=int, default=5)
    parser.add_argument("--rate", type=float, default=0, help="total msg/s; 0 = saturated")
    parser.add_argument("--inflight", type=int, default=64, help="per sender, when saturated")
    parser.add_argument("--text-size", type=int, default=100)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument(
        "--server-pid",
        type=int,
        action="append",
        default=[],
        help="measure this local server's CPU and RSS (repeat for several nodes)",
    )
    parser.add_argument(
        "--spawn",
        action="store_true",
        help="start a local chat-server with --rate 0 on a free port",
    )
    parser.add_argument("--cpu", type=int, help="pin the spawned server to this core")
    args = parser.parse_args()
    if args.senders > args.clients:
        parser.error("--senders cannot exceed --clients")
    server: subprocess.Popen[str] | None = None
    pids: list[int] = args.server_pid
    if args.spawn:
        server, port = spawn_server(
            "--max-clients", str(args.clients + 100), "--max-per-address", "0", cpu=args.cpu
        )
        args.port = [port]
        pids = [server.pid]
    try:
        report(args, run_with_best_loop(args, pids))
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
