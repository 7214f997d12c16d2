"""Pure tests of brixlet_kv.protocol: frames and bodies byte for byte against docs/kv-protocol.md."""

import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from brixlet_kv import chain_keys  # noqa: E402
from brixlet_kv import protocol as p  # noqa: E402

K = bytes(range(16))
K2 = bytes(range(16, 32))


class HeaderTest(unittest.TestCase):
    def test_hello_frame_matches_the_documented_bytes(self):
        # docs/kv-protocol.md §6: HELLO ns "demo", no signature, block size 1 MiB, request id 1.
        got = p.frame(p.HELLO, 1, p.encode_hello('demo', '', 1 << 20))
        want = bytes.fromhex('1e000000424b0201010000000000000004' + '64656d6f' + '00' + '00001000' + '00000000')
        self.assertEqual(got, want)
        self.assertEqual(len(got), 30)

    def test_header_round_trip_and_reply_bit(self):
        buf = bytearray(16)
        p.pack_header(buf, 40, p.LOOKUP | p.REPLY_BIT, 0xFFFFFFFF, p.LAYOUT_MISMATCH)
        h = p.unpack_header(buf, 1 << 20)
        self.assertEqual(h, p.Header(40, 0x82, 0xFFFFFFFF, 7))
        self.assertEqual(p.op_name(h.op), 'LOOKUP')
        self.assertEqual(p.status_name(h.status), 'LAYOUT_MISMATCH')

    def test_bad_headers_are_rejected_with_their_status(self):
        good = bytearray(p.frame(p.PING, 3))
        cases = [
            (bytes(good[:4]) + b'\x00\x00' + bytes(good[6:]), p.BAD_FRAME, 'magic'),
            (bytes(good[:6]) + b'\x01' + bytes(good[7:]), p.BAD_VERSION, 'version 1'),
            (struct.pack('<I', 15) + bytes(good[4:]), p.BAD_FRAME, 'shorter than the header'),
            (struct.pack('<I', 2 << 20) + bytes(good[4:]), p.FRAME_TOO_LARGE, 'exceeds'),
        ]
        for raw, status, text in cases:
            with self.subTest(text=text):
                with self.assertRaises(p.ProtocolError) as cm:
                    p.unpack_header(raw, 1 << 20)
                self.assertEqual(cm.exception.status, status)
                self.assertIn(text, str(cm.exception))

    def test_closing_statuses_follow_the_table(self):
        self.assertEqual({p.status_name(s) for s in p.CLOSING_STATUSES}, {'BAD_FRAME', 'BAD_VERSION', 'UNKNOWN_OP', 'FRAME_TOO_LARGE', 'SHUTTING_DOWN', 'INTERNAL', 'NOT_ALLOWED', 'TOO_MANY_CONNECTIONS'})
        self.assertEqual(p.status_name(99), 'STATUS_99')
        self.assertEqual(p.item_status_name(p.ITEM_DUPLICATE), 'DUPLICATE')


