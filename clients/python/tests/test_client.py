"""Tests of brixlet_kv.KvClient against a live shard (the socket path comes from BRIXLET_KV_SOCKET).

test/clients/python.test.ts starts a real shard in-process and runs this suite; run by hand with
``BRIXLET_KV_SOCKET=/path/kv.sock python3 -m unittest discover -s clients/python/tests -v``.
Each test works in a namespace of its own, so tests never see each other's blocks.
"""

import array
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))

from brixlet_kv import ITEM_BAD_LENGTH, ITEM_BUSY, ITEM_DUPLICATE, ITEM_EXISTS, ITEM_OK, ITEM_UNKNOWN_LEASE  # noqa: E402
from brixlet_kv import KvClient, KvConnectError, KvError, chain_keys  # noqa: E402
from brixlet_kv import protocol as p  # noqa: E402

SOCKET = os.environ.get('BRIXLET_KV_SOCKET', '')
MiB = 1 << 20
BLOCK = MiB


def pattern(n: int, seed: int) -> bytes:
    """Deterministic, position- and seed-dependent bytes (a wrong offset or block shows up)."""
    unit = bytes((seed * 31 + i * 7) & 0xFF for i in range(251))
    return (unit * (n // 251 + 1))[:n]


def wait_for(predicate, timeout: float = 5.0, what: str = 'condition'):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out waiting for {what}')
        time.sleep(0.02)


class Raw:
    """A raw protocol connection for the tests that send frames a client never would."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(SOCKET)
        self.buf = b''

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _need(self, n: int) -> bool:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def frame(self):
        """The next reply frame as (header, body), or None when the shard closed the stream."""
        if not self._need(p.HEADER_BYTES):
            return None
        # Read as is, version included: a BAD_VERSION reply echoes the version byte the request had.
        length, _, _, op, request_id, status, _ = p.HEADER.unpack_from(self.buf, 0)
        h = p.Header(length, op, request_id, status)
        if not self._need(h.length):
            return None
        body, self.buf = self.buf[p.HEADER_BYTES : h.length], self.buf[h.length :]
        return h, body

    def closed_by_peer(self, timeout: float = 5.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b''
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


@unittest.skipUnless(SOCKET, 'BRIXLET_KV_SOCKET is not set: start a shard (e.g. brixlet agent) and point it at its kv socket')
class ClientTest(unittest.TestCase):
    def setUp(self):
        self.ns = f'test/{self._testMethodName}/{uuid.uuid4().hex[:8]}'
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    def client(self, ns=None, block_size=BLOCK, layout='') -> KvClient:
        c = KvClient(SOCKET, ns or self.ns, block_size, layout=layout)
        self.clients.append(c)
        return c

    def keys(self, n: int, tag: str = '') -> list:
        return chain_keys([f'{self.ns}/{tag}/{i}'.encode() for i in range(n)])

    # ── data path ──

    def test_put_get_round_trip_of_several_sizes(self):
        c = self.client()
        sizes = [1, 4095, 4096, 4097, 256 * 1024, 512 * 1024 + 3, BLOCK]
        keys = self.keys(len(sizes))
        blocks = [pattern(n, i) for i, n in enumerate(sizes)]
        self.assertEqual(c.put(keys, blocks), [ITEM_OK] * len(sizes))
        self.assertEqual(c.get(keys), blocks)
        # A second connection maps the same slabs and reads the same bytes.
        other = self.client()
        self.assertEqual(other.get(keys), blocks)
        buffers = [bytearray(BLOCK) for _ in sizes]
        self.assertEqual(other.get_into(keys, buffers), len(sizes))
        for buf, block in zip(buffers, blocks):
            self.assertEqual(bytes(buf[: len(block)]), block)
        # Writable buffers of other kinds (memoryview slices of one staging area) work too.
        staging = bytearray(BLOCK * 2)
        views = [memoryview(staging)[:BLOCK], memoryview(staging)[BLOCK:]]
        self.assertEqual(other.get_into(keys[:2], views), 2)
        self.assertEqual(bytes(staging[: sizes[0]]), blocks[0])
        self.assertEqual(bytes(staging[BLOCK : BLOCK + sizes[1]]), blocks[1])
        self.assertEqual(other.stats()['leases'], {'read': 0, 'write': 0})

    def test_slab_views_address_the_bytes_a_lease_points_at(self):
        c = self.client()
        keys = self.keys(1, 'slab-views')
        block = pattern(8192, 9)
        self.assertEqual(c.put(keys, [block]), [ITEM_OK])
        lease = c.lookup(keys).leases[0]
        slabs = c.slab_views()
        self.assertEqual(len(slabs), len(c.session.slabs))
        self.assertEqual(bytes(slabs[lease.slab][lease.offset : lease.offset + lease.length]), block)
        c.release([lease.lease_id])

    def test_put_accepts_memoryviews_and_get_into_checks_buffer_size(self):
        c = self.client()
        keys = self.keys(2)
        src = bytearray(pattern(2 * 8192, 5))
        self.assertEqual(c.put(keys, [memoryview(src)[:8192], memoryview(src)[8192:]]), [ITEM_OK, ITEM_OK])
        with self.assertRaisesRegex(ValueError, 'buffer 1 holds 100 bytes'):
            c.get_into(keys, [bytearray(8192), bytearray(100)])
        # The leases taken by the failed get_into were released.
        self.assertEqual(c.stats()['leases']['read'], 0)
        self.assertEqual(c.get(keys), [bytes(src[:8192]), bytes(src[8192:])])
        # Buffers of any item format are filled byte for byte.
        ints = array.array('i', bytes(8192))
        self.assertEqual(c.get_into(keys[1:], [ints]), 1)
        self.assertEqual(ints.tobytes(), bytes(src[8192:]))

    def test_lookup_returns_the_longest_sealed_prefix(self):
        c = self.client()
        keys = self.keys(4)
        blocks = [pattern(64 * 1024, i) for i in range(4)]
        self.assertEqual(c.put(keys, blocks), [ITEM_OK] * 4)
        missing = self.keys(1, 'never-written')[0]
        found = c.lookup([keys[0], keys[1], missing, keys[3]])
        self.assertEqual(found.hits, 2)
        self.assertEqual([bytes(le.view) for le in found.leases], blocks[:2])
        self.assertEqual(c.release([le.lease_id for le in found.leases]), [ITEM_OK, ITEM_OK])
        self.assertEqual(c.release([found.leases[0].lease_id]), [ITEM_UNKNOWN_LEASE])
        self.assertEqual(c.lookup([missing, keys[0]]).hits, 0)
        self.assertEqual(c.exists(keys), 4)
        self.assertEqual(c.exists(keys[:3] + [missing]), 3)
        self.assertEqual(c.get([keys[0], missing, keys[2]]), blocks[:1])
        # Another namespace never matches these keys.
        self.assertEqual(self.client(ns=self.ns + '/other').exists(keys), 0)

    def test_a_block_is_invisible_until_sealed(self):
        writer, reader = self.client(), self.client()
        (key,) = self.keys(1)
        (lease,) = writer.alloc([key], [BLOCK])
        self.assertEqual(lease.status, ITEM_OK)
        lease.view[:] = pattern(BLOCK, 9)
        self.assertEqual(reader.exists([key]), 0)
        self.assertEqual(reader.lookup([key]).hits, 0)
        self.assertEqual(reader.get([key]), [])
        self.assertEqual(reader.alloc([key], [BLOCK])[0].status, ITEM_BUSY)
        self.assertEqual(writer.seal([lease.lease_id]), [ITEM_OK])
        self.assertEqual(reader.get([key]), [pattern(BLOCK, 9)])
        self.assertEqual(writer.seal([lease.lease_id]), [ITEM_UNKNOWN_LEASE])

    def test_drop_frees_the_slot_and_shows_nothing(self):
        c, reader = self.client(), self.client()
        keys = self.keys(2)
        leases = c.alloc(keys, [BLOCK, BLOCK])
        self.assertEqual([le.status for le in leases], [ITEM_OK, ITEM_OK])
        leases[0].view[:4] = b'half'
        self.assertEqual(c.drop([le.lease_id for le in leases]), [ITEM_OK, ITEM_OK])
        self.assertEqual(reader.exists(keys), 0)
        self.assertEqual(c.drop([leases[0].lease_id]), [ITEM_UNKNOWN_LEASE])
        self.assertEqual(c.seal([leases[1].lease_id]), [ITEM_UNKNOWN_LEASE])
        # The keys are free to be written again.
        self.assertEqual(c.put(keys, [b'a' * 5000, b'b' * 5000]), [ITEM_OK, ITEM_OK])
        self.assertEqual(reader.get(keys), [b'a' * 5000, b'b' * 5000])

    def test_reput_answers_exists_and_skips_the_copy(self):
        c = self.client()
        keys = self.keys(3)
        blocks = [pattern(4096, i) for i in range(3)]
        self.assertEqual(c.put(keys[:2], blocks[:2]), [ITEM_OK, ITEM_OK])
        self.assertEqual(c.put(keys, [b'x' * 4096] * 2 + blocks[2:]), [ITEM_EXISTS, ITEM_EXISTS, ITEM_OK])
        self.assertEqual(c.get(keys), blocks)

    def test_alloc_item_statuses(self):
        c = self.client()
        a, b = self.keys(2)
        leases = c.alloc([a, a], [4096, 4096], independent=True)
        self.assertEqual([le.status for le in leases], [ITEM_OK, ITEM_DUPLICATE])
        self.assertIsNone(leases[1].view)
        self.assertEqual((leases[1].lease_id, leases[1].length), (0, 0))
        self.assertEqual(c.drop([leases[0].lease_id]), [ITEM_OK])
        bad = c.alloc([a, b], [BLOCK + 1, 0], independent=True)
        self.assertEqual([le.status for le in bad], [ITEM_BAD_LENGTH, ITEM_BAD_LENGTH])

    def test_put_with_parent_continues_a_chain(self):
        c = self.client()
        keys = self.keys(3)
        self.assertEqual(c.put(keys[:1], [b'p' * 4096]), [ITEM_OK])
        self.assertEqual(c.put(keys[1:], [b'q' * 4096, b'r' * 4096], parent=keys[0]), [ITEM_OK, ITEM_OK])
        self.assertEqual(c.exists(keys), 3)

    # ── lifetime ──

    def test_closing_a_connection_ends_its_leases(self):
        holder = self.client()
        keys = self.keys(2)
        self.assertEqual(holder.put(keys[:1], [b'r' * 4096]), [ITEM_OK])
        read = holder.lookup(keys[:1])
        write = holder.alloc(keys[1:], [4096])
        self.assertEqual((read.hits, write[0].status), (1, ITEM_OK))
        observer = self.client()
        leases = observer.stats()['leases']
        self.assertGreaterEqual(leases['read'], 1)
        self.assertGreaterEqual(leases['write'], 1)
        holder.close()
        wait_for(lambda: observer.stats()['leases'] == {'read': 0, 'write': 0}, what='leases to end after close')
        self.assertEqual(observer.stats()['bytesByState']['writing'], 0)
        self.assertEqual(observer.exists(keys), 1)
        # The unsealed key is writable again: its write lease was dropped with the connection.
        self.assertEqual(observer.put(keys[1:], [b's' * 4096]), [ITEM_OK])

    def test_stats_and_ping(self):
        c = self.client()
        c.ping()
        c.put(self.keys(1), [b'z' * 4096])
        s = c.stats()
        self.assertEqual(s['namespace']['name'], self.ns)
        self.assertEqual(s['namespace']['blockSize'], BLOCK)
        self.assertEqual(s['namespace']['entries'], 1)
        self.assertGreaterEqual(s['capacityBytes'], 16 * MiB)
        self.assertEqual(len(s['slabs']['files']), len(c.session.slabs))
        self.assertEqual(c.session.slot_size, BLOCK)

    # ── refusals ──

    def test_layout_mismatch_on_another_block_size_or_signature(self):
        self.client(layout='bf16')
        with self.assertRaises(KvError) as cm:
            KvClient(SOCKET, self.ns, BLOCK // 2, layout='bf16')
        self.assertEqual(cm.exception.status_name, 'LAYOUT_MISMATCH')
        self.assertEqual(cm.exception.op_name, 'HELLO')
        with self.assertRaises(KvError) as cm:
            KvClient(SOCKET, self.ns, BLOCK, layout='fp8')
        self.assertEqual(cm.exception.status_name, 'LAYOUT_MISMATCH')
        self.assertEqual(self.client(layout='bf16').exists(self.keys(1)), 0)

    def test_bad_hello_and_no_hello_keep_the_connection(self):
        with self.assertRaises(KvError) as cm:
            KvClient(SOCKET, self.ns, 100)
        self.assertEqual(cm.exception.status_name, 'BAD_HELLO')
        s = Raw()
        try:
            s.send(p.frame(p.LOOKUP, 5, struct.pack('<I', 0)))
            h, body = s.frame()
            self.assertEqual((h.op, h.request_id, p.status_name(h.status)), (p.LOOKUP | p.REPLY_BIT, 5, 'NO_HELLO'))
            self.assertTrue(p.decode_error(body))
            s.send(p.frame(p.HELLO, 6, p.encode_hello(self.ns, '', 4096)) + p.frame(p.HELLO, 7, p.encode_hello(self.ns, '', 4096)))
            h, _ = s.frame()
            self.assertEqual(h.status, p.OK)
            h, _ = s.frame()
            self.assertEqual((h.request_id, p.status_name(h.status)), (7, 'BAD_HELLO'))
            s.send(p.frame(p.PING, 8))
            h, body = s.frame()
            self.assertEqual((h.op, h.request_id, h.status, body), (p.PING | p.REPLY_BIT, 8, p.OK, b''))
        finally:
            s.close()

    def test_garbage_frame_gets_an_error_then_close_while_others_keep_working(self):
        bystander = self.client()
        keys = self.keys(1)
        self.assertEqual(bystander.put(keys, [b'k' * 4096]), [ITEM_OK])
        s = Raw()
        try:
            s.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            h, body = s.frame()
            self.assertEqual(p.status_name(h.status), 'BAD_FRAME')
            self.assertIn('magic', p.decode_error(body))
            self.assertTrue(s.closed_by_peer())
        finally:
            s.close()
        bystander.ping()
        self.assertEqual(bystander.get(keys), [b'k' * 4096])

    def test_truncated_and_unknown_frames_close_only_that_connection(self):
        bystander = self.client()
        cases = [
            # LOOKUP announcing 3 keys that carries one.
            ('BAD_FRAME', p.frame(p.LOOKUP, 2, struct.pack('<I', 3) + bytes(16))),
            # SEAL whose body stops inside a lease id.
            ('BAD_FRAME', p.frame(p.SEAL, 2, struct.pack('<I', 1) + b'\x01\x00')),
            ('UNKNOWN_OP', p.frame(0x3F, 2)),
            ('BAD_VERSION', p.frame(p.PING, 2)[:6] + b'\x07' + p.frame(p.PING, 2)[7:]),
        ]
        for want, raw in cases:
            with self.subTest(want=want):
                s = Raw()
                try:
                    s.send(p.frame(p.HELLO, 1, p.encode_hello(self.ns, '', BLOCK)))
                    self.assertEqual(s.frame()[0].status, p.OK)
                    s.send(raw)
                    h, _ = s.frame()
                    self.assertEqual(p.status_name(h.status), want)
                    self.assertTrue(s.closed_by_peer())
                finally:
                    s.close()
                bystander.ping()

    def test_a_partial_frame_never_blocks_other_clients(self):
        bystander = self.client()
        s = Raw()
        try:
            whole = p.frame(p.LOOKUP, 1, struct.pack('<I', 1) + bytes(16))
            s.send(whole[:10])
            bystander.ping()
            self.assertEqual(bystander.put(self.keys(1), [b'y' * 4096]), [ITEM_OK])
            ttl = bystander.session.lease_ttl_ms / 1000
            if ttl <= 5:
                # The shard drops a connection that stalls mid-frame for a lease TTL.
                self.assertTrue(s.closed_by_peer(ttl + 3))
        finally:
            s.close()
        bystander.ping()

    def test_client_side_errors(self):
        with self.assertRaises(KvConnectError) as cm:
            KvClient(SOCKET + '.missing', self.ns, BLOCK)
        self.assertEqual(cm.exception.code, 'BRX_ERR_KV_CONNECT')
        c = self.client()
        with self.assertRaises(p.ProtocolError):
            c.exists([b'short key'])
        with self.assertRaises(KvError) as cm:
            c.exists([bytes(16)] * (c.session.max_batch + 1))
        self.assertEqual(cm.exception.status_name, 'BATCH_TOO_LARGE')
        with self.assertRaises(ValueError):
            c.put(self.keys(2), [b'one block'])
        c.ping()  # still usable after errors raised before anything was sent
        c.close()
        self.assertTrue(c.closed)
        with self.assertRaises(KvConnectError):
            c.ping()


CRASH_CHILD = r'''
import os, signal, sys, time
sys.path.insert(0, sys.argv[1])
from brixlet_kv import KvClient
mode, sock, ns, key_hex = sys.argv[2:6]
c = KvClient(sock, ns, 1 << 20)
(lease,) = c.alloc([bytes.fromhex(key_hex)], [1 << 20])
assert lease.status == 0, lease
lease.view[: 1 << 19] = b'\xab' * (1 << 19)   # half the block
print('ready', flush=True)
if mode == 'exit':
    os._exit(1)
time.sleep(60)                                 # waits for SIGKILL
'''


@unittest.skipUnless(SOCKET, 'BRIXLET_KV_SOCKET is not set: start a shard and point it at its kv socket')
class CrashTest(unittest.TestCase):
    """An engine killed mid-ALLOC leaves no visible block and no leaked slot."""

    def crash(self, mode: str):
        ns = f'test/crash-{mode}/{uuid.uuid4().hex[:8]}'
        key = chain_keys([ns.encode()])[0]
        with KvClient(SOCKET, ns, BLOCK) as observer:
            used_before = observer.stats()['usedBytes']
            child = subprocess.Popen(
                [sys.executable, '-c', CRASH_CHILD, os.path.join(HERE, '..'), mode, SOCKET, ns, key.hex()],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, 'PYTHONDONTWRITEBYTECODE': '1'},
            )
            try:
                line = child.stdout.readline()
                self.assertEqual(line, b'ready\n', child.stderr.read() if line == b'' else line)
                if mode == 'kill':
                    # While the engine lives, its slot is held and its block is not visible.
                    during = observer.stats()
                    self.assertGreaterEqual(during['bytesByState']['writing'], BLOCK)
                    self.assertGreaterEqual(during['leases']['write'], 1)
                    self.assertEqual(observer.exists([key]), 0)
                    child.send_signal(signal.SIGKILL)
                code = child.wait(timeout=10)
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
                child.stdout.close()
                child.stderr.close()
            self.assertEqual(code, 1 if mode == 'exit' else -signal.SIGKILL)
            after = wait_for(
                lambda: (lambda s: s if s['bytesByState']['writing'] == 0 and s['leases']['write'] == 0 else None)(observer.stats()),
                what='the dead engine\'s write lease to be dropped',
            )
            self.assertEqual(after['usedBytes'], used_before)
            self.assertEqual(observer.lookup([key]).hits, 0)
            self.assertEqual(observer.get([key]), [])
            # No slot leaked and no lease left behind: the key can be written in full now.
            self.assertEqual(observer.put([key], [b'\xcd' * BLOCK]), [ITEM_OK])
            self.assertEqual(observer.get([key]), [b'\xcd' * BLOCK])

    def test_engine_exiting_mid_alloc(self):
        self.crash('exit')

    def test_engine_killed_mid_alloc(self):
        self.crash('kill')


if __name__ == '__main__':
    unittest.main()
