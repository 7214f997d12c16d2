"""Frames of the brixlet KV shard protocol, version 2 (docs/kv-protocol.md is the normative text).

Pure encoding and decoding with ``struct``: no sockets here. Every integer is little-endian; a frame is
a 16-byte header (length, magic, version, op, request id, status, reserved) and an op-shaped body.
Encoders write into caller-owned ``bytearray`` buffers so a client can reuse one buffer per connection.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

MAGIC = 0x4B42
#: Version 2 added the NO_PARENT item status (a chain stops at its first failed item; SEAL needs the
#: parent sealed). The header and the error body are the same in every version.
VERSION = 2
HEADER_BYTES = 16
KEY_BYTES = 16
LEASE_RECORD_BYTES = 24
REPLY_BIT = 0x80
MAX_NAME_BYTES = 255

# ── ops ──
HELLO = 0x01
LOOKUP = 0x02
EXISTS = 0x03
ALLOC = 0x04
SEAL = 0x05
DROP = 0x06
RELEASE = 0x07
STATS = 0x08
PING = 0x09
#: LOOKUP that may first fetch the chain's missing blocks from other agents of the pool.
LOOKUP_REMOTE = 0x0A

#: HELLO reply ``features`` bit: the shard serves LOOKUP_REMOTE.
FEATURE_REMOTE_READ = 1
#: HELLO reply ``features`` bit: the shard honours LOOKUP_REMOTE's flags (an older one reads them as budget).
FEATURE_REMOTE_FETCH_ALL = 2
#: LOOKUP_REMOTE flag: fetch every missing block that has a holder, whatever the agent's thresholds.
LOOKUP_REMOTE_FETCH_ALL = 1
#: The longest LOOKUP_REMOTE budget (ms): the agent's --kv.remote-budget-max is at most 1 min.
MAX_REMOTE_BUDGET_MS = 60000

OP_NAMES = {
    HELLO: 'HELLO',
    LOOKUP: 'LOOKUP',
    EXISTS: 'EXISTS',
    ALLOC: 'ALLOC',
    SEAL: 'SEAL',
    DROP: 'DROP',
    RELEASE: 'RELEASE',
    STATS: 'STATS',
    PING: 'PING',
    LOOKUP_REMOTE: 'LOOKUP_REMOTE',
}

# ── frame statuses (reply header) ──
OK = 0
BAD_FRAME = 1
BAD_VERSION = 2
UNKNOWN_OP = 3
FRAME_TOO_LARGE = 4
NO_HELLO = 5
BAD_HELLO = 6
LAYOUT_MISMATCH = 7
BATCH_TOO_LARGE = 8
TOO_MANY_LEASES = 9
TOO_MANY_NAMESPACES = 10
SHUTTING_DOWN = 11
INTERNAL = 12
#: Sent once, unsolicited (request id 0), to a peer the pool's allow lists refuse; then closed.
NOT_ALLOWED = 13
#: Sent once, unsolicited, when the peer's uid already holds --kv.max-connections-per-uid; then closed.
TOO_MANY_CONNECTIONS = 14

STATUS_NAMES = {
    OK: 'OK',
    BAD_FRAME: 'BAD_FRAME',
    BAD_VERSION: 'BAD_VERSION',
    UNKNOWN_OP: 'UNKNOWN_OP',
    FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
    NO_HELLO: 'NO_HELLO',
    BAD_HELLO: 'BAD_HELLO',
    LAYOUT_MISMATCH: 'LAYOUT_MISMATCH',
    BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
    TOO_MANY_LEASES: 'TOO_MANY_LEASES',
    TOO_MANY_NAMESPACES: 'TOO_MANY_NAMESPACES',
    SHUTTING_DOWN: 'SHUTTING_DOWN',
    INTERNAL: 'INTERNAL',
    NOT_ALLOWED: 'NOT_ALLOWED',
    TOO_MANY_CONNECTIONS: 'TOO_MANY_CONNECTIONS',
}

#: Statuses after which the shard closes the connection.
CLOSING_STATUSES = frozenset({BAD_FRAME, BAD_VERSION, UNKNOWN_OP, FRAME_TOO_LARGE, SHUTTING_DOWN, INTERNAL, NOT_ALLOWED, TOO_MANY_CONNECTIONS})

# ── per-item statuses (ALLOC records, SEAL/DROP/RELEASE replies) ──
ITEM_OK = 0
ITEM_EXISTS = 1
ITEM_BUSY = 2
ITEM_FULL = 3
ITEM_QUOTA = 4
ITEM_BAD_LENGTH = 5
ITEM_UNKNOWN_LEASE = 6
ITEM_DUPLICATE = 7
ITEM_NO_PARENT = 8

ITEM_STATUS_NAMES = {
    ITEM_OK: 'OK',
    ITEM_EXISTS: 'EXISTS',
    ITEM_BUSY: 'BUSY',
    ITEM_FULL: 'FULL',
    ITEM_QUOTA: 'QUOTA',
    ITEM_BAD_LENGTH: 'BAD_LENGTH',
    ITEM_UNKNOWN_LEASE: 'UNKNOWN_LEASE',
    ITEM_DUPLICATE: 'DUPLICATE',
    ITEM_NO_PARENT: 'NO_PARENT',
}

# ── ALLOC flags ──
ALLOC_PARENT = 1
ALLOC_INDEPENDENT = 2

HEADER = struct.Struct('<IHBBIHH')
U16 = struct.Struct('<H')
U32 = struct.Struct('<I')
KEY_LENGTH = struct.Struct('<16sI')
LEASE_RECORD = struct.Struct('<IIQIB3x')
HELLO_REPLY_FIXED = struct.Struct('<IIIIIHHQ')


def op_name(op: int) -> str:
    base = op & ~REPLY_BIT
    return OP_NAMES.get(base, f'0x{op:02x}')


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f'STATUS_{status}')


def item_status_name(status: int) -> str:
    return ITEM_STATUS_NAMES.get(status, f'ITEM_{status}')


class KvError(Exception):
    """A request the shard refused, or a failure talking to it.

    ``code`` is the brixlet error-catalog code (the TypeScript client raises the same ones);
    ``status`` is the frame status number when the shard answered one, ``status_name`` its name.
    """

    code = 'BRX_ERR_KV_PROTOCOL'

    def __init__(self, message: str, *, op: int | None = None, status: int | None = None, detail: str = '') -> None:
        super().__init__(message)
        self.op = op
        self.status = status
        self.detail = detail

    @property
    def status_name(self) -> str | None:
        return None if self.status is None else status_name(self.status)

    @property
    def op_name(self) -> str | None:
        return None if self.op is None else op_name(self.op)

    @classmethod
    def refused(cls, op: int, status: int, detail: str) -> 'KvError':
        """The shard answered `status` to `op` (the message mirrors BRX_ERR_KV_PROTOCOL)."""
        return cls(f'KV shard refused {op_name(op)}: {status_name(status)} ({detail})', op=op, status=status, detail=detail)


class ProtocolError(KvError):
    """Bytes that do not follow the protocol (a malformed frame, or a request this client cannot encode)."""

    def __init__(self, message: str, status: int = BAD_FRAME) -> None:
        super().__init__(message, status=status, detail=message)


class KvConnectError(KvError):
    """The shard's socket cannot be reached, or the connection ended (BRX_ERR_KV_CONNECT)."""

    code = 'BRX_ERR_KV_CONNECT'

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f'cannot reach the KV shard at {path}: {reason}', detail=reason)
        self.path = path
        self.reason = reason


