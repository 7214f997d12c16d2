"""The scheduler instance never blocks vLLM's scheduler loop (no shard, no torch: the lookup thread is held by a seam)."""

import os
import sys
import threading
import unittest
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from brixlet_kv.vllm._compat import KVConnectorRole  # noqa: E402
from brixlet_kv.vllm.connector import BrixletConnector  # noqa: E402
from brixlet_kv.vllm.metadata import BrixletWorkerMeta  # noqa: E402


def config(extra):
    return SimpleNamespace(
        kv_transfer_config=SimpleNamespace(kv_connector_extra_config=extra),
        cache_config=SimpleNamespace(block_size=16, cache_dtype='auto'),
        model_config=SimpleNamespace(model='m', dtype='float16'),
        parallel_config=SimpleNamespace(tensor_parallel_size=1, pipeline_parallel_size=1, rank=0),
    )


KV_CACHE_CONFIG = SimpleNamespace(num_blocks=8, kv_cache_groups=[SimpleNamespace(layer_names=['l0'], kv_cache_spec=SimpleNamespace(page_size_bytes=8192))])
REQ = SimpleNamespace(request_id='r', prompt_token_ids=list(range(40)), all_token_ids=list(range(40)), num_tokens=40, lora_request=None, cache_salt=None)


class NonBlockingLookup(unittest.TestCase):
    def test_answers_none_while_the_shard_query_is_pending(self):
        s = BrixletConnector(config({'socket': '/nonexistent/kv.sock'}), KVConnectorRole.SCHEDULER, KV_CACHE_CONFIG)
        self.addCleanup(s.shutdown)
        gate = threading.Event()
        # Hold the lookup thread: the query queued behind this job cannot have run.
        s._scheduler._pool.submit(gate.wait, 30)
        with self.assertLogs('brixlet_kv.vllm', 'WARNING'):
            for _ in range(3):
                self.assertEqual(s.get_num_new_matched_tokens(REQ, 0), (None, False))
            self.assertEqual(s.counters['lookups'], 1)  # asked again: the same query, not a new one
            gate.set()
            answer = (None, False)
            for _ in range(100_000):
                answer = s.get_num_new_matched_tokens(REQ, 0)
                if answer[0] is not None:
                    break
                threading.Event().wait(0.001)
        self.assertEqual(answer, (0, False))
        self.assertEqual(s.counters['shard_unavailable'], 1)

    def test_rejects_unknown_extra_config_keys(self):
        with self.assertRaisesRegex(ValueError, 'unknown kv_connector_extra_config keys'):
            BrixletConnector(config({'sokcet': '/x'}), KVConnectorRole.SCHEDULER, KV_CACHE_CONFIG)
        with self.assertRaisesRegex(ValueError, 'kv_load_failure_policy'):
            BrixletConnector(config({'kv_load_failure_policy': 'maybe'}), KVConnectorRole.SCHEDULER, KV_CACHE_CONFIG)

    def test_refuses_several_kv_cache_groups(self):
        two = SimpleNamespace(num_blocks=8, kv_cache_groups=KV_CACHE_CONFIG.kv_cache_groups * 2)
        with self.assertRaisesRegex(ValueError, '--disable-hybrid-kv-cache-manager'):
            BrixletConnector(config({}), KVConnectorRole.SCHEDULER, two)

    def test_a_prompt_of_one_block_or_less_asks_nothing(self):
        s = BrixletConnector(config({'socket': '/nonexistent/kv.sock'}), KVConnectorRole.SCHEDULER, KV_CACHE_CONFIG)
        self.addCleanup(s.shutdown)
        short = SimpleNamespace(**{**vars(REQ), 'request_id': 's', 'num_tokens': 16, 'all_token_ids': list(range(16))})
        self.assertEqual(s.get_num_new_matched_tokens(short, 0), (0, False))
        self.assertEqual(s.get_num_new_matched_tokens(REQ, 32), (0, False))  # the GPU already holds the loadable part
        self.assertEqual(s.counters['lookups'], 0)


class WorkerReports(unittest.TestCase):
    def test_a_block_counts_as_stored_only_when_every_rank_stored_it(self):
        r0 = BrixletWorkerMeta(4, [b'a', b'b', b'c'], [])
        r1 = BrixletWorkerMeta(4, [b'a', b'c'], [b'x'])
        both = r0.aggregate(r1)
        self.assertEqual((both.step, both.stored, both.missing), (4, [b'a', b'c'], [b'x']))


if __name__ == '__main__':
    unittest.main()
