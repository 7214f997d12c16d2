"""The Python "engine" of bench/kv-local.ts: puts and gets KV blocks through one backend, stdlib only.

    python3 bench/kv/engine_bench.py --backend shm|redis|memcached|memcpy --size B --batch N --bytes W --runs R [--warmup 1]
    python3 bench/kv/engine_bench.py --backend rtt-shm|rtt-redis|rtt-memcached --calls N --runs R

Every backend moves the same workload the same way an engine would: W bytes of unique keys per run, a
PUT phase then a GET phase, ``batch`` blocks per request, sources and destinations preallocated
(an engine's pinned staging buffers). GB/s = bytes / phase wall time (10^9 B/s); per-block latency =
batch time / batch. One JSON object per counted run on stdout:
``{"backend", "op", "size", "batch", "gbps", "p50_us", "p99_us", "blocks"}`` (RTT runs: ``"op": "rtt"``).

Peers use equivalent stdlib clients over TCP loopback: Redis (RESP, pipelined SET/GET per batch,
values received straight into the destination buffers) and memcached (text protocol, pipelined
``set`` per batch with replies, one ``get k1 … kn``). ``memcpy`` copies between two preallocated
buffers: the per-process ceiling for the engine's own copy.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'clients', 'python'))

from brixlet_kv import ITEM_EXISTS, ITEM_OK, KvClient  # noqa: E402

now = time.perf_counter_ns


def percentile(xs: list[float], pct: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, -(-len(s) * pct // 100) - 1))] if s else float('nan')


def make_sources(size: int, batch: int) -> list[bytearray]:
    seed = os.urandom(4096)
    return [bytearray((seed * (size // 4096 + 1))[:size]) for _ in range(batch)]


def make_keys(run_tag: int, count: int) -> list[bytes]:
    # Unique per (process, run): a random 8-byte prefix + the block number.
    prefix = os.urandom(4) + struct.pack('<I', run_tag)
    return [prefix + struct.pack('<Q', i) for i in range(count)]


class Timer:
    """Per-batch latencies (µs per block) and phase wall time."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.per_block: list[float] = []

    def record(self, t0: int, t1: int) -> None:
        self.per_block.append((t1 - t0) / 1000 / self.batch)


def report(backend: str, op: str, size: int, batch: int, blocks: int, wall_ns: int, t: Timer, extra: dict | None = None) -> None:
    row = {
        'backend': backend,
        'op': op,
        'size': size,
        'batch': batch,
        'blocks': blocks,
        'gbps': blocks * size / wall_ns,
        'p50_us': percentile(t.per_block, 50),
        'p99_us': percentile(t.per_block, 99),
    }
    row.update(extra or {})
    print(json.dumps(row), flush=True)


# ─────────────────────────── brixlet shm ───────────────────────────


def run_shm(a, size: int, batch: int, rounds: list[bool]) -> None:
    ns = f'bench/kv-local/{size}'
    with KvClient(a.socket, ns, size, populate=not a.no_populate) as c:
        srcs = make_sources(size, batch)
        dsts = [bytearray(size) for _ in range(batch)]
        nblocks = a.bytes // size // batch * batch
        for r, counted in enumerate(rounds):
            keys = make_keys(r, nblocks)
            t = Timer(batch)
            bad = 0
            start = now()
            for i in range(0, nblocks, batch):
                t0 = now()
                st = c.put(keys[i : i + batch], srcs)
                t.record(t0, now())
                for s in st:
                    if s != ITEM_OK and s != ITEM_EXISTS:
                        bad += 1
            wall = now() - start
            if counted:
                report('shm', 'put', size, batch, nblocks - bad, wall, t, {'failed': bad})
            t = Timer(batch)
            misses = 0
            start = now()
            for i in range(0, nblocks, batch):
                t0 = now()
                hits = c.get_into(keys[i : i + batch], dsts)
                t.record(t0, now())
                misses += batch - hits
            wall = now() - start
            if counted:
                report('shm', 'get', size, batch, nblocks - misses, wall, t, {'failed': misses})
            if counted and r == len(rounds) - 1 and dsts[0] != srcs[0]:
                raise SystemExit('shm: bytes read back differ from bytes written')


# ─────────────────────────── TCP peers ───────────────────────────


SPIN_NS = 100_000