def connection_ended(e: BaseException) -> bool:
    """True when ``e`` says this connection is over but the shard may serve a new one: the socket
    closed or broke, or the agent answered SHUTTING_DOWN (it is stopping; a restarted agent listens
    on the same socket). A caller replaces the connection once before it calls the shard down."""
    return isinstance(e, KvConnectError) or (isinstance(e, KvError) and getattr(e, 'status', None) == SHUTTING_DOWN)


class Header(NamedTuple):
    length: int
    op: int
    request_id: int
    status: int


class HelloReply(NamedTuple):
    session_id: int
    lease_ttl_ms: int
    max_batch: int
    max_frame: int
    slot_size: int
    slab_size: int
    slabs: tuple[str, ...]
    #: FEATURE_* bits (0 from a shard that predates them).
    features: int = 0


class LeaseRecord(NamedTuple):
    lease_id: int
    slab: int
    offset: int
    length: int
    status: int


def pack_header(buf: bytearray, length: int, op: int, request_id: int, status: int = 0) -> None:
    """Writes a 16-byte header at ``buf[0:16]``."""
    HEADER.pack_into(buf, 0, length, MAGIC, VERSION, op, request_id & 0xFFFFFFFF, status, 0)


def frame(op: int, request_id: int, body: bytes = b'', status: int = 0) -> bytes:
    """One whole frame as bytes (tests and tools; the client encodes in place)."""
    out = bytearray(HEADER_BYTES + len(body))
    pack_header(out, len(out), op, request_id, status)
    out[HEADER_BYTES:] = body
    return bytes(out)