class BodyTest(unittest.TestCase):
    def test_hello_request_and_reply_round_trip(self):
        self.assertEqual(p.decode_hello(p.encode_hello('ns/ü', 'sig', 4096)), ('ns/ü', b'sig', 4096))
        self.assertEqual(p.decode_hello(p.encode_hello('ns', b'\xff\x00', 4096)), ('ns', b'\xff\x00', 4096))
        with self.assertRaises(p.ProtocolError) as cm:
            p.decode_hello(b'\x02\xff\xfe\x00' + struct.pack('<II', 4096, 0))
        self.assertEqual(cm.exception.status, p.BAD_HELLO)
        with self.assertRaises(p.ProtocolError) as cm:
            p.decode_hello(p.encode_hello('ns', '', 4096)[:-4] + struct.pack('<I', 1))
        self.assertEqual(cm.exception.status, p.BAD_HELLO)
        reply = p.HelloReply(7, 30000, 4096, 1 << 20, 1 << 20, 1 << 30, ('/dev/shm/brixlet/slab-0a0b0c0d-0000', '/x'))
        body = p.encode_hello_reply(reply)
        self.assertEqual(len(body), 32 + 2 + 35 + 2 + 2)
        self.assertEqual(p.decode_hello_reply(body), reply)

    def test_hello_reply_features_and_lookup_remote_body(self):
        reply = p.HelloReply(7, 30000, 4096, 1 << 20, 1 << 20, 1 << 30, ('/x',), p.FEATURE_REMOTE_READ)
        body = p.encode_hello_reply(reply)
        self.assertEqual(struct.unpack_from('<H', body, 22)[0], p.FEATURE_REMOTE_READ)
        self.assertEqual(p.decode_hello_reply(body), reply)
        buf = bytearray(64)
        end = p.pack_lookup_remote_into(buf, 0, [K, K2], 25)
        self.assertEqual(bytes(buf[:end]), struct.pack('<II', 2, 25) + K + K2)
        # u16 budget (clipped to 1 min), u16 flags: FETCH_ALL is bit 0.
        end = p.pack_lookup_remote_into(buf, 0, [K], 10**6, p.LOOKUP_REMOTE_FETCH_ALL)
        self.assertEqual(bytes(buf[:end]), struct.pack('<IHH', 1, 60000, 1) + K)

    def test_names_longer_than_255_bytes_are_refused(self):
        with self.assertRaises(p.ProtocolError) as cm:
            p.encode_hello('x' * 256, '', 4096)
        self.assertEqual(cm.exception.status, p.BAD_HELLO)

    def test_alloc_body_layout_with_parent(self):
        buf = bytearray(256)
        end = p.pack_alloc_into(buf, 16, [K, K2], [1 << 20, 5], parent=K2, independent=True)
        body = bytes(buf[16:end])
        self.assertEqual(len(body), p.alloc_body_size(2, True))
        self.assertEqual(body[:8], struct.pack('<II', 2, p.ALLOC_PARENT | p.ALLOC_INDEPENDENT))
        self.assertEqual(body[8:24], K2)
        self.assertEqual(body[24:44], K + struct.pack('<I', 1 << 20))
        self.assertEqual(p.decode_alloc(body), ([K, K2], [1 << 20, 5], 3, K2))

    def test_documented_alloc_body(self):
        # §6: ALLOC one 1 MiB block, no flags: 01 00 00 00  00 00 00 00  K  00 00 10 00.
        buf = bytearray(64)
        end = p.pack_alloc_into(buf, 0, [K], [1 << 20])
        self.assertEqual(bytes(buf[:end]), bytes.fromhex('0100000000000000') + K + bytes.fromhex('00001000'))

    def test_keys_and_ids_bodies(self):
        buf = bytearray(128)
        end = p.pack_keys_into(buf, 0, [K, K2])
        self.assertEqual(end, p.keys_body_size(2))
        self.assertEqual(p.decode_keys(buf[:end]), [K, K2])
        end = p.pack_ids_into(buf, 0, [1, 0xFFFFFFFF])
        self.assertEqual(bytes(buf[:end]), bytes.fromhex('02000000' + '01000000' + 'ffffffff'))
        self.assertEqual(p.decode_ids(buf[:end]), [1, 0xFFFFFFFF])

    def test_wrong_key_sizes_are_refused(self):
        buf = bytearray(128)
        with self.assertRaises(p.ProtocolError):
            p.pack_keys_into(buf, 0, [b'short'])
        with self.assertRaises(p.ProtocolError):
            p.pack_alloc_into(buf, 0, [K], [1, 2])

    def test_lease_records(self):
        recs = [p.LeaseRecord(1, 0, 4096, 1 << 20, 0), p.LeaseRecord(0, 0, 0, 0, p.ITEM_EXISTS)]
        body = p.encode_lease_records(recs)
        self.assertEqual(len(body), 4 + 2 * p.LEASE_RECORD_BYTES)
        self.assertEqual(body[4:28], struct.pack('<IIQIB', 1, 0, 4096, 1 << 20, 0) + b'\x00' * 3)
        self.assertEqual(p.decode_lease_records(body), recs)
        with self.assertRaises(p.ProtocolError):
            p.decode_lease_records(body[:-1])
        with self.assertRaises(p.ProtocolError):
            p.decode_lease_records(b'\x01\x00')

    def test_item_statuses_are_padded_to_four(self):
        for n in range(0, 9):
            statuses = [i % 8 for i in range(n)]
            body = p.encode_item_statuses(statuses)
            self.assertEqual(len(body) % 4, 0)
            self.assertEqual(p.decode_item_statuses(body), statuses)
        self.assertEqual(p.encode_item_statuses([0]), bytes.fromhex('0100000000000000'))
        with self.assertRaises(p.ProtocolError):
            p.decode_item_statuses(bytes.fromhex('01000000' + '00'))

    def test_json_u32_and_error_bodies(self):
        self.assertEqual(p.decode_json_text(p.encode_json_body('{"a":1}')), '{"a":1}')
        self.assertEqual(p.decode_u32(p.encode_u32(42), 'hits'), 42)
        with self.assertRaises(p.ProtocolError):
            p.decode_u32(p.encode_u32(42) + b'\x00', 'hits')
        self.assertEqual(p.decode_error(p.encode_error('no such namespace')), 'no such namespace')
        self.assertEqual(p.decode_error(b''), '')

    def test_refused_error_names_op_and_status(self):
        e = p.KvError.refused(p.HELLO, p.LAYOUT_MISMATCH, 'block size 4096 != 8192')
        self.assertEqual(e.status_name, 'LAYOUT_MISMATCH')
        self.assertEqual(e.op_name, 'HELLO')
        self.assertEqual(e.code, 'BRX_ERR_KV_PROTOCOL')
        self.assertEqual(str(e), 'KV shard refused HELLO: LAYOUT_MISMATCH (block size 4096 != 8192)')
        self.assertEqual(p.KvConnectError('/x.sock', 'ENOENT').code, 'BRX_ERR_KV_CONNECT')


class ChainKeysTest(unittest.TestCase):
    def test_definition(self):
        import hashlib

        seed = bytes(range(100, 116))
        keys = chain_keys([b'a', b'bb', b''], seed=seed)
        k0 = hashlib.sha256(seed + b'a').digest()[:16]
        k1 = hashlib.sha256(k0 + b'bb').digest()[:16]
        k2 = hashlib.sha256(k1).digest()[:16]
        self.assertEqual(keys, [k0, k1, k2])
        # The default seed is 16 zero bytes; the last key of a chain as seed continues it.
        self.assertEqual(chain_keys([b'a'])[0], hashlib.sha256(bytes(16) + b'a').digest()[:16])
        self.assertEqual(chain_keys([b'bb', b''], seed=k0), [k1, k2])
        self.assertEqual(chain_keys([]), [])
        with self.assertRaises(ValueError):
            chain_keys([b'a'], seed=b'short')

    def test_same_keys_as_the_typescript_client(self):
        # Vectors shared with test/kvcache/client/chain-keys.test.ts (chainKeys in src/kvcache/client).
        self.assertEqual(chain_keys([b'brixlet'])[0].hex(), '37666da39637e764e12fa9c3e59d571c')
        self.assertEqual([k.hex() for k in chain_keys([b'hello', b'world'])], ['e10febfd3467f6eb5684c0fd4716ab7d', 'bc2bfb3b0c65204a9048d72ffa482081'])


if __name__ == '__main__':
    unittest.main()
