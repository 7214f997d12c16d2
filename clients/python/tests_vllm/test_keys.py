"""Keys, seeds and namespace names of the vLLM connector (no shard, no torch)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from brixlet_kv import chain_keys_for_tokens  # noqa: E402
import hashlib  # noqa: E402

from brixlet_kv.vllm.config import split_layers  # noqa: E402
from brixlet_kv.vllm.keys import RequestKeys, chain_seed, expand_keys, kv_namespace, part_keys  # noqa: E402


class Keys(unittest.TestCase):
    def test_request_keys_are_brixlet_token_chain_keys_grown_in_steps(self):
        tokens = list(range(1000, 1000 + 16 * 5 + 3))
        rk = RequestKeys(16, chain_seed(None, None))
        self.assertEqual(rk.upto(tokens[:40], 9), chain_keys_for_tokens(tokens[:40], 16))  # 2 full blocks
        self.assertEqual(rk.upto(tokens, 9), chain_keys_for_tokens(tokens, 16))  # 5, extending the chain

    def test_lora_and_salt_change_the_seed_and_nothing_else_does(self):
        base = chain_seed(None, None)
        self.assertEqual(base, bytes(16))
        seeds = {chain_seed('sql', None), chain_seed(None, 'sql'), chain_seed('sql', 'x'), chain_seed('x', 'sql')}
        self.assertEqual(len(seeds), 4)
        self.assertNotIn(base, seeds)
        tokens = list(range(32))
        self.assertNotEqual(RequestKeys(16, chain_seed('sql', None)).upto(tokens, 2), chain_keys_for_tokens(tokens, 16))

    def test_namespace_names_everything_that_makes_bytes_incompatible(self):
        self.assertEqual(
            kv_namespace('meta-llama/Llama-3.1-8B-Instruct', 'bfloat16', 'NHD', 16, 1, 2, 0, 1),
            'vllm/meta-llama/Llama-3.1-8B-Instruct/bfloat16/NHD/bs16/tp1of2/pp0of1',
        )
        self.assertEqual(kv_namespace('m', 'fp8', 'HND', 32, 0, 1, 0, 1, 'tenant-a'), 'vllm/m/fp8/HND/bs32/tp0of1/pp0of1/tenant-a')
        long = kv_namespace('x' * 300, 'bfloat16', 'NHD', 16, 0, 1, 0, 1)
        self.assertRegex(long, r'^vllm/sha256-[0-9a-f]{16}/bfloat16/NHD/bs16/tp0of1/pp0of1$')
        with self.assertRaises(ValueError):
            kv_namespace('m', 'bfloat16', 'NHD', 16, 0, 1, 0, 1, 'y' * 300)
        # A block stored as parts: another namespace, so a different split never shares.
        self.assertEqual(kv_namespace('m', 'fp8', 'HND', 32, 0, 1, 1, 2, 'tenant-a', parts=3), 'vllm/m/fp8/HND/bs32/tp0of1/pp1of2/parts3/tenant-a')

    def test_parts_of_a_block_interleave_into_one_chain(self):
        k0, k1 = bytes(range(16)), bytes(range(1, 17))
        self.assertEqual(part_keys(k0, 1), [k0])
        self.assertEqual(part_keys(k0, 2), [k0, hashlib.sha256(k0 + b'\x01\x00').digest()[:16]])
        self.assertEqual(expand_keys([k0, k1], 1), [k0, k1])
        self.assertEqual(expand_keys([k0, k1], 3), part_keys(k0, 3) + part_keys(k1, 3))
        self.assertEqual(len(set(expand_keys([k0, k1], 3))), 6)

    def test_layers_split_into_contiguous_ranges(self):
        s = split_layers([4096] * 17, 2)
        self.assertEqual((s.bounds, s.sizes, s.block_size), (((0, 8), (8, 17)), (8 * 4096, 9 * 4096), 9 * 4096))
        self.assertEqual([s.part_of(i) for i in (0, 7, 8, 16)], [0, 0, 1, 1])
        self.assertEqual(split_layers([10, 20, 30], 1).sizes, (60,))
        with self.assertRaises(ValueError):
            split_layers([10, 20], 3)


if __name__ == '__main__':
    unittest.main()
