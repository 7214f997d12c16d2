"""Keys, seeds and namespace names of the vLLM connector (no shard, no torch)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from brixlet_kv import chain_keys_for_tokens  # noqa: E402
from brixlet_kv.vllm.keys import RequestKeys, chain_seed, kv_namespace  # noqa: E402


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


if __name__ == '__main__':
    unittest.main()