def unpack_header(buf, max_frame: int) -> Header:
    """Validates and reads a header from the first 16 bytes of ``buf``."""
    length, magic, version, op, request_id, status, _ = HEADER.unpack_from(buf, 0)
    if magic != MAGIC:
        raise ProtocolError(f'bad magic 0x{magic:04x} (expected 0x{MAGIC:04x})')
    if version != VERSION:
        raise ProtocolError(
            f'the KV shard speaks protocol version {version}, this client speaks {VERSION}: '
            "use the brixlet_kv of the agent's brixlet release",
            BAD_VERSION,
        )
    if length < HEADER_BYTES:
        raise ProtocolError(f'frame length {length} is shorter than the header')
    if length > max_frame:
        raise ProtocolError(f'frame length {length} exceeds the limit of {max_frame} bytes', FRAME_TOO_LARGE)
    return Header(length, op, request_id, status)


def _name_bytes(text, what: str) -> bytes:
    b = text.encode('utf-8') if isinstance(text, str) else bytes(text)
    if len(b) > MAX_NAME_BYTES:
        raise ProtocolError(f'{what} is {len(b)} bytes; at most {MAX_NAME_BYTES}', BAD_HELLO)
    return b


def encode_hello(namespace: str, layout, block_size: int) -> bytes:
    """``layout`` is text (sent as UTF-8) or bytes; the shard compares signatures byte for byte."""
    ns = _name_bytes(namespace, 'namespace')
    sig = _name_bytes(layout, 'layout signature')
    return bytes([len(ns)]) + ns + bytes([len(sig)]) + sig + struct.pack('<II', block_size, 0)


def decode_hello(body) -> tuple[str, bytes, int]:
    """(namespace, layout signature bytes, block size) from a HELLO request body (BAD_HELLO for flags
    other than 0 or a namespace that is not valid UTF-8, as the shard answers)."""
    r = _Reader(body)
    ns = r.bytes(r.u8('namespace length'), 'namespace')
    sig = r.bytes(r.u8('layout length'), 'layout signature')
    block_size = r.u32('block size')
    flags = r.u32('flags')
    r.end()
    if flags:
        raise ProtocolError(f'unknown HELLO flags 0x{flags:x}', BAD_HELLO)
    try:
        return ns.decode('utf-8'), sig, block_size
    except UnicodeDecodeError:
        raise ProtocolError('namespace is not valid UTF-8', BAD_HELLO) from None


def encode_hello_reply(h: HelloReply) -> bytes:
    out = bytearray(HELLO_REPLY_FIXED.pack(h.session_id, h.lease_ttl_ms, h.max_batch, h.max_frame, h.slot_size, len(h.slabs), h.features, h.slab_size))
    for path in h.slabs:
        p = path.encode('utf-8')
        out += U16.pack(len(p)) + p
    return bytes(out)


