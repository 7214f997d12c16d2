"""A stdlib-only engine client for the node KV shard (docs/kv-protocol.md).

Control messages go over the shard's unix socket; block bytes never do: the client maps every slab
file ``MAP_SHARED`` read-write and copies blocks in and out of its slots itself. One ``KvClient`` is
one connection bound to one namespace; it is not thread-safe (open one per thread).

Hot-path habits: one preallocated send buffer and one receive buffer per connection (``recv_into``),
one ``sendall`` per request, lease records decoded with precompiled ``struct``s, and the RELEASE that
ends a ``get`` is pipelined (its reply is read before the next reply, saving a round trip per get).
A reply is awaited by polling the socket without blocking for up to ``spin_us`` microseconds before
sleeping in ``poll``: the shard answers control messages in microseconds, and a process that sleeps
pays a scheduler wake-up per round trip (measured: PING p50 47 µs blocking vs 11–28 µs spinning on a
2-vCPU VM).
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import select
import socket
import struct
import time
from typing import NamedTuple

from . import protocol as p

#: Largest reply accepted before HELLO announces the shard's frame limit (the config maximum).
_MAX_ANY_FRAME = 64 * 1024 * 1024
_HELLO_BUFFER = 64 * 1024
# A connection quiet for longer than this is checked before its next request: the shard may have
# closed it for idleness (--kv.idle-timeout), and then the client reconnects (see _revive_if_idle_closed).
_IDLE_CHECK_NS = 250_000_000


class Lease(NamedTuple):
    """One lease from LOOKUP or ALLOC. ``view`` is a writable memoryview of the block's bytes in the
    slab (``None`` when ``status`` is not OK); do not touch it after the lease ended."""

    lease_id: int
    slab: int
    offset: int
    length: int
    status: int
    view: memoryview | None


class Lookup(NamedTuple):
    hits: int
    leases: list[Lease]
    #: How many of the hits the shard fetched from other agents for this call (LOOKUP_REMOTE).
    remote_hits: int = 0


#: What HELLO announced (session id, lease TTL, limits, slot size, slab size and paths).
Session = p.HelloReply


ZERO_SEED = bytes(p.KEY_BYTES)


def chain_keys(blocks, seed: bytes = ZERO_SEED) -> list[bytes]:
    """Chained block keys: ``k_i = sha256(k_(i-1) ‖ block_i)[:16]`` with ``k_(-1) = seed``.

    ``blocks`` are the bytes that identify each block (``token_block_bytes`` for token ids, so that
    every client agrees; see ``chain_keys_for_tokens``). The seed is a 16-byte key
    (16 zero bytes by default); passing the last key of a chain continues that chain. The TypeScript
    client's ``chainKeys`` computes the same keys.
    """
    if len(seed) != p.KEY_BYTES:
        raise ValueError(f'a chain seed is a {p.KEY_BYTES}-byte key, got {len(seed)} bytes')
    out = []
    prev = bytes(seed)
    for block in blocks:
        h = hashlib.sha256(prev)
        h.update(block)
        prev = h.digest()[: p.KEY_BYTES]
        out.append(prev)
    return out


def token_block_bytes(tokens) -> bytes:
    """The bytes that stand for one block of token ids in its key (docs/kv-protocol.md §7): each id
    as an unsigned 32-bit little-endian integer, in order."""
    try:
        return struct.pack(f'<{len(tokens)}I', *tokens)
    except struct.error:
        bad = next((t for t in tokens if not isinstance(t, int) or not 0 <= t <= 0xFFFFFFFF), None)
        raise ValueError(f'token id {bad!r} is not an integer in 0..4294967295') from None


def chain_keys_for_tokens(tokens, block_tokens: int, seed: bytes = ZERO_SEED) -> list[bytes]:
    """Keys of the full blocks of a token sequence, ``block_tokens`` ids per block (an incomplete tail
    has no key). The TypeScript client's ``chainKeysForTokens`` computes the same keys."""
    if not isinstance(block_tokens, int) or block_tokens < 1:
        raise ValueError(f'tokens per block must be a positive integer, got {block_tokens!r}')
    n = len(tokens) // block_tokens
    return chain_keys([token_block_bytes(tokens[b * block_tokens : (b + 1) * block_tokens]) for b in range(n)], seed)


