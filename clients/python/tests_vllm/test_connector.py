"""BrixletConnector driven in vLLM's step order against a live shard (BRIXLET_KV_SOCKET).

test/clients/python-vllm.test.ts starts a shard and runs this suite with a Python that has torch; run by
hand with ``BRIXLET_KV_SOCKET=/path/kv.sock python3 -m unittest discover -s clients/python/tests_vllm -v``.
Each test uses a model name of its own, so tests never see each other's blocks.
"""

import os
import sys
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
sys.path.insert(0, HERE)

from brixlet_kv import KvClient, KvConnectError  # noqa: E402
from brixlet_kv.vllm._compat import KVConnectorRole  # noqa: E402
from brixlet_kv.vllm.connector import BrixletConnector  # noqa: E402

try:
    import torch  # noqa: F401

    from harness import BLOCK_TOKENS, Engine, Request, kv_cache_config, vllm_config  # noqa: E402

    TORCH = ''
except ImportError as e:
    TORCH = f'torch is not importable ({e})'

SOCKET = os.environ.get('BRIXLET_KV_SOCKET', '')


def prompt(n: int, seed: int) -> list[int]:
    return [(seed * 7919 + i * 104729) % 50000 for i in range(n)]


def model() -> str:
    return f'test-model-{uuid.uuid4().hex[:12]}'


@unittest.skipIf(TORCH, TORCH)
@unittest.skipUnless(SOCKET, 'BRIXLET_KV_SOCKET is not set (no live shard)')
class TwoEnginesOneShard(unittest.TestCase):
    def engines(self, **kw):
        m = model()
        a = Engine(SOCKET, m, seed=1, **kw)
        b = Engine(SOCKET, m, seed=2, **kw)
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        return a, b

    def check_shared(self, layout: str, tp: int) -> None:
        a, b = self.engines(layout=layout, tp=tp)
        tokens = prompt(5 * BLOCK_TOKENS + 7, 1)
        a_ids, a_loaded, _ = a.prefill(Request('a-1', tokens))
        self.assertEqual(a_loaded, 0)
        stored = [e for e in a.events if e['type'] == 'BlockStored']
        self.assertEqual(len(stored), 5)
        self.assertTrue(all(e['medium'] == 'BRIXLET' for e in stored))
        self.assertEqual(stored[0]['parent_block_hash'], None)
        self.assertEqual(stored[1]['parent_block_hash'], stored[0]['block_hashes'][0])
        self.assertEqual(stored[2]['token_ids'], tokens[2 * BLOCK_TOKENS : 3 * BLOCK_TOKENS])

        b_ids, b_loaded, _ = b.prefill(Request('b-1', tokens))
        self.assertEqual(b_loaded, 5 * BLOCK_TOKENS)
        for rank in range(tp):
            for i in range(5):
                # Engine B's own forward draws other random values: equal bytes can only come from the load.
                self.assertEqual(b.block_bytes(rank, b_ids[i]), a.block_bytes(rank, a_ids[i]), f'rank {rank} block {i}')
            self.assertNotEqual(b.block_bytes(rank, b_ids[5]), a.block_bytes(rank, a_ids[5]))
        self.assertEqual(b.scheduler.counters['load_blocks'], 5)
        self.assertEqual(sum(w.counters['loaded_blocks'] for w in b.workers), 5 * tp)
        self.assertEqual(sum(w.counters['load_failed_blocks'] for w in b.workers), 0)
        # B found every block already cached: nothing stored twice.
        self.assertEqual([e for e in b.events if e['type'] == 'BlockStored'], [])

    def test_what_one_engine_saves_the_other_loads_nhd(self):
        self.check_shared('NHD', 1)

    def test_what_one_engine_saves_the_other_loads_hnd(self):
        self.check_shared('HND', 1)

    def test_two_tp_ranks_each_load_their_own_slice(self):
        self.check_shared('NHD', 2)

    def test_a_full_prompt_hit_leaves_the_last_block_to_compute(self):
        a, b = self.engines()
        tokens = prompt(4 * BLOCK_TOKENS, 2)
        a.prefill(Request('a-1', tokens))
        _, loaded, _ = b.prefill(Request('b-1', tokens))
        self.assertEqual(loaded, 3 * BLOCK_TOKENS)

    def test_lora_and_cache_salt_start_other_chains(self):
        a, b = self.engines()
        tokens = prompt(3 * BLOCK_TOKENS + 1, 3)
        a.prefill(Request('a-1', tokens, cache_salt='tenant-x'))
        self.assertEqual(b.prefill(Request('b-1', tokens))[1], 0)
        self.assertEqual(b.prefill(Request('b-2', tokens, lora_name='sql', cache_salt='tenant-x'))[1], 0)
        self.assertEqual(b.prefill(Request('b-3', tokens, cache_salt='tenant-x'))[1], 3 * BLOCK_TOKENS)

    def test_a_load_that_fails_is_reported_and_recomputed(self):
        a, b = self.engines(num_blocks=32)
        tokens = prompt(4 * BLOCK_TOKENS + 3, 4)
        a.prefill(Request('a-1', tokens))

        def evict() -> None:
            # Fill the shard with other blocks until A's are evicted between B's lookup and B's load.
            with KvClient(SOCKET, f'filler-{uuid.uuid4().hex[:8]}', 8192) as c:
                capacity = c.stats()['capacityBytes']
                n = 2 * capacity // 8192
                for start in range(0, n, 256):
                    keys = [uuid.uuid4().bytes for _ in range(256)]
                    c.put(keys, [bytes(8192)] * 256, independent=True)

        ids, loaded, _ = b.prefill(Request('b-1', tokens), after_lookup=evict)
        self.assertEqual(loaded, 0)  # every promised block failed: all recomputed
        w = b.workers[0]
        self.assertEqual(w.counters['load_failed_blocks'], 4)
        removed = [e for e in b.events if e['type'] == 'BlockRemoved']
        self.assertEqual(len(removed), 1)
        self.assertEqual(len(removed[0]['block_hashes']), 4)
        # B's blocks hold B's own forward, not A's (evicted) bytes nor zeros.
        self.assertNotEqual(b.block_bytes(0, ids[0]), bytes(len(b.block_bytes(0, ids[0]))))