def decode_hello_reply(body) -> HelloReply:
    r = _Reader(body)
    session_id, ttl, max_batch, max_frame, slot_size, count, features, slab_size = r.struct(HELLO_REPLY_FIXED, 'hello reply')
    slabs = tuple(r.bytes(r.u16('slab path length'), 'slab path').decode('utf-8') for _ in range(count))
    r.end()
    return HelloReply(session_id, ttl, max_batch, max_frame, slot_size, slab_size, slabs, features)


def _check_key(key) -> None:
    if len(key) != KEY_BYTES:
        raise ProtocolError(f'a key is {KEY_BYTES} bytes, got {len(key)}')


def pack_keys_into(buf: bytearray, at: int, keys) -> int:
    """``u32 n`` then the keys at ``buf[at:]``; returns the end offset."""
    U32.pack_into(buf, at, len(keys))
    p = at + 4
    for k in keys:
        _check_key(k)
        buf[p : p + KEY_BYTES] = k
        p += KEY_BYTES
    return p


def pack_lookup_remote_into(buf: bytearray, at: int, keys, budget_ms: int, flags: int = 0) -> int:
    """A LOOKUP_REMOTE body (``u32 n``, ``u16 budget ms`` clipped to 0…60000, ``u16 flags``, the keys)
    at ``buf[at:]``; returns the end offset."""
    U32.pack_into(buf, at, len(keys))
    struct.pack_into('<HH', buf, at + 4, max(0, min(MAX_REMOTE_BUDGET_MS, int(budget_ms))), flags & 0xFFFF)
    p = at + 8
    for k in keys:
        _check_key(k)
        buf[p : p + KEY_BYTES] = k
        p += KEY_BYTES
    return p


def keys_body_size(n: int) -> int:
    return 4 + n * KEY_BYTES


def pack_alloc_into(buf: bytearray, at: int, keys, lengths, parent=None, independent: bool = False) -> int:
    """ALLOC body at ``buf[at:]``: ``u32 n, u32 flags, [parent], n × (key, u32 length)``; returns the end offset."""
    if len(keys) != len(lengths):
        raise ProtocolError(f'ALLOC needs one length per key ({len(keys)} keys, {len(lengths)} lengths)')
    flags = (ALLOC_PARENT if parent is not None else 0) | (ALLOC_INDEPENDENT if independent else 0)
    struct.pack_into('<II', buf, at, len(keys), flags)
    p = at + 8
    if parent is not None:
        _check_key(parent)
        buf[p : p + KEY_BYTES] = parent
        p += KEY_BYTES
    for k, n in zip(keys, lengths):
        _check_key(k)
        buf[p : p + KEY_BYTES] = k
        U32.pack_into(buf, p + KEY_BYTES, n)
        p += KEY_BYTES + 4
    return p


def alloc_body_size(n: int, has_parent: bool) -> int:
    return 8 + (KEY_BYTES if has_parent else 0) + n * (KEY_BYTES + 4)


def decode_alloc(body) -> tuple[list[bytes], list[int], int, bytes | None]:
    """(keys, lengths, flags, parent) from an ALLOC request body."""
    r = _Reader(body)
    n = r.u32('key count')
    flags = r.u32('flags')
    if flags & ~(ALLOC_PARENT | ALLOC_INDEPENDENT):
        raise ProtocolError(f'unknown ALLOC flags 0x{flags:x}')
    parent = r.bytes(KEY_BYTES, 'parent key') if flags & ALLOC_PARENT else None
    keys, lengths = [], []
    for _ in range(n):
        k, length = r.struct(KEY_LENGTH, 'key and length')
        keys.append(k)
        lengths.append(length)
    r.end()
    return keys, lengths, flags, parent


def decode_keys(body) -> list[bytes]:
    r = _Reader(body)
    n = r.u32('key count')
    keys = [r.bytes(KEY_BYTES, 'key') for _ in range(n)]
    r.end()
    return keys


def pack_ids_into(buf: bytearray, at: int, ids) -> int:
    """SEAL/DROP/RELEASE body: ``u32 n, n × u32 lease id``; returns the end offset."""
    n = len(ids)
    struct.pack_into(f'<I{n}I', buf, at, n, *ids)
    return at + 4 + 4 * n


