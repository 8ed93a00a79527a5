"""hubbub's stores side by side: one node in memory, one on SQLite, two over Redis.

    python bench/backends.py                  # 3 interleaved passes, about 5 minutes
    python bench/backends.py --passes 1 --duration 5

The same workload runs on each store in turn, the order rotated every pass:
``--clients`` members in one room, ``--senders`` of them sending 100-character
texts, first paced at ``--rate`` messages/s in total, then saturated
(``--inflight`` unanswered messages per sender). On Redis the clients are
spread over two ``chat-server`` nodes sharing a fresh ``redis-server`` (no
persistence), so half of every fan-out crosses Redis. The load comes from
``bench/load.py``'s clients. Server CPU counts every process that serves:
the node, both nodes and redis-server for Redis. Nothing is pinned to a core,
so on a machine with few cores the Redis row shares them with the load
generator. Medians over the passes, with the spread (min-max).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare import cell, free_port, hubbub_version, machine  # noqa: E402
from load import Result, run_with_best_loop, spawn_server  # noqa: E402

#: (ports, PIDs) of the processes that serve one store's run.
Serving = tuple[list[int], list[int]]


def spawn_node(workdir: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    """A node with a 16 MiB --sendq, logging to ``workdir``; see :func:`load.spawn_server`."""
    with (workdir / "node.log").open("ab") as log:
        return spawn_server("--max-per-address", "0", "--sendq", "16777216", *extra, stderr=log)


@contextlib.contextmanager
def one_node(workdir: Path, *extra: str) -> Iterator[Serving]:
    node, port = spawn_node(workdir, *extra)
    try:
        yield [port], [node.pid]
    finally:
        stop(node)


def memory(workdir: Path) -> contextlib.AbstractContextManager[Serving]:
    return one_node(workdir)


def sqlite(workdir: Path) -> contextlib.AbstractContextManager[Serving]:
    return one_node(workdir, "--db", str(workdir / f"hub-{time.monotonic_ns()}.db"))


@contextlib.contextmanager
def redis(workdir: Path) -> Iterator[Serving]:
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    nodes: list[subprocess.Popen[str]] = []
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        url = f"redis://127.0.0.1:{port}/0"
        spawned = [spawn_node(workdir, "--redis", url) for _ in range(2)]
        nodes = [node for node, _ in spawned]
        yield [port for _, port in spawned], [*(n.pid for n in nodes), server.pid]
    finally:
        for node in nodes:
            stop(node)
        stop(server)


def _answers(port: int) -> bool:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() == "PONG"


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


STORES: dict[str, Callable[[Path], contextlib.AbstractContextManager[Serving]]] = {
    "memory": memory,
    "sqlite": sqlite,
    "redis": redis,
}
LABELS = {"memory": "memory, 1 node", "sqlite": "SQLite, 1 node", "redis": "Redis, 2 nodes"}


def measure(store: str, workdir: Path, args: argparse.Namespace, rate: float) -> Result:
    with STORES[store](workdir) as (ports, pids):
        load = argparse.Namespace(
            host="127.0.0.1",
            port=ports,
            clients=args.clients,
            rooms=1,
            senders=args.senders,
            rate=rate,
            inflight=args.inflight,
            text_size=100,
            duration=args.duration,
            warmup=1.0,
            settle=2.0,
        )
        return run_with_best_loop(load, pids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per run")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--senders", type=int, default=5)
    parser.add_argument("--rate", type=float, default=1000.0, help="total msg/s when paced")
    parser.add_argument("--inflight", type=int, default=16, help="per sender, when saturated")
    parser.add_argument("--stores", default="memory,sqlite,redis")
    args = parser.parse_args()
    stores = args.stores.split(",")
    unknown = set(stores) - set(STORES)
    if unknown:
        parser.error(f"unknown store(s): {', '.join(sorted(unknown))}")
    version = hubbub_version()
    paced: dict[str, list[Result]] = {s: [] for s in stores}
    saturated: dict[str, list[Result]] = {s: [] for s in stores}
    with tempfile.TemporaryDirectory(prefix="hubbub-backends-") as tmp:
        workdir = Path(tmp)
        for number in range(args.passes):
            order = stores[number % len(stores) :] + stores[: number % len(stores)]
            for store in order:
                for rate, results in ((args.rate, paced), (0.0, saturated)):
                    result = measure(store, workdir, args, rate)
                    results[store].append(result)
                    print(
                        f"pass {number + 1} {store:6} {result.mode.split(',')[0]:16} "
                        f"{result.delivered / result.elapsed:>9,.0f} deliveries/s  "
                        f"loss {result.lost}  p99 {result.percentile(99):.2f} ms  "
                        f"loadgen {100 * result.loadgen_cpu:.0f} %",
                        file=sys.stderr,
                        flush=True,
                    )
    print(
        f"{datetime.date.today()}, {machine()}; {version}\n"
        f"{args.clients} members in 1 room, {args.senders} senders, 100-character texts; "
        f"medians of {args.passes} pass(es), spread in brackets\n"
    )
    print(
        f"| store | paced {args.rate:g} msg/s: deliveries/s | loss | p50 ms | p99 ms "
        f"| server CPU µs/delivery | saturated ({args.inflight} in flight): deliveries/s "
        "| p99 ms | load generator CPU % |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for store in stores:
        p, s = paced[store], saturated[store]
        print(
            f"| {LABELS[store]} "
            f"| {cell([r.delivered / r.elapsed for r in p], '{:,.0f}')} "
            f"| {sum(r.lost for r in p)} of {sum(r.expected for r in p):,} "
            f"| {cell([r.percentile(50) for r in p], '{:.2f}')} "
            f"| {cell([r.percentile(99) for r in p], '{:.2f}')} "
            f"| {cell([r.cpu_per_delivery_us or 0.0 for r in p], '{:.2f}')} "
            f"| {cell([r.delivered / r.elapsed for r in s], '{:,.0f}')} "
            f"| {cell([r.percentile(99) for r in s], '{:.1f}')} "
            f"| {cell([100 * r.loadgen_cpu for r in s], '{:.0f}')} |"
        )
    print(
        "\nA load generator near 100 % of a core is the bottleneck: that row's "
        "saturated figure is a lower bound."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
