"""A KV shard client written from docs/kv-protocol.md alone (python3 stdlib, no brixlet code).

It proves the document is enough to interoperate: it computes chain keys from token ids as §7 says,
frames requests as §2-§3 say, maps the slabs, and shares blocks with the brixlet clients.
test/clients/independent-client.test.ts and chain-key-vectors.test.ts drive it:

  independent_client.py vectors VECTORS_JSON                  -> {"keys": [[hex, ...], ...]}
  independent_client.py put SOCKET NS BLOCK_SIZE B TOKENS_JSON -> {"statuses": [...]}
  independent_client.py get SOCKET NS BLOCK_SIZE B TOKENS_JSON -> {"hits": n, "intact": bool}

A block's bytes are its key repeated up to BLOCK_SIZE, so every reader can check what it read.
"""

import hashlib
import json
import mmap
import os
import socket
import struct
import sys

VERSION = 2
MAGIC = 0x4B42
HELLO, LOOKUP, ALLOC, SEAL, RELEASE = 0x01, 0x02, 0x04, 0x05, 0x07


# §7: u32 little-endian token ids, k_i = sha256(k_(i-1) || bytes_i)[:16], k_(-1) = seed.
def chain_keys(tokens, block_tokens, seed=bytes(16)):
    keys, prev = [], seed
    for b in range(len(tokens) // block_tokens):
        block = tokens[b * block_tokens : (b + 1) * block_tokens]
        prev = hashlib.sha256(prev + struct.pack('<%dI' % len(block), *block)).digest()[:16]
        keys.append(prev)
    return keys


def content(key, size):
    return (key * (size // 16 + 1))[:size]


class Shard:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(path)
        self.rid = 0

    def call(self, op, body=b''):
        # §2: u32 length, u16 magic, u8 version, u8 op, u32 request id, u16 status, u16 reserved.
        self.rid += 1
        self.sock.sendall(struct.pack('<IHBBIHH', 16 + len(body), MAGIC, VERSION, op, self.rid, 0, 0) + body)
        head = self.recv(16)
        length, magic, version, rop, rid, status, _ = struct.unpack('<IHBBIHH', head)
        reply = self.recv(length - 16)
        if status != 0:
            (n,) = struct.unpack_from('<H', reply)
            raise RuntimeError('status %d: %s' % (status, reply[2 : 2 + n].decode()))
        if magic != MAGIC or version != VERSION or rop != op | 0x80 or rid != self.rid:
            raise RuntimeError('reply does not answer the request')
        return reply

    def recv(self, n):
        out = b''
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise RuntimeError('connection closed')
            out += chunk
        return out

    def hello(self, ns, block_size):
        name = ns.encode()
        body = bytes([len(name)]) + name + bytes([0]) + struct.pack('<II', block_size, 0)
        r = self.call(HELLO, body)
        _, _, max_batch, _, _, count, _, slab_size = struct.unpack_from('<IIIIIHHQ', r)
        at, paths = 32, []
        for _ in range(count):
            (n,) = struct.unpack_from('<H', r, at)
            paths.append(r[at + 2 : at + 2 + n].decode())
            at += 2 + n
        self.max_batch = max_batch
        self.slabs = []
        for p in paths:
            fd = os.open(p, os.O_RDWR)
            self.slabs.append(mmap.mmap(fd, slab_size, mmap.MAP_SHARED))
            os.close(fd)

    @staticmethod
    def records(r):
        (n,) = struct.unpack_from('<I', r)
        # §3 lease record: u32 leaseId, u32 slab, u64 offset, u32 length, u8 status, 3 bytes 0.
        return [struct.unpack_from('<IIQIB3x', r, 4 + 24 * i) for i in range(n)]

    def ids_op(self, op, ids):
        r = self.call(op, struct.pack('<I%dI' % len(ids), len(ids), *ids))
        (n,) = struct.unpack_from('<I', r)
        return list(r[4 : 4 + n])

    def put(self, keys, block_size):
        body = struct.pack('<II', len(keys), 0) + b''.join(k + struct.pack('<I', block_size) for k in keys)
        recs = self.records(self.call(ALLOC, body))
        statuses = [r[4] for r in recs]
        writes = [i for i, r in enumerate(recs) if r[4] == 0]
        for i in writes:
            _, slab, off, length, _ = recs[i]
            self.slabs[slab][off : off + length] = content(keys[i], length)
        if writes:
            for i, s in zip(writes, self.ids_op(SEAL, [recs[i][0] for i in writes])):
                statuses[i] = s
        return statuses

    def get(self, keys):
        recs = self.records(self.call(LOOKUP, struct.pack('<I', len(keys)) + b''.join(keys)))
        intact = all(self.slabs[s][o : o + n] == content(keys[i], n) for i, (_, s, o, n, _) in enumerate(recs))
        if recs:
            self.ids_op(RELEASE, [r[0] for r in recs])
        return len(recs), intact


def main(argv):
    if argv[0] == 'vectors':
        vectors = json.loads(argv[1])
        print(json.dumps({'keys': [[k.hex() for k in chain_keys(v['tokens'], v['blockTokens'], bytes.fromhex(v['seed']))] for v in vectors]}))
        return
    cmd, path, ns, block_size, block_tokens, tokens = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4]), json.loads(argv[5])
    shard = Shard(path)
    shard.hello(ns, block_size)
    keys = chain_keys(tokens, block_tokens)
    if cmd == 'put':
        print(json.dumps({'statuses': shard.put(keys, block_size)}))
    else:
        hits, intact = shard.get(keys)
        print(json.dumps({'hits': hits, 'intact': intact}))


if __name__ == '__main__':
    main(sys.argv[1:])