def _byte_view(buf) -> memoryview:
    """A flat unsigned-byte view of any C-contiguous buffer (bytes, bytearray, array, mmap, …)."""
    mv = memoryview(buf)
    return mv if mv.format == 'B' and mv.ndim == 1 else mv.cast('B')


class KvClient:
    """One connection to the node KV shard, bound to ``namespace`` (HELLO is sent on construction).

    ``block_size`` and ``layout`` must match what the namespace was first opened with
    (else ``KvError`` with ``status_name == 'LAYOUT_MISMATCH'``). ``timeout`` bounds every socket wait,
    in seconds (``None``: wait forever). ``populate`` maps the slabs with ``MAP_POPULATE`` (page tables
    built at connect, so the first copy into a slot takes no faults) where the platform has it.
    ``spin_us`` is how long a reply is polled for before the client sleeps (0: never spin).
    A connection the shard closed for idleness (``--kv.idle-timeout``, only while it held no lease) is
    reopened with the same HELLO before the next request, so a quiet engine needs no keep-alive.
    """

    def __init__(
        self,
        socket_path: str,
        namespace: str,
        block_size: int,
        layout: str | bytes = '',
        timeout: float | None = 10.0,
        populate: bool = True,
        spin_us: int = 100,
    ) -> None:
        self.socket_path = socket_path
        self.namespace = namespace
        self.block_size = block_size
        self._sock: socket.socket | None = None
        self._maps: list[mmap.mmap] = []
        self._views: list[memoryview] = []
        self._rid = 0
        self._deferred_rid = 0
        self._send = bytearray(_HELLO_BUFFER)
        self._recv = bytearray(_HELLO_BUFFER)
        self._recv_mv = memoryview(self._recv)
        self._rbeg = 0
        self._rend = 0
        self._reply_limit = _MAX_ANY_FRAME
        self._timeout = timeout
        self._timeout_ms = -1 if timeout is None else max(0, int(timeout * 1000))
        self._spin_ns = max(0, spin_us) * 1000
        self._layout = layout
        self._populate = populate
        self._connect()
        try:
            self.session = self._hello(namespace, layout, block_size)
            self._map_slabs(self.session, populate)
        except BaseException:
            self.close()
            raise

    def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self._timeout)
        try:
            sock.connect(self.socket_path)
        except OSError as e:
            sock.close()
            raise p.KvConnectError(self.socket_path, e.strerror or str(e)) from None
        # Blocking mode without a Python-level timeout: recv_into(MSG_DONTWAIT) then returns at once
        # (a timeout socket polls before every call). Replies are bounded by poll() below, sends by
        # SO_SNDTIMEO.
        sock.settimeout(None)
        timeout = self._timeout
        if timeout is not None:
            sec = int(timeout)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack('ll', sec, int((timeout - sec) * 1e6)))
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        self._sock = sock
        self._rbeg = self._rend = 0
        self._deferred_rid = 0
        self._last_reply_ns = time.monotonic_ns()

    def _revive_if_idle_closed(self) -> None:
        """After a quiet spell, reconnects if the shard closed this connection for idleness.

        The shard closes a connection idle for ``--kv.idle-timeout`` only when it holds no lease, so
        nothing is lost: a new connection with the same HELLO takes over (slabs are remapped only if
        the agent restarted in between). Anything else waiting on the socket is left to the caller."""
        sock = self._sock
        if sock is None:
            return
        try:
            peeked = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return  # open, nothing pending
        except OSError:
            peeked = b''  # reset by the peer: closed as well
        if peeked:
            return
        old = self.session
        sock.close()
        self._sock = None
        self._connect()
        try:
            self.session = self._hello(self.namespace, self._layout, self.block_size)
            if list(self.session.slabs) != list(old.slabs) or self.session.slab_size != old.slab_size:
                self._unmap()
                self._map_slabs(self.session, self._populate)
        except BaseException:
            self.close()
            raise

    # ── lifecycle ──

    def __enter__(self) -> 'KvClient':
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._sock is None

    def close(self) -> None:
        """Closes the connection (the shard ends all its leases) and unmaps the slabs. Idempotent."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._unmap()

    def _unmap(self) -> None:
        for v in self._views:
            v.release()
        self._views = []
        for m in self._maps:
            try:
                m.close()
            except BufferError:
                pass  # a lease view handed out is still alive; the mapping goes with it
        self._maps = []

    def slab_views(self) -> list[memoryview]:
        """The mapped slabs, one writable view each, in slab order (a lease's ``slab`` indexes this list).

        For engines that page-lock the shard once (``cudaHostRegister`` of each view's address) so that
        device copies into and out of lease views run at pinned-memory speed."""
        return list(self._views)

    def fileno(self) -> int:
        return -1 if self._sock is None else self._sock.fileno()

    # ── control operations ──

    def ping(self) -> None:
        self._call(p.PING, p.HEADER_BYTES)

    def stats(self) -> dict:
        """The shard summary (capacity, bytes by state, leases, …) plus ``namespace`` for this connection."""
        return json.loads(p.decode_json_text(self._call(p.STATS, p.HEADER_BYTES)))

    def exists(self, keys) -> int:
        """Length of the longest sealed prefix of the chain ``keys``; nothing is pinned."""
        body = self._call(p.EXISTS, self._pack_keys(keys))
        if len(body) != 4:
            raise self._broken(p.ProtocolError(f'EXISTS reply is {len(body)} bytes, expected 4'))
        return p.U32.unpack_from(body, 0)[0]

    @property
    def remote_read(self) -> bool:
        """Whether the shard serves LOOKUP_REMOTE (``remote_budget_ms=`` of lookup/get reads other agents' blocks)."""
        return bool(self.session.features & p.FEATURE_REMOTE_READ)

    def lookup(self, keys, remote_budget_ms: int | None = None, fetch_all: bool = False) -> Lookup:
        """Longest sealed prefix of ``keys``, one read lease per hit (``RELEASE`` them when done).

        With ``remote_budget_ms`` (0 = the agent's ``--kv.remote-budget``, at most 60000) the shard may
        first fetch the part of the chain its node lacks from other agents, within that many ms;
        ``remote_hits`` says how many of the hits came from them. The agent fetches only a long enough
        gap (``--kv.remote-min-blocks``, ``--kv.remote-min-percent``) unless ``fetch_all`` is set: then
        every missing block that has a holder, for callers that know recomputing costs more. A shard
        that does not serve LOOKUP_REMOTE gets a plain LOOKUP; one that serves it without the flag
        raises (``UNSUPPORTED``) rather than ignore ``fetch_all``."""
        body, remote = self._lookup_body(keys, remote_budget_ms, fetch_all)
        return Lookup(self._record_count(body), self._leases(body), remote)

    def _lookup_body(self, keys, remote_budget_ms: int | None, fetch_all: bool = False):
        """(LOOKUP-shaped reply body, blocks fetched from other agents)."""
        if remote_budget_ms is None or not self.remote_read:
            return self._call(p.LOOKUP, self._pack_keys(keys)), 0
        if fetch_all and not self.session.features & p.FEATURE_REMOTE_FETCH_ALL:
            raise p.KvError('KV shard refused LOOKUP_REMOTE: UNSUPPORTED (this shard predates the FETCH_ALL flag; upgrade the agent)', op=p.LOOKUP_REMOTE)
        self._check_batch(len(keys))
        end = p.HEADER_BYTES + 8 + len(keys) * p.KEY_BYTES
        if end > len(self._send):
            raise p.ProtocolError(f'request of {end} bytes exceeds the frame limit of {len(self._send)}', p.FRAME_TOO_LARGE)
        flags = p.LOOKUP_REMOTE_FETCH_ALL if fetch_all else 0
        body = self._call(p.LOOKUP_REMOTE, p.pack_lookup_remote_into(self._send, p.HEADER_BYTES, keys, remote_budget_ms, flags))
        if len(body) < 8:
            raise self._broken(p.ProtocolError(f'LOOKUP_REMOTE reply is {len(body)} bytes, at least 8 expected'))
        remote = p.U32.unpack_from(body, 4)[0]
        # The LOOKUP shape: the count, then the records (a copy: small, and the view dies at the next request).
        return memoryview(bytes(body[0:4]) + bytes(body[8:])), remote

    def alloc(self, keys, lengths, parent: bytes | None = None, independent: bool = False) -> list[Lease]:
        """Write leases, one per key in order; write ``lease.view`` then ``seal`` (or ``drop``)."""
        body = self._call(p.ALLOC, self._pack_alloc(keys, lengths, parent, independent))
        if self._record_count(body) != len(keys):
            raise self._broken(p.ProtocolError(f'ALLOC reply has {self._record_count(body)} records for {len(keys)} keys'))
        return self._leases(body)

    def seal(self, ids) -> list[int]:
        return self._ids_op(p.SEAL, ids)

    def drop(self, ids) -> list[int]:
        return self._ids_op(p.DROP, ids)

    def release(self, ids) -> list[int]:
        return self._ids_op(p.RELEASE, ids)

    # ── data helpers ──

    def put(self, keys, blocks, parent: bytes | None = None, independent: bool = False) -> list[int]:
        """Stores ``blocks`` under ``keys`` (ALLOC → copy into the slots → SEAL).

        Returns one item status per key: ``ITEM_OK`` (stored), ``ITEM_EXISTS`` (already cached, skipped),
        or why it was not stored (BUSY, FULL, QUOTA, BAD_LENGTH, DUPLICATE, NO_PARENT, UNKNOWN_LEASE if the lease
        expired before SEAL).
        """
        n = len(keys)
        if len(blocks) != n:
            raise ValueError(f'put needs one block per key ({n} keys, {len(blocks)} blocks)')
        srcs = [_byte_view(b) for b in blocks]
        body = self._call(p.ALLOC, self._pack_alloc(keys, [len(s) for s in srcs], parent, independent))
        if self._record_count(body) != n:
            raise self._broken(p.ProtocolError(f'ALLOC reply has {self._record_count(body)} records for {n} keys'))
        statuses = [0] * n
        ids: list[int] = []
        where: list[int] = []
        unpack = p.LEASE_RECORD.unpack_from
        views = self._views
        try:
            for i in range(n):
                lease_id, slab, off, length, status = unpack(body, 4 + i * p.LEASE_RECORD_BYTES)
                statuses[i] = status
                if status == p.ITEM_OK:
                    ids.append(lease_id)
                    where.append(i)
            # Every OK lease is known before the first copy, so a failure drops all of them.
            for i in where:
                lease_id, slab, off, length, _ = unpack(body, 4 + i * p.LEASE_RECORD_BYTES)
                views[slab][off : off + length] = srcs[i]
        except BaseException:
            if ids and self._sock is not None:
                self.drop(ids)
            raise
        if ids:
            sealed = self._ids_op(p.SEAL, ids)
            for i, s in zip(where, sealed):
                statuses[i] = s
        return statuses

    def get(self, keys, remote_budget_ms: int | None = None, fetch_all: bool = False) -> list[bytes]:
        """The cached blocks of the longest sealed prefix of ``keys``, copied out (LOOKUP → copy → RELEASE);
        ``remote_budget_ms`` and ``fetch_all`` as in :meth:`lookup`."""
        body, _ = self._lookup_body(keys, remote_budget_ms, fetch_all)
        hits = self._record_count(body)
        unpack = p.LEASE_RECORD.unpack_from
        views = self._views
        out = []
        ids = [0] * hits
        for i in range(hits):
            lease_id, slab, off, length, _ = unpack(body, 4 + i * p.LEASE_RECORD_BYTES)
            ids[i] = lease_id
            out.append(views[slab][off : off + length].tobytes())
        if hits:
            self._release_deferred(ids)
        return out

    def get_into(self, keys, buffers, remote_budget_ms: int | None = None, fetch_all: bool = False) -> int:
        """Copies the longest sealed prefix of ``keys`` straight into ``buffers[i]`` (writable, each at
        least as long as its block; e.g. an engine's pinned staging buffers). Returns the hit count;
        block ``i`` fills ``buffers[i][:length]``. ``remote_budget_ms`` and ``fetch_all`` as in :meth:`lookup`."""
        body, _ = self._lookup_body(keys, remote_budget_ms, fetch_all)
        hits = self._record_count(body)
        unpack = p.LEASE_RECORD.unpack_from
        views = self._views
        ids = [0] * hits
        for i in range(hits):
            ids[i] = unpack(body, 4 + i * p.LEASE_RECORD_BYTES)[0]
        try:
            for i in range(hits):
                _, slab, off, length, _ = unpack(body, 4 + i * p.LEASE_RECORD_BYTES)
                dst = buffers[i]
                if not isinstance(dst, bytearray):
                    dst = _byte_view(dst)
                if len(dst) < length:
                    raise ValueError(f'buffer {i} holds {len(dst)} bytes; block is {length}')
                dst[:length] = views[slab][off : off + length]
        finally:
            if hits and self._sock is not None:
                self._release_deferred(ids)
        return hits

    # ── internals ──

    def _hello(self, namespace: str, layout: str, block_size: int) -> Session:
        hello = p.encode_hello(namespace, layout, block_size)
        end = p.HEADER_BYTES + len(hello)
        self._send[p.HEADER_BYTES : end] = hello
        h = p.decode_hello_reply(self._call(p.HELLO, end))
        session = h
        self._send = bytearray(max(h.max_frame, p.HEADER_BYTES + 64))
        if len(self._recv) < h.max_frame:
            self._grow_recv(h.max_frame)
        self._reply_limit = max(h.max_frame, p.HEADER_BYTES + 64)
        return session

    def _map_slabs(self, s: Session, populate: bool) -> None:
        flags = mmap.MAP_SHARED | (getattr(mmap, 'MAP_POPULATE', 0) if populate else 0)
        for path in s.slabs:
            fd = os.open(path, os.O_RDWR)
            try:
                m = mmap.mmap(fd, s.slab_size, flags=flags, prot=mmap.PROT_READ | mmap.PROT_WRITE)
            finally:
                os.close(fd)
            self._maps.append(m)
            self._views.append(memoryview(m))

    def _grow_recv(self, size: int) -> None:
        old = self._recv
        self._recv_mv.release()
        self._recv = bytearray(size)
        self._recv[: self._rend - self._rbeg] = old[self._rbeg : self._rend]
        self._rend -= self._rbeg
        self._rbeg = 0
        self._recv_mv = memoryview(self._recv)

    def _check_batch(self, n: int) -> None:
        if n > self.session.max_batch:
            raise p.KvError(f'{n} keys or leases exceed the batch limit of {self.session.max_batch}', status=p.BATCH_TOO_LARGE)

    def _pack_keys(self, keys) -> int:
        self._check_batch(len(keys))
        end = p.HEADER_BYTES + p.keys_body_size(len(keys))
        if end > len(self._send):
            raise p.ProtocolError(f'request of {end} bytes exceeds the frame limit of {len(self._send)}', p.FRAME_TOO_LARGE)
        return p.pack_keys_into(self._send, p.HEADER_BYTES, keys)

    def _pack_alloc(self, keys, lengths, parent, independent) -> int:
        self._check_batch(len(keys))
        end = p.HEADER_BYTES + p.alloc_body_size(len(keys), parent is not None)
        if end > len(self._send):
            raise p.ProtocolError(f'request of {end} bytes exceeds the frame limit of {len(self._send)}', p.FRAME_TOO_LARGE)
        return p.pack_alloc_into(self._send, p.HEADER_BYTES, keys, lengths, parent, independent)

    def _pack_ids(self, ids) -> int:
        self._check_batch(len(ids))
        ids = [i if isinstance(i, int) else i.lease_id for i in ids]
        end = p.HEADER_BYTES + p.ids_body_size(len(ids))
        if end > len(self._send):
            raise p.ProtocolError(f'request of {end} bytes exceeds the frame limit of {len(self._send)}', p.FRAME_TOO_LARGE)
        return p.pack_ids_into(self._send, p.HEADER_BYTES, ids)

    def _ids_op(self, op: int, ids) -> list[int]:
        body = self._call(op, self._pack_ids(ids))
        try:
            statuses = p.decode_item_statuses(body)
        except p.ProtocolError as e:
            raise self._broken(e) from None
        if len(statuses) != len(ids):
            raise self._broken(p.ProtocolError(f'{p.op_name(op)} reply has {len(statuses)} statuses for {len(ids)} leases'))
        return statuses

    def _release_deferred(self, ids: list[int]) -> None:
        """Sends RELEASE now and reads its reply before the next one (its item statuses are not needed:
        a lease that already expired is already released)."""
        self._deferred_rid = self._send_request(p.RELEASE, self._pack_ids(ids))

    def _record_count(self, body: memoryview) -> int:
        try:
            return p.check_lease_records(body)
        except p.ProtocolError as e:
            raise self._broken(e) from None

    def _leases(self, body: memoryview) -> list[Lease]:
        out = []
        views = self._views
        for i in range(p.U32.unpack_from(body, 0)[0]):
            lease_id, slab, off, length, status = p.LEASE_RECORD.unpack_from(body, 4 + i * p.LEASE_RECORD_BYTES)
            view = None
            if status == p.ITEM_OK:
                if slab >= len(views) or off + length > self.session.slab_size:
                    raise self._broken(p.ProtocolError(f'lease {lease_id} names slab {slab} [{off}, {off + length}) outside the mapped slabs'))
                view = views[slab][off : off + length]
            out.append(Lease(lease_id, slab, off, length, status, view))
        return out

    def _send_request(self, op: int, end: int) -> int:
        if self._sock is not None and time.monotonic_ns() - self._last_reply_ns > _IDLE_CHECK_NS:
            # The request is already staged in the send buffer, which a reconnect's HELLO reuses.
            staged = bytes(self._send[:end])
            self._revive_if_idle_closed()
            self._send[:end] = staged
        sock = self._sock
        if sock is None:
            raise p.KvConnectError(self.socket_path, 'the connection is closed')
        self._rid = (self._rid + 1) & 0xFFFFFFFF or 1
        p.pack_header(self._send, end, op, self._rid)
        try:
            sock.sendall(memoryview(self._send)[:end])
        except BlockingIOError:
            raise self._broken(p.KvConnectError(self.socket_path, f'send {p.op_name(op)}: not accepted within {self._timeout} s')) from None
        except OSError as e:
            refusal = self._refusal_waiting(op)
            raise self._broken(refusal or p.KvConnectError(self.socket_path, f'send {p.op_name(op)}: {e.strerror or e}')) from None
        return self._rid

    def _refusal_waiting(self, op: int) -> 'p.KvError | None':
        """The frame a shard sent just before it closed the connection a send then hit (broken pipe).

        A shard that refuses a connection at accept (TOO_MANY_CONNECTIONS, NOT_ALLOWED, SHUTTING_DOWN)
        writes one unsolicited frame and closes; when the close wins the race with HELLO, the frame is
        still readable and names the reason, which a broken pipe would not."""
        sock = self._sock
        if sock is None:
            return None
        try:
            data = sock.recv(p.HEADER_BYTES + 2048, socket.MSG_DONTWAIT)
        except OSError:
            return None
        if len(data) < p.HEADER_BYTES:
            return None
        try:
            h = p.unpack_header(data, len(data))
        except p.ProtocolError:
            return None
        if h.status == p.OK or h.length > len(data):
            return None
        return p.KvError.refused(op, h.status, p.decode_error(memoryview(data)[p.HEADER_BYTES : h.length]))

    def _call(self, op: int, end: int) -> memoryview:
        """Sends the request staged in the send buffer (body at [16:end]) and returns the reply body,
        a view valid until the next request."""
        rid = self._send_request(op, end)
        if self._deferred_rid:
            deferred, self._deferred_rid = self._deferred_rid, 0
            self._read_reply(p.RELEASE, deferred)
        return self._read_reply(op, rid)

    def _read_reply(self, op: int, rid: int) -> memoryview:
        sock = self._sock
        assert sock is not None
        # Move a pipelined leftover to the front of the buffer.
        if self._rbeg:
            n = self._rend - self._rbeg
            self._recv[:n] = self._recv_mv[self._rbeg : self._rend]
            self._rbeg, self._rend = 0, n
        try:
            while self._rend < p.HEADER_BYTES:
                self._recv_some(sock)
            h = p.unpack_header(self._recv, self._reply_limit)
            if h.length > len(self._recv):
                self._grow_recv(h.length)
            while self._rend < h.length:
                self._recv_some(sock)
        except p.ProtocolError as e:
            raise self._broken(e) from None
        body = self._recv_mv[p.HEADER_BYTES : h.length]
        if h.length < self._rend:
            self._rbeg = h.length
        else:
            self._rbeg = self._rend = 0
        if h.status != p.OK:
            # A frame the shard could not parse is answered with op 0x80 and request id 0.
            err = p.KvError.refused(op, h.status, p.decode_error(body))
            if h.status in p.CLOSING_STATUSES:
                raise self._broken(err)
            raise err
        if h.op != (op | p.REPLY_BIT) or h.request_id != rid:
            raise self._broken(p.ProtocolError(f'reply {p.op_name(h.op)} #{h.request_id} does not answer {p.op_name(op)} #{rid}'))
        self._last_reply_ns = time.monotonic_ns()
        return body

    def _recv_some(self, sock: socket.socket) -> None:
        """Receives what has arrived: polls without blocking for up to spin_us, then sleeps in poll()."""
        dst = self._recv_mv[self._rend :] if self._rend else self._recv
        spin_until = 0
        while True:
            try:
                n = sock.recv_into(dst, 0, socket.MSG_DONTWAIT)
                break
            except BlockingIOError:
                pass
            except OSError as e:
                raise self._broken(p.KvConnectError(self.socket_path, f'receive: {e.strerror or e}')) from None
            if self._spin_ns:
                t = time.perf_counter_ns()
                if spin_until == 0:
                    spin_until = t + self._spin_ns
                if t < spin_until:
                    continue
            if not self._poll.poll(self._timeout_ms):
                raise self._broken(p.KvConnectError(self.socket_path, f'no reply within {self._timeout} s'))
        if n == 0:
            raise self._broken(p.KvConnectError(self.socket_path, 'the shard closed the connection'))
        self._rend += n

    def _broken(self, err: p.KvError) -> p.KvError:
        """The stream can no longer be trusted: close the connection, return ``err`` to raise."""
        self.close()
        return err