@unittest.skipIf(TORCH, TORCH)
class ShardDown(unittest.TestCase):
    def test_every_request_recomputes_with_a_warning_and_a_counter(self):
        with self.assertLogs('brixlet_kv.vllm', 'WARNING') as logs:
            e = Engine('/nonexistent/brixlet/kv.sock', model(), seed=1)
            self.addCleanup(e.close)
            _, loaded, _ = e.prefill(Request('r-1', prompt(3 * BLOCK_TOKENS + 1, 5)))
        self.assertEqual(loaded, 0)
        self.assertGreaterEqual(e.scheduler.counters['shard_unavailable'], 1)
        self.assertGreaterEqual(e.workers[0].counters['shard_unavailable'], 1)
        self.assertEqual(e.workers[0].counters['save_skipped_blocks'], 3)
        self.assertTrue(any('unavailable' in line for line in logs.output))

    def test_policy_fail_raises_instead(self):
        cfg = vllm_config('/nonexistent/brixlet/kv.sock', model(), 1, 0, 'NHD', policy='fail')
        s = BrixletConnector(cfg, KVConnectorRole.SCHEDULER, kv_cache_config(8))
        self.addCleanup(s.shutdown)
        req = Request('r-1', prompt(2 * BLOCK_TOKENS + 1, 6))
        with self.assertRaises(KvConnectError):
            for _ in range(5000):
                n, _ = s.get_num_new_matched_tokens(req, 0)
                if n is not None:
                    break
                import time

                time.sleep(0.002)
        w = BrixletConnector(cfg, KVConnectorRole.WORKER, kv_cache_config(8))
        with self.assertRaises(KvConnectError):
            from harness import LAYERS, paged_tensor

            w.register_kv_caches({name: paged_tensor(8, 'NHD') for name in LAYERS})


if __name__ == '__main__':
    unittest.main()
