"""BrixletConnector across ranks: the scheduler's count is the minimum over every rank's namespace,
pipeline-parallel stages, and blocks split into parts when they exceed the shard's page size.

Run by test/clients/python-vllm.test.ts with BRIXLET_KV_SOCKET (a shard with 4 MiB pages) and
BRIXLET_KV_SMALL_PAGE_SOCKET (64 KiB pages, the smallest the agent takes: 17-layer blocks of 68 KiB are
split in two).
"""

import os
import unittest
import uuid

from support import SOCKET, TORCH, prompt  # first: puts this tree's brixlet_kv on sys.path

from brixlet_kv import KvClient
from brixlet_kv.client import ZERO_SEED
from brixlet_kv.vllm.keys import RequestKeys, expand_keys, part_keys

if not TORCH:
    from harness import BLOCK_TOKENS, Engine, Request, layer_names, scheduler_output

SMALL = os.environ.get('BRIXLET_KV_SMALL_PAGE_SOCKET', '')
THREE = layer_names(3) if not TORCH else ()
SEVENTEEN = layer_names(17) if not TORCH else ()


def worker(engine, rank: int):
    return engine.workers[rank]._worker


def plant(socket: str, engine, rank: int, tokens: list[int], first: int, end: int, parts: int | None = None) -> None:
    """Stores blocks ``first`` … ``end - 1`` of ``tokens`` (random bytes) in one rank's namespace only,
    with that rank's HELLO parameters; ``parts`` stores only the first that many shard blocks of them."""
    w = worker(engine, rank)
    split = w._split
    keys = RequestKeys(BLOCK_TOKENS, ZERO_SEED).upto(tokens, end)
    shard_keys = expand_keys(keys[first:end], split.parts)[:parts]
    sizes = (list(split.sizes) * (end - first))[: len(shard_keys)]
    parent = part_keys(keys[first - 1], split.parts)[-1] if first > 0 else None
    with KvClient(socket, w._client.namespace, split.block_size, w.cfg.layout_signature()) as c:
        c.put(shard_keys, [os.urandom(n) for n in sizes], parent=parent)


def report(engine) -> None:
    """One engine step with no requests: every worker reports its HELLO parameters to the scheduler."""
    engine.step(scheduler_output())