class Conn:
    """A TCP loopback connection with a small read buffer and reads straight into caller buffers.

    Waits for data the way KvClient does (non-blocking polls for up to 100 µs, then poll()), so the
    peers get the same wake-up savings as the shard client.
    """

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.poll = select.poll()
        self.poll.register(self.sock, select.POLLIN)
        self.buf = bytearray(256 * 1024)
        self.mv = memoryview(self.buf)
        self.beg = 0
        self.end = 0

    def recv(self, dst) -> int:
        spin_until = 0
        while True:
            try:
                n = self.sock.recv_into(dst, 0, socket.MSG_DONTWAIT)
            except BlockingIOError:
                t = now()
                if spin_until == 0:
                    spin_until = t + SPIN_NS
                if t >= spin_until:
                    self.poll.poll(10_000)
                continue
            if n == 0:
                raise ConnectionError('peer closed the connection')
            return n

    def _fill(self) -> None:
        if self.beg == self.end:
            self.beg = self.end = 0
        elif self.end == len(self.buf):
            n = self.end - self.beg
            self.buf[:n] = self.mv[self.beg : self.end]
            self.beg, self.end = 0, n
        self.end += self.recv(self.mv[self.end :])

    def line(self) -> bytes:
        while True:
            i = self.buf.find(b'\r\n', self.beg, self.end)
            if i >= 0:
                out = bytes(self.mv[self.beg : i])
                self.beg = i + 2
                return out
            self._fill()

    def read_into(self, dst: memoryview) -> None:
        """Exactly len(dst) bytes: what is buffered first, the rest straight from the socket."""
        n = len(dst)
        have = min(n, self.end - self.beg)
        dst[:have] = self.mv[self.beg : self.beg + have]
        self.beg += have
        got = have
        while got < n:
            got += self.recv(dst[got:])

    def skip(self, n: int) -> None:
        while self.end - self.beg < n:
            self._fill()
        self.beg += n

    def close(self) -> None:
        self.sock.close()


def send_parts(sock: socket.socket, parts: list) -> None:
    """One sendmsg per batch (header + value buffers, no concatenation); loops on partial sends."""
    views = [memoryview(x) for x in parts]
    while views:
        sent = sock.sendmsg(views[:1000])
        while sent and views:
            if sent >= len(views[0]):
                sent -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][sent:]
                sent = 0


class RedisPeer:
    name = 'redis'

    def __init__(self, host: str, port: int) -> None:
        self.c = Conn(host, port)

    def put(self, keys: list[bytes], srcs: list[bytearray], size: int) -> int:
        parts = []
        for k, s in zip(keys, srcs):
            parts.append(b'*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n' % (len(k), k, size))
            parts.append(s)
            parts.append(b'\r\n')
        send_parts(self.c.sock, parts)
        bad = 0
        for _ in keys:
            if self.c.line() != b'+OK':
                bad += 1
        return bad

    def get(self, keys: list[bytes], dsts: list[memoryview]) -> int:
        self.c.sock.sendall(b''.join(b'*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n' % (len(k), k) for k in keys))
        misses = 0
        for i in range(len(keys)):
            head = self.c.line()
            n = int(head[1:])
            if n < 0:
                misses += 1
                continue
            self.c.read_into(dsts[i][:n])
            self.c.skip(2)
        return misses

    def flush(self) -> None:
        self.c.sock.sendall(b'*1\r\n$8\r\nFLUSHALL\r\n')
        self.c.line()

    def ping(self) -> None:
        self.c.sock.sendall(b'*1\r\n$4\r\nPING\r\n')
        self.c.line()


class MemcachedPeer:
    name = 'memcached'

    def __init__(self, host: str, port: int) -> None:
        self.c = Conn(host, port)

    def put(self, keys: list[bytes], srcs: list[bytearray], size: int) -> int:
        parts = []
        for k, s in zip(keys, srcs):
            parts.append(b'set %s 0 0 %d\r\n' % (k, size))
            parts.append(s)
            parts.append(b'\r\n')
        send_parts(self.c.sock, parts)
        bad = 0
        for _ in keys:
            if self.c.line() != b'STORED':
                bad += 1
        return bad

    def get(self, keys: list[bytes], dsts: list[memoryview]) -> int:
        self.c.sock.sendall(b'get ' + b' '.join(keys) + b'\r\n')
        found = 0
        while True:
            head = self.c.line()
            if head == b'END':
                break
            # VALUE <key> <flags> <bytes>; get returns hits in request order.
            n = int(head.rsplit(b' ', 1)[1])
            self.c.read_into(dsts[found][:n])
            self.c.skip(2)
            found += 1
        return len(keys) - found

    def flush(self) -> None:
        self.c.sock.sendall(b'flush_all\r\n')
        self.c.line()

    def ping(self) -> None:
        self.c.sock.sendall(b'version\r\n')
        self.c.line()