def ids_body_size(n: int) -> int:
    return 4 + 4 * n


def decode_ids(body) -> list[int]:
    r = _Reader(body)
    n = r.u32('lease count')
    ids = list(r.struct(struct.Struct(f'<{n}I'), 'lease ids'))
    r.end()
    return ids


def encode_lease_records(records) -> bytes:
    out = bytearray(U32.pack(len(records)))
    for rec in records:
        out += LEASE_RECORD.pack(*rec)
    return bytes(out)


def check_lease_records(body) -> int:
    """Validates a LOOKUP/ALLOC reply body and returns its record count (records follow at offset 4)."""
    if len(body) < 4:
        raise ProtocolError(f'truncated body: record count needs 4 bytes, body has {len(body)}')
    n = U32.unpack_from(body, 0)[0]
    if len(body) != 4 + n * LEASE_RECORD_BYTES:
        raise ProtocolError(f'{n} lease record(s) need {4 + n * LEASE_RECORD_BYTES} bytes, body has {len(body)}')
    return n


def decode_lease_records(body) -> list[LeaseRecord]:
    n = check_lease_records(body)
    return [LeaseRecord._make(LEASE_RECORD.unpack_from(body, 4 + i * LEASE_RECORD_BYTES)) for i in range(n)]


def encode_item_statuses(statuses) -> bytes:
    n = len(statuses)
    return U32.pack(n) + bytes(statuses) + bytes((4 - n % 4) % 4)


def decode_item_statuses(body) -> list[int]:
    if len(body) < 4:
        raise ProtocolError(f'truncated body: status count needs 4 bytes, body has {len(body)}')
    n = U32.unpack_from(body, 0)[0]
    want = 4 + ((n + 3) & ~3)
    if len(body) != want:
        raise ProtocolError(f'{n} item status(es) need {want} bytes, body has {len(body)}')
    return list(body[4 : 4 + n])


def encode_u32(v: int) -> bytes:
    return U32.pack(v)


def decode_u32(body, what: str) -> int:
    r = _Reader(body)
    v = r.u32(what)
    r.end()
    return v


def encode_json_body(text: str) -> bytes:
    b = text.encode('utf-8')
    return U32.pack(len(b)) + b


def decode_json_text(body) -> str:
    r = _Reader(body)
    text = r.bytes(r.u32('json length'), 'json').decode('utf-8')
    r.end()
    return text


def encode_error(message: str) -> bytes:
    m = message[:1000].encode('utf-8')
    return U16.pack(len(m)) + m


def decode_error(body) -> str:
    if len(body) < 2:
        return ''
    n = U16.unpack_from(body, 0)[0]
    return bytes(body[2 : 2 + n]).decode('utf-8', 'replace')


class _Reader:
    """Bounds-checked little-endian reader over a body; every overrun is BAD_FRAME."""

    __slots__ = ('buf', 'pos')

    def __init__(self, buf) -> None:
        self.buf = buf
        self.pos = 0

    def _need(self, n: int, what: str) -> None:
        if self.pos + n > len(self.buf):
            raise ProtocolError(f'truncated body: {what} needs {n} byte(s) at offset {self.pos}, body has {len(self.buf)}')

    def struct(self, s: struct.Struct, what: str) -> tuple:
        self._need(s.size, what)
        v = s.unpack_from(self.buf, self.pos)
        self.pos += s.size
        return v

    def u8(self, what: str) -> int:
        self._need(1, what)
        v = self.buf[self.pos]
        self.pos += 1
        return v

    def u16(self, what: str) -> int:
        return self.struct(U16, what)[0]

    def u32(self, what: str) -> int:
        return self.struct(U32, what)[0]

    def bytes(self, n: int, what: str) -> bytes:
        self._need(n, what)
        v = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return v

    def end(self) -> None:
        if self.pos != len(self.buf):
            raise ProtocolError(f'{len(self.buf) - self.pos} trailing byte(s) after the body')