@unittest.skipIf(TORCH, TORCH)
class Ranks(unittest.TestCase):
    def engines(self, socket: str, **kw):
        m = f'test-model-{uuid.uuid4().hex[:12]}'
        a = Engine(socket, m, seed=1, **kw)
        b = Engine(socket, m, seed=2, **kw)
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        return a, b

    def check_loaded(self, a, a_ids, b, b_ids, blocks: int) -> None:
        for rank in range(b.world):
            for i in range(blocks):
                self.assertEqual(b.block_bytes(rank, b_ids[i]), a.block_bytes(rank, a_ids[i]), f'rank {rank} block {i}')
            self.assertNotEqual(b.block_bytes(rank, b_ids[blocks]), a.block_bytes(rank, a_ids[blocks]))

    # ── the minimum over ranks ──

    @unittest.skipUnless(SOCKET, 'BRIXLET_KV_SOCKET is not set (no live shard)')
    def test_the_scheduler_counts_what_every_tp_rank_holds(self):
        a, b = self.engines(SOCKET, tp=2)
        tokens = prompt(5 * BLOCK_TOKENS + 7, 11)
        a.prefill(Request('a-1', tokens[: 3 * BLOCK_TOKENS + 7]))  # both ranks hold blocks 0-2
        plant(SOCKET, a, 0, tokens, 3, 5)  # only rank 0 holds blocks 3-4
        report(b)
        self.assertEqual(sorted(b.scheduler._scheduler._ranks), [(0, 0), (1, 0)])
        _, loaded, _ = b.prefill(Request('b-1', tokens))
        self.assertEqual(loaded, 3 * BLOCK_TOKENS)  # rank 1's count
        self.assertEqual(b.scheduler.counters['load_blocks'], 3)
        self.assertEqual(sum(w.counters['load_failed_blocks'] for w in b.workers), 0)

    @unittest.skipUnless(SOCKET, 'BRIXLET_KV_SOCKET is not set (no live shard)')
    def test_before_the_ranks_report_the_scheduler_counts_rank_0s(self):
        a, b = self.engines(SOCKET, tp=2)
        tokens = prompt(5 * BLOCK_TOKENS + 7, 12)
        a.prefill(Request('a-1', tokens[: 3 * BLOCK_TOKENS + 7]))
        plant(SOCKET, a, 0, tokens, 3, 5)
        # B's workers have not reported yet: its scheduler knows rank 0's namespace only.
        self.assertEqual(b.scheduler._scheduler._ranks, {})
        _, loaded, _ = b.prefill(Request('b-1', tokens))
        self.assertEqual(b.scheduler.counters['load_blocks'], 5)
        self.assertEqual(worker(b, 1).counters['load_failed_blocks'], 2)  # rank 1 lacks them: load errors
        self.assertEqual(loaded, 3 * BLOCK_TOKENS)  # recomputed from the first failed block
        self.assertEqual(sorted(b.scheduler._scheduler._ranks), [(0, 0), (1, 0)])  # reported with the load

    # ── pipeline parallelism ──

    @unittest.skipUnless(SOCKET, 'BRIXLET_KV_SOCKET is not set (no live shard)')
    def test_pipeline_stages_save_and_load_their_own_layers(self):
        for tp in (1, 2):
            with self.subTest(tp=tp):
                a, b = self.engines(SOCKET, tp=tp, pp=2, layers=THREE)
                tokens = prompt(5 * BLOCK_TOKENS + 7, 20 + tp)
                a_ids, _, _ = a.prefill(Request('a-1', tokens))
                self.assertEqual(len([e for e in a.events if e['type'] == 'BlockStored']), 5)
                report(b)
                hellos = b.scheduler._scheduler._ranks
                self.assertEqual(sorted(hellos), sorted((r, s) for s in range(2) for r in range(tp)))
                for (r, s), h in hellos.items():
                    self.assertTrue(h.namespace.endswith(f'/tp{r}of{tp}/pp{s}of2'), h.namespace)
                    self.assertEqual(h.parts, 1)
                # Stage 0 owns 1 layer, stage 1 owns 2: different block sizes per stage.
                self.assertEqual(hellos[(0, 1)].block_size, 2 * hellos[(0, 0)].block_size)
                b_ids, loaded, _ = b.prefill(Request('b-1', tokens))
                self.assertEqual(loaded, 5 * BLOCK_TOKENS)
                self.check_loaded(a, a_ids, b, b_ids, 5)
                self.assertEqual(sum(w.counters['loaded_blocks'] for w in b.workers), 5 * b.world)
                self.assertEqual(sum(w.counters['load_failed_blocks'] for w in b.workers), 0)

    @unittest.skipUnless(SOCKET, 'BRIXLET_KV_SOCKET is not set (no live shard)')
    def test_a_stage_missing_blocks_lowers_the_count(self):
        a, b = self.engines(SOCKET, tp=2, pp=2, layers=THREE)
        tokens = prompt(5 * BLOCK_TOKENS + 7, 23)
        a.prefill(Request('a-1', tokens[: 2 * BLOCK_TOKENS + 7]))
        for rank in (0, 1):  # stage 0 (both TP ranks) holds blocks 2-4, stage 1 does not
            plant(SOCKET, a, rank, tokens, 2, 5)
        report(b)
        _, loaded, _ = b.prefill(Request('b-1', tokens))
        self.assertEqual(loaded, 2 * BLOCK_TOKENS)
        self.assertEqual(sum(w.counters['load_failed_blocks'] for w in b.workers), 0)

    # ── blocks larger than the shard's page size ──

    @unittest.skipUnless(SMALL, 'BRIXLET_KV_SMALL_PAGE_SOCKET is not set (no shard with small pages)')
    def test_blocks_larger_than_a_page_are_split_by_layers(self):
        a, b = self.engines(SMALL, tp=2, layers=SEVENTEEN)
        tokens = prompt(5 * BLOCK_TOKENS + 7, 30)
        a_ids, _, _ = a.prefill(Request('a-1', tokens))
        for r in range(2):
            w = worker(a, r)
            # 17 layers × 4 KiB do not fit 64 KiB pages: layers 0-7 in part 0, layers 8-16 in part 1.
            self.assertEqual((w._split.parts, w._split.bounds, w._split.sizes), (2, ((0, 8), (8, 17)), (8 * 4096, 9 * 4096)))
            self.assertTrue(w._client.namespace.endswith(f'/tp{r}of2/pp0of1/parts2'), w._client.namespace)
        stored = [e for e in a.events if e['type'] == 'BlockStored']
        self.assertEqual(len(stored), 5)
        self.assertEqual(stored[1]['parent_block_hash'], stored[0]['block_hashes'][0])  # block keys, not part keys
        self.assertEqual(sum(w.counters['stored_blocks'] for w in a.workers), 10)
        b_ids, loaded, _ = b.prefill(Request('b-1', tokens))  # before the ranks report: its own split
        self.assertEqual(loaded, 5 * BLOCK_TOKENS)
        self.assertEqual(b.scheduler.counters['load_blocks'], 5)  # whole blocks, not parts
        self.check_loaded(a, a_ids, b, b_ids, 5)
        self.assertEqual(sum(w.counters['loaded_blocks'] for w in b.workers), 10)
        self.assertEqual(b.stats.data.get('loaded_bytes'), 10 * 17 * 4096)
        self.assertEqual({h.parts for h in b.scheduler._scheduler._ranks.values()}, {2})

    @unittest.skipUnless(SMALL, 'BRIXLET_KV_SMALL_PAGE_SOCKET is not set (no shard with small pages)')
    def test_a_missing_part_ends_the_count_and_is_a_load_error(self):
        a, b = self.engines(SMALL, tp=2, layers=SEVENTEEN)
        tokens = prompt(5 * BLOCK_TOKENS + 7, 31)
        a.prefill(Request('a-1', tokens[: 3 * BLOCK_TOKENS + 7]))
        plant(SMALL, a, 0, tokens, 3, 5)  # rank 0: blocks 3-4 whole
        plant(SMALL, a, 1, tokens, 3, 5, parts=1)  # rank 1: only the first part of block 3
        _, loaded, _ = b.prefill(Request('b-1', tokens))  # the scheduler counts rank 0's 5
        self.assertEqual(b.scheduler.counters['load_blocks'], 5)
        self.assertEqual(worker(b, 0).counters['loaded_blocks'], 5)
        self.assertEqual(worker(b, 1).counters['loaded_blocks'], 3)
        self.assertEqual(worker(b, 1).counters['load_failed_blocks'], 2)
        self.assertEqual(loaded, 3 * BLOCK_TOKENS)

    @unittest.skipUnless(SMALL, 'BRIXLET_KV_SMALL_PAGE_SOCKET is not set (no shard with small pages)')
    def test_a_missing_part_lowers_the_count_once_the_ranks_report(self):
        a, b = self.engines(SMALL, tp=2, layers=SEVENTEEN)
        tokens = prompt(5 * BLOCK_TOKENS + 7, 32)
        a.prefill(Request('a-1', tokens[: 3 * BLOCK_TOKENS + 7]))
        plant(SMALL, a, 0, tokens, 3, 5)
        plant(SMALL, a, 1, tokens, 3, 5, parts=3)  # rank 1: block 3 whole, block 4's first part
        report(b)
        _, loaded, _ = b.prefill(Request('b-1', tokens))
        self.assertEqual(loaded, 4 * BLOCK_TOKENS)
        self.assertEqual(sum(w.counters['load_failed_blocks'] for w in b.workers), 0)


if __name__ == '__main__':
    unittest.main()
