"""BrixletConnector driven in vLLM's step order against a live shard (BRIXLET_KV_SOCKET).

test/clients/python-vllm.test.ts starts a shard and runs this suite with a Python that has torch; run by
hand with ``BRIXLET_KV_SOCKET=/path/kv.sock python3 -m unittest discover -s clients/python/tests_vllm -v``.
Each test uses a model name of its own, so tests never see each other's blocks.
"""

import threading
import time
import unittest
import uuid
from types import SimpleNamespace

from support import SOCKET, TORCH, prompt  # first: puts this tree's brixlet_kv on sys.path

from brixlet_kv import KvClient, KvConnectError
from brixlet_kv.vllm._compat import KVConnectorRole
from brixlet_kv.vllm.connector import BrixletConnector
from brixlet_kv.vllm.metadata import BrixletConnectorMetadata, LoadSpec

if not TORCH:
    from harness import BLOCK_TOKENS, LAYERS, Blocks, Engine, Request, kv_cache_config, scheduler_output, vllm_config


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

        b_ids, b_loaded, delayed = b.prefill(Request('b-1', tokens))
        self.assertEqual(b_loaded, 5 * BLOCK_TOKENS)
        self.assertFalse(delayed)  # its step's output is back: nothing reads its blocks any more
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
        # What vLLM's stats path carried (worker counts summed over ranks, the scheduler's added).
        block_bytes = len(a.block_bytes(0, a_ids[0]))
        self.assertEqual(a.stats.data.get('saved_blocks'), 5 * tp)
        self.assertEqual(a.stats.data.get('saved_bytes'), 5 * tp * block_bytes)
        self.assertEqual(a.stats.data.get('hit_blocks', 0), 0)
        self.assertEqual(b.stats.data.get('lookups'), 1)
        self.assertEqual(b.stats.data.get('hit_blocks'), 5)
        self.assertEqual(b.stats.data.get('hit_tokens'), 5 * BLOCK_TOKENS)
        self.assertEqual(b.stats.data.get('loaded_blocks'), 5 * tp)
        self.assertEqual(b.stats.data.get('loaded_bytes'), 5 * tp * block_bytes)
        self.assertEqual(b.stats.data.get('saved_blocks', 0), 0)
        self.assertEqual(b.stats.data.get('failed_load_blocks', 0), 0)
        for c in [a.scheduler, *a.workers, b.scheduler, *b.workers]:
            self.assertIsNone(c.get_kv_connector_stats())  # everything was reported once

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
        self.assertEqual(b.stats.data.get('hit_blocks'), 4)
        self.assertEqual(b.stats.data.get('failed_load_blocks'), 4)
        self.assertEqual(b.stats.data.get('loaded_blocks', 0), 0)
        self.assertEqual(b.stats.data.get('saved_blocks'), 4)  # the recomputed blocks, saved again
        removed = [e for e in b.events if e['type'] == 'BlockRemoved']
        self.assertEqual(len(removed), 1)
        self.assertEqual(len(removed[0]['block_hashes']), 4)
        # B saved what it recomputed: the cache holds the prefix again, for the next engine.
        stored = [e['block_hashes'][0] for e in b.events if e['type'] == 'BlockStored']
        self.assertEqual(stored, removed[0]['block_hashes'])
        # B's blocks hold B's own forward, not A's (evicted) bytes nor zeros.
        self.assertNotEqual(b.block_bytes(0, ids[0]), bytes(len(b.block_bytes(0, ids[0]))))

    def check_layerwise(self, layerwise: bool) -> None:
        a, b = self.engines(extra={'layerwise_load': layerwise})
        tokens = prompt(5 * BLOCK_TOKENS + 7, 11)
        a_ids, _, _ = a.prefill(Request('a-1', tokens))
        keys = [e['block_hashes'][0] for e in a.events if e['type'] == 'BlockStored']
        self.assertEqual(len(keys), 5)
        # B loads A's 5 blocks plus one the shard never had (its chain continues past A's).
        ids = [b.free.pop(0) for _ in range(6)]
        meta = BrixletConnectorMetadata(step=0, loads=[LoadSpec('b-1', keys + [uuid.uuid4().bytes], ids)])
        w = b.workers[0]
        gate = threading.Event()
        copying_layer_1 = threading.Event()

        def before(layer: str) -> None:
            if layer == LAYERS[1]:  # hold the second layer's copies until the first layer is checked
                copying_layer_1.set()
                self.assertTrue(gate.wait(30))

        w._worker._before_layer_copy = before

        def layer_blocks(engine, layer, block_ids):
            return [engine.kv[0][layer].select(1, i).contiguous().numpy().tobytes() for i in block_ids]

        w.bind_connector_metadata(meta)
        w.start_load_kv(None)
        if layerwise:
            w.wait_for_layer_load(LAYERS[0])
            self.assertEqual(layer_blocks(b, LAYERS[0], ids[:5]), layer_blocks(a, LAYERS[0], a_ids[:5]))
            self.assertTrue(copying_layer_1.wait(30))
            zero = bytes(len(layer_blocks(b, LAYERS[1], ids[:1])[0]))
            self.assertEqual(layer_blocks(b, LAYERS[1], ids[:5]), [zero] * 5)  # still held back
            gate.set()
        w.wait_for_layer_load(LAYERS[0])
        w.wait_for_layer_load(LAYERS[1])
        for layer in LAYERS:
            self.assertEqual(layer_blocks(b, layer, ids[:5]), layer_blocks(a, layer, a_ids[:5]), layer)
        w.wait_for_save()
        self.assertEqual(w.get_finished(set()), (None, {'b-1'}))
        self.assertEqual(w.get_block_ids_with_load_errors(), {ids[5]})
        self.assertEqual(w.counters['loaded_blocks'], 5)
        self.assertEqual(w.get_kv_connector_stats().data.get('failed_load_blocks'), 1)
        w.clear_connector_metadata()
        self.assertEqual(self.leases(), 0)  # every lease released once the copies were done

    def test_layerwise_load_whose_connection_dies_mid_step_reports_every_block(self):
        a, b = self.engines()
        tokens = prompt(3 * BLOCK_TOKENS + 2, 12)
        a.prefill(Request('a-1', tokens))
        keys = [e['block_hashes'][0] for e in a.events if e['type'] == 'BlockStored']
        ids = [b.free.pop(0) for _ in range(3)]
        w = b.workers[0]
        w.bind_connector_metadata(BrixletConnectorMetadata(step=0, loads=[LoadSpec('b-1', keys, ids)]))
        with self.assertLogs('brixlet_kv.vllm', 'WARNING'):
            w.start_load_kv(None)
            # The shard drops the connection while the copies run (e.g. a save's ALLOC failed): the
            # leases end with it, so nothing copied this step is trusted.
            w._worker._unavailable(KvConnectError(SOCKET, 'connection lost'))
        w.wait_for_layer_load(LAYERS[0])
        w.wait_for_save()
        self.assertEqual(w.get_finished(set()), (None, {'b-1'}))
        self.assertEqual(w.get_block_ids_with_load_errors(), set(ids))
        self.assertEqual(w.counters['loaded_blocks'], 0)
        w.clear_connector_metadata()

    def leases(self) -> int:
        with KvClient(SOCKET, 'probe', 8192) as c:
            return int(c.stats()['leases']['read'])

    def test_layerwise_load_a_layer_is_complete_when_its_wait_returns(self):
        self.check_layerwise(True)

    def test_whole_request_load_without_layerwise(self):
        self.check_layerwise(False)

    def lookup(self, engine, req):
        for _ in range(100_000):
            n, load_async = engine.scheduler.get_num_new_matched_tokens(req, 0)
            if n is not None:
                return n, load_async
            time.sleep(0.001)
        raise AssertionError('get_num_new_matched_tokens stayed None')

    def test_a_save_in_a_step_built_ahead_keeps_the_blocks_until_the_workers_report(self):
        (a, _) = self.engines()
        tokens = prompt(3 * BLOCK_TOKENS + 5, 7)
        req = Request('a-1', tokens)
        self.assertEqual(self.lookup(a, req), (0, False))
        ids = [a.free.pop(0) for _ in range(4)]
        a.scheduler.update_state_after_alloc(req, Blocks(ids), 0)
        # Chunked prefill under async scheduling: step 1 (the rest of the prompt, saving 3 blocks) is
        # built before step 0's output is processed; the request is aborted while step 1 runs.
        so0 = scheduler_output([SimpleNamespace(req_id=req.request_id, block_ids=(ids,), num_computed_tokens=0)], scheduled={req.request_id: 8})
        meta0 = a.scheduler.build_connector_meta(so0)
        cached = SimpleNamespace(req_ids=[req.request_id], new_block_ids=[None], num_computed_tokens=[8], resumed_req_ids=set())
        so1 = scheduler_output(cached=cached, scheduled={req.request_id: len(tokens) - 8})
        meta1 = a.scheduler.build_connector_meta(so1)
        self.assertEqual(meta0.saves, [])
        self.assertEqual([len(s.keys) for s in meta1.saves], [3])
        delayed = []
        a.run(meta0, so0, compute=(ids, 0, 8), before_output=lambda: delayed.append(a.scheduler.request_finished(req, ids)))
        self.assertEqual(delayed, [(True, None)])
        out1 = a.run(meta1, so1, compute=(ids, 8, len(tokens)))
        self.assertEqual(out1.finished_sending, set())
        out2 = a.step(scheduler_output(finished=[req.request_id]))
        self.assertEqual(out2.finished_sending, {req.request_id})  # now vLLM frees the blocks
        self.assertEqual(len([e for e in a.events if e['type'] == 'BlockStored']), 3)

    def check_decode(self, save_decode: bool) -> int:
        a, b = self.engines(extra={'save_decode': save_decode})
        tokens = prompt(BLOCK_TOKENS + 10, 10)
        req = Request('a-1', tokens)
        self.assertEqual(self.lookup(a, req), (0, False))
        ids = [a.free.pop(0) for _ in range(2)]
        a.scheduler.update_state_after_alloc(req, Blocks(ids), 0)
        new = SimpleNamespace(req_id=req.request_id, block_ids=(ids,), num_computed_tokens=0)
        a.step(scheduler_output([new], scheduled={req.request_id: len(tokens)}), compute=(ids, 0, len(tokens)))
        for k in range(BLOCK_TOKENS - 10):  # decode steps: one generated token each fills block 1
            req.output_token_ids.append(40000 + k)
            pos = len(tokens) + k
            cached = SimpleNamespace(req_ids=[req.request_id], new_block_ids=[None], num_computed_tokens=[pos], resumed_req_ids=set())
            a.step(scheduler_output(cached=cached, scheduled={req.request_id: 1}), compute=(ids, pos, pos + 1))
        a.scheduler.request_finished(req, ids)
        follow_up = req.all_token_ids + [7]  # the conversation's next turn starts with the whole answer
        return b.prefill(Request('b-1', follow_up))[1]

    def test_decode_blocks_are_saved_only_with_save_decode(self):
        self.assertEqual(self.check_decode(False), BLOCK_TOKENS)
        self.assertEqual(self.check_decode(True), 2 * BLOCK_TOKENS)

    def test_only_the_blocks_beyond_the_local_gpu_hit_load(self):
        a, b = self.engines()
        tokens = prompt(5 * BLOCK_TOKENS + 7, 9)
        a_ids, _, _ = a.prefill(Request('a-1', tokens))
        req = Request('b-1', tokens)
        # B's own prefix cache holds the first 2 blocks: the shard adds blocks 2..4, mid-chain.
        for _ in range(100_000):
            n, load_async = b.scheduler.get_num_new_matched_tokens(req, 2 * BLOCK_TOKENS)
            if n is not None:
                break
            time.sleep(0.001)
        self.assertEqual((n, load_async), (3 * BLOCK_TOKENS, True))
        ids = [b.free.pop(0) for _ in range(6)]
        b.scheduler.update_state_after_alloc(req, Blocks(ids), n)
        out = b.step(scheduler_output())
        self.assertEqual((out.finished_recving, out.invalid_block_ids), ({req.request_id}, set()))
        self.assertEqual(b.workers[0].counters['loaded_blocks'], 3)
        for i in range(2):
            self.assertEqual(b.block_bytes(0, ids[i]), bytes(len(b.block_bytes(0, ids[i]))))  # not touched
        for i in range(2, 5):
            self.assertEqual(b.block_bytes(0, ids[i]), a.block_bytes(0, a_ids[i]))

    def test_a_preempted_request_loads_its_saved_blocks_into_new_gpu_blocks(self):
        (a, _) = self.engines()
        tokens = prompt(5 * BLOCK_TOKENS + 7, 8)
        req = Request('a-1', tokens)
        self.assertEqual(self.lookup(a, req), (0, False))
        ids1 = [a.free.pop(0) for _ in range(6)]
        a.scheduler.update_state_after_alloc(req, Blocks(ids1), 0)
        new = SimpleNamespace(req_id=req.request_id, block_ids=(ids1,), num_computed_tokens=0)
        a.step(scheduler_output([new], scheduled={req.request_id: len(tokens)}), compute=(ids1, 0, len(tokens)))
        before = [a.block_bytes(0, b) for b in ids1[:5]]
        # Preempted: its GPU blocks go to other requests (overwritten), it waits again with nothing computed.
        a._compute(0, LAYERS[0], ids1, 0, len(tokens))
        a._compute(0, LAYERS[1], ids1, 0, len(tokens))
        a.free.extend(ids1)
        self.assertEqual(self.lookup(a, req), (5 * BLOCK_TOKENS, True))
        ids2 = [a.free.pop(0) for _ in range(6)]
        self.assertNotEqual(ids2, ids1)
        a.scheduler.update_state_after_alloc(req, Blocks(ids2), 5 * BLOCK_TOKENS)
        out = a.step(scheduler_output())
        self.assertEqual(out.finished_recving, {req.request_id})
        self.assertEqual(out.invalid_block_ids, set())
        self.assertEqual([a.block_bytes(0, b) for b in ids2[:5]], before)
        # Resumed (vLLM sends the whole new block list): only the tail is computed, nothing saved again.
        cached = SimpleNamespace(req_ids=[req.request_id], new_block_ids=[(ids2,)], num_computed_tokens=[5 * BLOCK_TOKENS], resumed_req_ids={req.request_id})
        so = scheduler_output(cached=cached, scheduled={req.request_id: 7})
        meta = a.scheduler.build_connector_meta(so)
        self.assertEqual(meta.saves, [])
        a.run(meta, so, compute=(ids2, 5 * BLOCK_TOKENS, len(tokens)))
        self.assertEqual(a.scheduler.request_finished(req, ids2), (False, None))


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
        self.assertGreaterEqual(e.stats.data.get('shard_unavailable', 0), 2)  # scheduler's and worker's
        self.assertEqual(e.stats.data.get('skipped_save_blocks'), 3)
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
                time.sleep(0.002)
        w = BrixletConnector(cfg, KVConnectorRole.WORKER, kv_cache_config(8))
        with self.assertRaises(KvConnectError):
            from harness import paged_tensor

            w.register_kv_caches({name: paged_tensor(8, 'NHD') for name in LAYERS})


