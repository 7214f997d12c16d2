"""The connector's scheduler half: lookups that never block the scheduler loop, load/save planning,
delayed frees and KV events."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from ..client import KvClient
from ..protocol import ITEM_OK, KvConnectError, KvError, connection_ended
from ._compat import block_removed, block_stored
from .config import ConnectorConfig, open_split
from .keys import RequestKeys, chain_seed, expand_keys
from .metadata import BrixletConnectorMetadata, BrixletWorkerMeta, LoadSpec, RankHello, SaveSpec
from .stats import BrixletConnectorStats, StatsDelta

log = logging.getLogger('brixlet_kv.vllm')

#: The ``medium`` of the connector's KV events.
MEDIUM = 'BRIXLET'
#: How many steps a planned save waits for its workers' report before it is forgotten (no event).
_PLANNED_STEPS = 64


class _Req:
    __slots__ = ('request', 'keys', 'query', 'query_blocks', 'local_blocks', 'block_ids', 'loading', 'saved', 'last_save_step', 'lora_name')

    def __init__(self, request, block_tokens: int) -> None:
        lora = getattr(request, 'lora_request', None)
        self.lora_name = getattr(lora, 'lora_name', None) if lora is not None else None
        self.request = request
        self.keys = RequestKeys(block_tokens, chain_seed(self.lora_name, getattr(request, 'cache_salt', None)))
        self.query: Future | None = None
        self.query_blocks = 0
        self.local_blocks = 0
        self.block_ids: list[int] = []
        #: (first block index, GPU block ids) of the load in flight.
        self.loading: tuple[int, list[int]] | None = None
        #: Leading blocks known to be in the shard or already handed to a worker to save.
        self.saved = 0
        self.last_save_step = -1


class SchedulerSide:
    def __init__(self, cfg: ConnectorConfig) -> None:
        self.cfg = cfg
        self.counters = {'lookups': 0, 'lookup_hit_blocks': 0, 'shard_unavailable': 0, 'load_blocks': 0, 'save_blocks': 0, 'stored_blocks': 0, 'missing_blocks': 0}
        self._reqs: dict[str, _Req] = {}
        self._pending_loads: list[LoadSpec] = []
        self._finishing: set[str] = set()
        self._events: list = []
        #: step → key → (parent key, token ids, lora name) of the blocks that step's metadata hands to
        #: workers to save; dropped when the step's output comes back (stored ones become events).
        self._planned: dict[int, dict[bytes, tuple[bytes | None, list[int], str | None]]] = {}
        #: (tp rank, pp rank) → the HELLO parameters that rank's worker reported.
        self._ranks: dict[tuple[int, int], RankHello] = {}
        self._built = 0
        self._outputs = 0
        self._warned = False
        # One thread owns the scheduler's shard connection (a client is one socket, not thread-safe).
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix='brixlet-kv-lookup')
        self._local = threading.local()
        self._stats = StatsDelta(
            self.counters,
            {'lookups': 'lookups', 'hit_blocks': 'lookup_hit_blocks', 'shard_unavailable': 'shard_unavailable'},
            {'hit_tokens': ('hit_blocks', lambda: cfg.block_tokens)},
        )

    # ── lookup (runs on the pool thread) ──

    def _clients(self) -> dict:
        """The lookup thread's connections: namespace → (client, parts); ``None`` → rank (0, 0) from
        this instance's own config, until that rank's worker reports."""
        cs = getattr(self._local, 'clients', None)
        if cs is None:
            cs = self._local.clients = {}
        return cs

    def _client(self, rank: RankHello | None) -> tuple[KvClient, int]:
        cs = self._clients()
        name = None if rank is None else rank.namespace
        got = cs.get(name)
        if got is not None and not got[0].closed:
            return got
        if rank is None:
            if self.cfg.block_bytes is None:
                raise ValueError('BrixletConnector needs vLLM to pass kv_cache_config to the scheduler instance (vLLM ≥ 0.11)')
            known = got[1] if got is not None else None
            c, split = open_split(self.cfg, self.cfg.layer_bytes(), lambda n: self.cfg.namespace(0, 0, n), known)
            got = (c, split.parts)
        else:
            got = (KvClient(self.cfg.socket, rank.namespace, rank.block_size, rank.layout, timeout=self.cfg.timeout_s), rank.parts)
        cs[name] = got
        return got

    def _ask_rank(self, rank: RankHello | None, keys: list[bytes]) -> int:
        """Whole blocks of ``keys`` that one rank's namespace holds (a connection the shard dropped,
        e.g. at an agent restart, is replaced once)."""
        had = self._clients().get(None if rank is None else rank.namespace)
        was_open = had is not None and not had[0].closed
        try:
            return self._ask(rank, keys)
        except KvError as e:
            if not was_open or not connection_ended(e):
                raise  # a new connection failed (the shard is down), or a refusal of this request
            had[0].close()
            return self._ask(rank, keys)

    def _ask(self, rank: RankHello | None, keys: list[bytes]) -> int:
        c, parts = self._client(rank)
        keys = expand_keys(keys, parts)
        if self.cfg.remote_budget_ms is not None and c.remote_read:
            lk = c.lookup(keys, self.cfg.remote_budget_ms)
            ids = [le.lease_id for le in lk.leases if le.status == ITEM_OK]
            if ids:
                c.release(ids)
            return lk.hits // parts
        return c.exists(keys) // parts

    def _query(self, keys: list[bytes], ranks: tuple[RankHello | None, ...]) -> int:
        """The fewest whole blocks any known rank holds: a block loads only if every rank has its slice."""
        cs = self._clients()
        if None not in ranks and None in cs:
            cs.pop(None)[0].close()  # rank (0, 0) reported: its own connection takes over
        try:
            hits = len(keys)
            for rank in ranks:
                hits = min(hits, self._ask_rank(rank, keys[:hits]))
                if hits == 0:
                    break
            return hits
        except (KvConnectError, KvError, OSError) as e:
            for c, _ in cs.values():
                c.close()
            self.counters['shard_unavailable'] += 1
            if self.cfg.shard_down_policy == 'fail':
                raise
            if not self._warned:
                log.warning('brixlet KV shard at %s unavailable (%s): requests recompute their prefill', self.cfg.socket, e)
                self._warned = True
            return 0

    # ── vLLM scheduler-side API ──

    def get_num_new_matched_tokens(self, request, num_computed_tokens: int):
        bt = self.cfg.block_tokens
        st = self._reqs.get(request.request_id)
        if st is None:
            st = self._reqs[request.request_id] = _Req(request, bt)
        # The last token is always computed (its logits are needed), so at most (n - 1) // bt blocks load.
        limit = (request.num_tokens - 1) // bt
        local = num_computed_tokens // bt
        st.local_blocks = local
        if limit <= local:
            return 0, False
        if st.query is None or st.query_blocks != limit:
            keys = st.keys.upto(request.all_token_ids, limit)
            st.query_blocks = limit
            st.query = self._pool.submit(self._query, keys, self._known_ranks())
            self.counters['lookups'] += 1
        if not st.query.done():
            return None, False
        hits = st.query.result()  # re-raises under kv_load_failure_policy "fail"
        st.saved = max(st.saved, min(hits, limit))
        if hits <= local:
            return 0, False
        return (hits - local) * bt, True

    def _known_ranks(self) -> tuple[RankHello | None, ...]:
        """The ranks a lookup asks: every one that reported, and rank (0, 0) from this instance's own
        config (vLLM passes the first worker's ``kv_cache_config``) until it reports itself."""
        ranks: list[RankHello | None] = [self._ranks[r] for r in sorted(self._ranks)]
        if (0, 0) not in self._ranks:
            ranks.insert(0, None)
        return tuple(ranks)

    def update_state_after_alloc(self, request, blocks, num_external_tokens: int) -> None:
        st = self._reqs.get(request.request_id)
        if st is None:
            return
        st.query = None  # the next call (after a preemption) asks again
        if num_external_tokens <= 0:
            return
        bt = self.cfg.block_tokens
        first = st.local_blocks
        keys = st.keys.keys
        # vLLM allocates what get_num_new_matched_tokens answered; blocks the shard lacks by load time
        # (or never had) fail on the workers and are reported as load errors, never used.
        count = min(num_external_tokens // bt, len(keys) - first)
        if count <= 0:
            return
        block_ids = list(blocks.get_block_ids()[0])
        st.loading = (first, block_ids[first : first + count])
        self._pending_loads.append(LoadSpec(request.request_id, keys[first : first + count], block_ids[first : first + count]))
        self.counters['lookup_hit_blocks'] += count
        self.counters['load_blocks'] += count

    def build_connector_meta(self, scheduler_output) -> BrixletConnectorMetadata:
        meta = BrixletConnectorMetadata(step=self._built, loads=self._pending_loads, finished_sending=self._finishing)
        self._pending_loads = []
        self._finishing = set()
        scheduled = scheduler_output.num_scheduled_tokens
        for nr in scheduler_output.scheduled_new_reqs:
            st = self._reqs.get(nr.req_id)
            if st is not None:
                st.block_ids = list(nr.block_ids[0])
                self._plan_saves(st, nr.num_computed_tokens + scheduled.get(nr.req_id, 0), meta)
        cached = scheduler_output.scheduled_cached_reqs
        resumed_ids = set(getattr(cached, 'resumed_req_ids', ()) or ())
        resumed_flags = getattr(cached, 'resumed_from_preemption', None)
        for i, rid in enumerate(cached.req_ids):
            st = self._reqs.get(rid)
            if st is None:
                continue
            new_ids = cached.new_block_ids[i]
            resumed = rid in resumed_ids or bool(resumed_flags and resumed_flags[i])
            if new_ids is not None:
                st.block_ids = list(new_ids[0]) if resumed else st.block_ids + list(new_ids[0])
            self._plan_saves(st, cached.num_computed_tokens[i] + scheduled.get(rid, 0), meta)
        self._built += 1
        return meta

    def _plan_saves(self, st: _Req, computed_tokens: int, meta: BrixletConnectorMetadata) -> None:
        bt = self.cfg.block_tokens
        tokens = st.request.all_token_ids
        limit = len(tokens) if self.cfg.save_decode else len(st.request.prompt_token_ids)
        full = min(computed_tokens, limit) // bt
        full = min(full, len(st.block_ids))
        if full <= st.saved:
            return
        keys = st.keys.upto(tokens, full)
        first = st.saved
        parent = keys[first - 1] if first > 0 else None
        meta.saves.append(SaveSpec(st.request.request_id, parent, keys[first:full], st.block_ids[first:full]))
        planned = self._planned.setdefault(meta.step, {})
        for b in range(first, full):
            planned[keys[b]] = (keys[b - 1] if b > 0 else None, list(tokens[b * bt : (b + 1) * bt]), st.lora_name)
        self.counters['save_blocks'] += full - first
        st.saved = full
        st.last_save_step = meta.step

    def update_connector_output(self, connector_output) -> None:
        """Turns the blocks every rank sealed into BlockStored events (workers report through
        ``build_connector_worker_meta``, once per step that had saves or failed loads)."""
        invalid = getattr(connector_output, 'invalid_block_ids', None) or ()
        for rid in getattr(connector_output, 'finished_recving', None) or ():
            st = self._reqs.get(rid)
            if st is None or st.loading is None:
                continue
            first, ids = st.loading
            st.loading = None
            failed = [i for i, b in enumerate(ids) if b in invalid]
            if failed:
                # The shard lost these blocks: the recomputed ones are saved again.
                st.saved = min(st.saved, first + failed[0])
        wm = getattr(connector_output, 'kv_connector_worker_meta', None)
        if not isinstance(wm, BrixletWorkerMeta):
            return
        for rank in wm.hello:
            self._ranks[(rank.tp_rank, rank.pp_rank)] = rank
        stored = set(wm.stored)
        for step in sorted(s for s in self._planned if s <= wm.step):
            for key, (parent, token_ids, lora_name) in self._planned.pop(step).items():
                if key in stored:
                    self._events.append(block_stored([key], parent, token_ids, self.cfg.block_tokens, lora_name, MEDIUM))
                    self.counters['stored_blocks'] += 1
        if wm.missing:
            self._events.append(block_removed(list(wm.missing), MEDIUM))
            self.counters['missing_blocks'] += len(wm.missing)

    def request_finished(self, request, block_ids) -> tuple[bool, dict | None]:
        st = self._reqs.pop(request.request_id, None)
        if st is None:
            return False, None
        if st.query is not None:
            st.query.cancel()
        # vLLM calls this while it processes the output of step ``_outputs`` (the oldest step built
        # and not yet processed): that step and all before it have run, so their saves are sealed.
        # A step built ahead (async scheduling) may still be reading these GPU blocks.
        if st.last_save_step > self._outputs:
            self._finishing.add(request.request_id)
            return True, None
        return False, None

    def take_events(self):
        """Also counts processed step outputs: vLLM calls it once at the end of every
        ``update_from_output``, whether or not the step produced connector output (which is why
        ``update_connector_output``, skipped for empty outputs, cannot count them)."""
        self._outputs += 1
        # Without worker metadata (a vLLM that predates it) planned saves would never be matched.
        for step in [s for s in self._planned if s < self._outputs - _PLANNED_STEPS]:
            del self._planned[step]
        events, self._events = self._events, []
        return events

    def get_stats(self) -> BrixletConnectorStats | None:
        """Lookups, hits and shard outages since the last call (None when nothing happened)."""
        return self._stats.take()

    def shutdown(self) -> None:
        def close() -> None:
            for c, _ in self._clients().values():
                c.close()

        try:
            self._pool.submit(close).result(timeout=5)
        except Exception:
            pass
        self._pool.shutdown(wait=False, cancel_futures=True)
