"""A vLLM-less driver for BrixletConnector: one scheduler instance and one worker instance per rank
(TP × PP; pipeline stage ``s`` owns the ``s``-th contiguous share of the layers),
called in vLLM's documented step order (metadata built on the scheduler, bound on every worker; worker
outputs aggregated across ranks and handed back), over paged KV tensors in vLLM's layouts (CPU torch by
default; ``Engine(device=...)`` puts them on another device, e.g. ``cuda``).

It is not vLLM's scheduler: one request at a time, no local prefix cache, policy "recompute" for
failed loads (the computed prefix is cut back to the first failed block, as vLLM does).
"""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import torch

from brixlet_kv.vllm.connector import BrixletConnector
from brixlet_kv.vllm._compat import KVConnectorRole

BLOCK_TOKENS = 16
HEADS = 2  # per rank
HEAD_SIZE = 32
LAYERS = ('model.layers.0.self_attn.attn', 'model.layers.1.self_attn.attn')


def layer_names(n: int) -> tuple[str, ...]:
    return tuple(f'model.layers.{i}.self_attn.attn' for i in range(n))


def stage_layers(layers, pp: int, stage: int) -> tuple[str, ...]:
    """The layers pipeline stage ``stage`` of ``pp`` owns (vLLM cuts them into contiguous ranges)."""
    n = len(layers)
    return tuple(layers[stage * n // pp : (stage + 1) * n // pp])


class Request:
    """The fields of vLLM's ``Request`` the connector reads."""

    def __init__(self, request_id: str, prompt_token_ids: list[int], lora_name: str | None = None, cache_salt: str | None = None) -> None:
        self.request_id = request_id
        self.prompt_token_ids = list(prompt_token_ids)
        self.output_token_ids: list[int] = []
        self.lora_request = SimpleNamespace(lora_name=lora_name) if lora_name else None
        self.cache_salt = cache_salt

    @property
    def all_token_ids(self) -> list[int]:
        return self.prompt_token_ids + self.output_token_ids

    @property
    def num_tokens(self) -> int:
        return len(self.prompt_token_ids) + len(self.output_token_ids)


class Blocks:
    """vLLM's ``KVCacheBlocks``: one list of block ids per KV-cache group (one group here)."""

    def __init__(self, ids: list[int]) -> None:
        self._ids = ids

    def get_block_ids(self):
        return (list(self._ids),)


def scheduler_output(new=(), cached=None, scheduled=None, finished=()):
    return SimpleNamespace(
        scheduled_new_reqs=list(new),
        scheduled_cached_reqs=cached or SimpleNamespace(req_ids=[], new_block_ids=[], num_computed_tokens=[], resumed_req_ids=set()),
        num_scheduled_tokens=dict(scheduled or {}),
        finished_req_ids=set(finished),
    )


def vllm_config(socket: str, model: str, tp: int, rank: int, layout: str, policy: str = 'recompute', extra: dict | None = None, pp: int = 1):
    return SimpleNamespace(
        kv_transfer_config=SimpleNamespace(kv_connector_extra_config={'socket': socket, 'kv_layout': layout, 'kv_load_failure_policy': policy, 'timeout_s': 10, **(extra or {})}),
        cache_config=SimpleNamespace(block_size=BLOCK_TOKENS, cache_dtype='auto'),
        model_config=SimpleNamespace(model=model, dtype='float16'),
        parallel_config=SimpleNamespace(tensor_parallel_size=tp, pipeline_parallel_size=pp, rank=rank),
    )


def kv_cache_config(num_blocks: int, layers=None):
    page = 2 * BLOCK_TOKENS * HEADS * HEAD_SIZE * 2  # K and V, fp16
    names = list(LAYERS if layers is None else layers)
    return SimpleNamespace(num_blocks=num_blocks, kv_cache_groups=[SimpleNamespace(layer_names=names, kv_cache_spec=SimpleNamespace(page_size_bytes=page))])


def paged_tensor(num_blocks: int, layout: str, device: str = 'cpu'):
    """vLLM's FlashAttention cache: logical shape (2, num_blocks, block_size, heads, head_size); HND stores
    heads before tokens (a permuted view of a contiguous tensor)."""
    if layout == 'NHD':
        return torch.zeros(2, num_blocks, BLOCK_TOKENS, HEADS, HEAD_SIZE, dtype=torch.float16, device=device)
    return torch.zeros(2, num_blocks, HEADS, BLOCK_TOKENS, HEAD_SIZE, dtype=torch.float16, device=device).permute(0, 1, 3, 2, 4)


class Engine:
    def __init__(
        self, socket: str, model: str, seed: int, tp: int = 1, layout: str = 'NHD', num_blocks: int = 64, policy: str = 'recompute', extra: dict | None = None, device: str = 'cpu', pp: int = 1, layers=None
    ) -> None:
        self.tp = tp
        self.world = tp * pp
        # Worker i is global rank i: TP rank i % tp of pipeline stage i // tp (vLLM numbers TP innermost).
        self.layers = [stage_layers(LAYERS if layers is None else layers, pp, r // tp) for r in range(self.world)]
        # vLLM hands the scheduler instance the first worker's kv_cache_config.
        self.scheduler = BrixletConnector(vllm_config(socket, model, tp, 0, layout, policy, extra, pp), KVConnectorRole.SCHEDULER, kv_cache_config(num_blocks, self.layers[0]))
        self.workers = [
            BrixletConnector(vllm_config(socket, model, tp, r, layout, policy, extra, pp), KVConnectorRole.WORKER, kv_cache_config(num_blocks, self.layers[r])) for r in range(self.world)
        ]
        self.kv = [{name: paged_tensor(num_blocks, layout, device) for name in names} for names in self.layers]
        for w, caches in zip(self.workers, self.kv):
            w.register_kv_caches(caches)
        self.free = list(range(num_blocks))
        self.gen = torch.Generator().manual_seed(seed)
        self.events: list = []
        #: what vLLM's stats loggers received: the data of every step's aggregated stats, summed
        self.stats = BrixletConnector.build_kv_connector_stats({})

    def close(self) -> None:
        for c in [self.scheduler, *self.workers]:
            c.shutdown()

    # ── one engine step ──

    def step(self, so, compute=None, before_output=None):
        return self.run(self.scheduler.build_connector_meta(so), so, compute, before_output)

    def run(self, meta, so, compute=None, before_output=None):
        """The workers' half of a step whose metadata was built already (async scheduling builds the
        next step's before this one's output is processed), then the scheduler's output handling."""
        sending: dict[str, int] = {}
        recving: dict[str, int] = {}
        invalid: set[int] = set()
        wm = None
        stats = None
        for r, w in enumerate(self.workers):
            w.bind_connector_metadata(meta)
            w.start_load_kv(None)
            for name in self.layers[r]:
                w.wait_for_layer_load(name)
                if compute is not None:
                    self._compute(r, name, *compute)
                w.save_kv_layer(name, self.kv[r][name], None)
            w.wait_for_save()
            s, rv = w.get_finished(so.finished_req_ids)
            for rid in s or ():
                sending[rid] = sending.get(rid, 0) + 1
            for rid in rv or ():
                recving[rid] = recving.get(rid, 0) + 1
            invalid |= w.get_block_ids_with_load_errors()
            m = w.build_connector_worker_meta()
            if m is not None:
                wm = m if wm is None else wm.aggregate(m)
            st = w.get_kv_connector_stats()
            if st is not None:
                stats = st if stats is None else stats.aggregate(st)
            w.clear_connector_metadata()
        out = SimpleNamespace(
            finished_sending={k for k, n in sending.items() if n == self.world},
            finished_recving={k for k, n in recving.items() if n == self.world},
            invalid_block_ids=invalid,
            kv_connector_worker_meta=wm,
            kv_connector_stats=stats,
        )
        if before_output is not None:
            before_output()  # vLLM finishes requests before it hands over the connector output
        if out.finished_sending or out.finished_recving or out.invalid_block_ids or wm is not None:
            self.scheduler.update_connector_output(out)  # vLLM skips an empty output
        self.events.extend(self.scheduler.take_events())  # called after every step's output
        sched = self.scheduler.get_kv_connector_stats()  # vLLM adds the scheduler's own stats
        if sched is not None:
            stats = sched if stats is None else stats.aggregate(sched)
        if stats is not None:  # the data dict crosses to the logger process, which rebuilds the object
            self.stats.aggregate(BrixletConnector.build_kv_connector_stats(dict(stats.data)))
        return out

    def _compute(self, rank: int, layer: str, block_ids: list[int], start: int, end: int) -> None:
        """The 'forward': fresh random K/V for token positions [start, end) (only a load can reproduce them)."""
        t = self.kv[rank][layer]
        for pos in range(start, end):
            t[:, block_ids[pos // BLOCK_TOKENS], pos % BLOCK_TOKENS] = torch.randn(2, HEADS, HEAD_SIZE, generator=self.gen).half().to(t.device)

    # ── one request, start to finish ──

    def prefill(self, req: Request, timeout: float = 10.0, after_lookup=None):
        """Runs ``req``'s prompt through lookup, an async load if the shard has blocks, the forward and
        the finish. Returns (block ids, tokens loaded and kept, whether request_finished delayed the free)."""
        deadline = time.monotonic() + timeout
        while True:  # vLLM asks again each step while the answer is None
            n, load_async = self.scheduler.get_num_new_matched_tokens(req, 0)
            if n is not None:
                break
            if time.monotonic() > deadline:
                raise AssertionError('get_num_new_matched_tokens stayed None')
            time.sleep(0.002)
        assert not (n == 0 and load_async), 'load_async must be False when nothing loads'
        if after_lookup is not None:
            after_lookup()
        ids = [self.free.pop(0) for _ in range(math.ceil(req.num_tokens / BLOCK_TOKENS))]
        self.scheduler.update_state_after_alloc(req, Blocks(ids), n)
        computed = 0
        if n:
            assert load_async
            out = self.step(scheduler_output())  # WAITING_FOR_REMOTE_KVS: no tokens scheduled, workers load
            assert req.request_id in out.finished_recving, out
            bad = [ids.index(b) for b in out.invalid_block_ids if b in ids]
            computed = min(bad) * BLOCK_TOKENS if bad else n
        new = SimpleNamespace(req_id=req.request_id, block_ids=(ids,), num_computed_tokens=computed)
        delayed = []
        self.step(
            scheduler_output([new], scheduled={req.request_id: req.num_tokens - computed}),
            compute=(ids, computed, req.num_tokens),
            before_output=lambda: delayed.append(self.scheduler.request_finished(req, ids)[0]),
        )
        if delayed[0]:
            out = self.step(scheduler_output(finished=[req.request_id]))
            assert req.request_id in out.finished_sending
        return ids, computed, delayed[0]

    def block_bytes(self, rank: int, block_id: int) -> bytes:
        """Every layer's bytes of one block, as stored (physical order)."""
        out = b''
        for name in self.layers[rank]:
            t = self.kv[rank][name]
            out += t.select(1, block_id).contiguous().cpu().numpy().tobytes()
        return out