class _Child:
    def __init__(self) -> None:
        self.value = 0

    def inc(self, n: int = 1) -> None:
        self.value += n


class _Metric:
    made: dict = {}

    def __init__(self, name: str, documentation: str, labelnames: list[str]) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, labelnames
        self.children: dict = {}
        _Metric.made[name] = self

    def labels(self, *values):
        return self.children.setdefault(values, _Child())


class Counter(_Metric):
    pass


class Gauge(_Metric):
    pass


class Histogram(_Metric):
    pass


class PromMetrics(unittest.TestCase):
    def test_counters_per_engine_from_the_stats_data(self):
        try:  # vLLM keys metric_types by prometheus_client's classes
            import prometheus_client as pc

            kinds = {pc.Gauge: Gauge, pc.Counter: Counter, pc.Histogram: Histogram}
        except ImportError:
            kinds = {Gauge: Gauge, Counter: Counter, Histogram: Histogram}
        _Metric.made = {}
        prom = BrixletConnector.build_prom_metrics(None, kinds, ['model_name', 'engine'], {0: ['m', '0'], 1: ['m', '1']})
        names = sorted(_Metric.made)
        self.assertIn('brixlet_connector_hit_blocks', names)
        self.assertIn('brixlet_connector_failed_load_blocks', names)
        self.assertIn('brixlet_connector_saved_bytes', names)
        self.assertIn('brixlet_connector_shard_unavailable', names)
        self.assertTrue(all(type(m) is Counter for m in _Metric.made.values()))
        # The data dict as vLLM's logger gets it (aggregated over workers and the scheduler).
        s = BrixletConnector.build_kv_connector_stats({'hit_blocks': 3, 'loaded_bytes': 100})
        s.aggregate(BrixletConnector.build_kv_connector_stats({'hit_blocks': 2, 'unknown': 7}))
        prom.observe(s.data, engine_idx=1)
        prom.observe({'failed_load_blocks': 1}, engine_idx=0)
        made = _Metric.made
        self.assertEqual(made['brixlet_connector_hit_blocks'].children[('m', '1')].value, 5)
        self.assertEqual(made['brixlet_connector_hit_blocks'].children[('m', '0')].value, 0)
        self.assertEqual(made['brixlet_connector_loaded_bytes'].children[('m', '1')].value, 100)
        self.assertEqual(made['brixlet_connector_failed_load_blocks'].children[('m', '0')].value, 1)
        self.assertTrue(BrixletConnector.build_kv_connector_stats({}).is_empty())
        self.assertEqual(s.reduce()['hit_blocks'], 5)


if __name__ == '__main__':
    unittest.main()