def run_peer(a, peer, size: int, batch: int, rounds: list[bool]) -> None:
    srcs = make_sources(size, batch)
    dsts = [memoryview(bytearray(size)) for _ in range(batch)]
    nblocks = a.bytes // size // batch * batch
    for r, counted in enumerate(rounds):
        # Text-protocol keys: the hex of the same 16-byte keys.
        keys = [k.hex().encode() for k in make_keys(r, nblocks)]
        peer.flush()
        t = Timer(batch)
        bad = 0
        start = now()
        for i in range(0, nblocks, batch):
            t0 = now()
            bad += peer.put(keys[i : i + batch], srcs, size)
            t.record(t0, now())
        wall = now() - start
        if counted:
            report(peer.name, 'put', size, batch, nblocks - bad, wall, t, {'failed': bad})
        t = Timer(batch)
        misses = 0
        start = now()
        for i in range(0, nblocks, batch):
            t0 = now()
            misses += peer.get(keys[i : i + batch], dsts)
            t.record(t0, now())
        wall = now() - start
        if counted:
            report(peer.name, 'get', size, batch, nblocks - misses, wall, t, {'failed': misses})
    peer.flush()


# ─────────────────────────── ceilings and control path ───────────────────────────


def run_memcpy(a, size: int, batch: int, rounds: list[bool]) -> None:
    """The engine-side copy ceiling, with the engine's access pattern: PUT copies the batch's source
    buffers into successive blocks of a workload-sized arena (like slab slots), GET copies arena blocks
    into the batch's destination buffers. The arena is touched first, as the shard's slabs are."""
    srcs = make_sources(size, batch)
    dsts = [bytearray(size) for _ in range(batch)]
    nblocks = a.bytes // size // batch * batch
    arena = bytearray(nblocks * size)
    for i in range(0, len(arena), 4096):
        arena[i] = 1
    slots = [memoryview(arena)[i * size : (i + 1) * size] for i in range(nblocks)]
    for counted in rounds:
        t = Timer(batch)
        start = now()
        for i in range(0, nblocks, batch):
            t0 = now()
            for j in range(batch):
                slots[i + j][:] = srcs[j]
            t.record(t0, now())
        wall = now() - start
        if counted:
            report('memcpy', 'put', size, batch, nblocks, wall, t)
        t = Timer(batch)
        start = now()
        for i in range(0, nblocks, batch):
            t0 = now()
            for j in range(batch):
                dsts[j][:] = slots[i + j]
            t.record(t0, now())
        wall = now() - start
        if counted:
            report('memcpy', 'get', size, batch, nblocks, wall, t)


def run_rtt(a, rounds: list[bool]) -> None:
    """Control round trips: PING (and EXISTS of one key for the shard) p50/p99 over `calls` calls."""
    kind = a.backend.split('-', 1)[1]
    if kind == 'shm':
        c = KvClient(a.socket, 'bench/kv-local/rtt', 4096)
        ops = {'ping': c.ping, 'exists': lambda k=os.urandom(16): c.exists([k])}
    else:
        peer = RedisPeer(a.host, a.port) if kind == 'redis' else MemcachedPeer(a.host, a.port)
        ops = {'ping': peer.ping}
    for counted in rounds:
        for name, fn in ops.items():
            lat = []
            for _ in range(a.calls):
                t0 = now()
                fn()
                lat.append((now() - t0) / 1000)
            if counted:
                print(json.dumps({'backend': kind, 'op': f'rtt-{name}', 'calls': a.calls, 'p50_us': percentile(lat, 50), 'p99_us': percentile(lat, 99)}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--backend', required=True, choices=['shm', 'redis', 'memcached', 'memcpy', 'rtt-shm', 'rtt-redis', 'rtt-memcached'])
    ap.add_argument('--socket', default='')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--size', type=int, default=1 << 20)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--bytes', type=int, default=256 << 20, help='workload per run')
    ap.add_argument('--runs', type=int, default=3, help='counted runs')
    ap.add_argument('--warmup', type=int, default=1, help='uncounted runs first')
    ap.add_argument('--calls', type=int, default=10000, help='round trips per RTT run')
    ap.add_argument('--no-populate', action='store_true', help='map slabs without MAP_POPULATE')
    a = ap.parse_args()
    rounds = [False] * a.warmup + [True] * a.runs
    if a.backend == 'shm':
        run_shm(a, a.size, a.batch, rounds)
    elif a.backend == 'memcpy':
        run_memcpy(a, a.size, a.batch, rounds)
    elif a.backend.startswith('rtt-'):
        run_rtt(a, rounds)
    else:
        peer = RedisPeer(a.host, a.port) if a.backend == 'redis' else MemcachedPeer(a.host, a.port)
        try:
            run_peer(a, peer, a.size, a.batch, rounds)
        finally:
            peer.c.close()


if __name__ == '__main__':
    main()
