"""The connector's worker half: copies between vLLM's paged KV tensors and the shard's slab slots.

A brixlet block is one vLLM block of every attention layer of this worker, layers in sorted name
order; each layer contributes its block's bytes in the tensor's physical order (so NHD and HND give
different bytes, which is why the layout is part of the namespace). A block larger than the shard's
page size is stored as several shard blocks of contiguous layer ranges (``config.Split``). torch is
imported lazily: the scheduler process never needs it.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from ..client import KvClient, Lease
from ..protocol import ITEM_EXISTS, ITEM_OK, KvConnectError, KvError, connection_ended
from .config import ConnectorConfig, Split, open_split
from .keys import expand_keys, part_keys
from .metadata import BrixletConnectorMetadata, BrixletWorkerMeta, RankHello
from .stats import BrixletConnectorStats, StatsDelta

log = logging.getLogger('brixlet_kv.vllm')


def block_dim(shape) -> int:
    """The dimension of a paged KV tensor that indexes blocks: 1 for vLLM's ``(2, num_blocks, …)``
    (FlashAttention and friends, 5 dims), else 0 (``(num_blocks, 2, …)`` FlashInfer, ``(num_blocks, …)`` MLA)."""
    return 1 if len(shape) == 5 and shape[0] == 2 else 0


def physical(t):
    """``(view, block dim in the view)``: ``t`` permuted so that the view is contiguous (its memory
    order), which is how an HND cache (a permuted view of a contiguous tensor) is stored."""
    order = sorted(range(t.dim()), key=lambda d: (-t.stride(d), d))
    view = t.permute(*order)
    if not view.is_contiguous():
        raise ValueError(f'paged KV tensor of shape {tuple(t.shape)} and strides {t.stride()} is not a permutation of a contiguous tensor')
    return view, order.index(block_dim(t.shape))


class _Layer:
    __slots__ = ('name', 'view', 'bdim', 'offset', 'nbytes', 'shape', 'dtype', 'part')

    def __init__(self, name: str, t) -> None:
        self.name = name
        self.view, self.bdim = physical(t)
        one = self.view.select(self.bdim, 0)
        self.shape = tuple(one.shape)
        self.dtype = t.dtype
        #: The part of the block this layer is stored in, and its offset there (set on connect).
        self.part = 0
        self.offset = 0
        self.nbytes = one.numel() * t.element_size()

    def block(self, block_id: int, tensor=None):
        if tensor is None:
            return self.view.select(self.bdim, block_id)
        view, bdim = physical(tensor)
        return view.select(bdim, block_id)

    def slot(self, lease_view):
        """This layer's bytes in the slab slot of its part of a block, as a tensor of the block's shape."""
        import torch

        raw = torch.frombuffer(lease_view, dtype=torch.uint8, count=self.nbytes, offset=self.offset)
        return raw.view(self.dtype).view(self.shape)


class _LayerwiseLoad:
    """One step's layer-wise loads: the leases to release and the per-layer completion signals."""

    def __init__(self, held: list) -> None:
        self.held = held
        self.cuda_events: dict = {}
        self.cpu_events: dict[str, threading.Event] = {}
        self.future = None
        self.error: BaseException | None = None


class WorkerSide:
    def __init__(self, cfg: ConnectorConfig) -> None:
        self.cfg = cfg
        self.counters = {'loaded_blocks': 0, 'load_failed_blocks': 0, 'stored_blocks': 0, 'save_skipped_blocks': 0, 'shard_unavailable': 0}
        self._layers: dict[str, _Layer] = {}
        self._block_bytes = 0
        self._client: KvClient | None = None
        #: How blocks are cut into shard blocks (fixed by the first connection), and the HELLO
        #: parameters not yet reported to the scheduler instance.
        self._split: Split | None = None
        self._hello: RankHello | None = None
        self._registered: list[int] = []  # page-locked slab addresses
        self._recving: set[str] = set()
        self._load_errors: set[int] = set()
        self._stored: list[bytes] = []
        self._missing: list[bytes] = []
        # Saves of the current step: (key, lease, block id) per leased block, and the layers copied so far.
        self._save_leases: list[tuple[bytes, Lease, int]] | None = None
        self._saved_layers: set[str] = set()
        self._warned = False
        # Layer-wise loads in flight (one step's), the side CUDA stream and the CPU copy thread.
        self._pending: _LayerwiseLoad | None = None
        self._stream = None
        self._copier: ThreadPoolExecutor | None = None
        #: Test seam: called on the copy thread before each layer's copies (CPU tensors only).
        self._before_layer_copy = None
        self._stats = StatsDelta(
            self.counters,
            {'loaded_blocks': 'loaded_blocks', 'failed_load_blocks': 'load_failed_blocks', 'saved_blocks': 'stored_blocks', 'skipped_save_blocks': 'save_skipped_blocks', 'shard_unavailable': 'shard_unavailable'},
            {'loaded_bytes': ('loaded_blocks', lambda: self._block_bytes), 'saved_bytes': ('saved_blocks', lambda: self._block_bytes)},
        )

    # ── setup ──

    def register_kv_caches(self, kv_caches: dict) -> None:
        for name in sorted(kv_caches):
            self._layers[name] = _Layer(name, kv_caches[name])
        offset = self._block_bytes = sum(la.nbytes for la in self._layers.values())
        if self.cfg.block_bytes is not None and self.cfg.block_bytes != offset:
            raise ValueError(f'BrixletConnector: the KV tensors hold {offset} bytes per block, kv_cache_config says {self.cfg.block_bytes}')
        self._connect()

    def _open(self) -> KvClient:
        if self._client is None or self._client.closed:
            self._drain_copies()
            self._unpin()
            known = self._split.parts if self._split is not None else None
            sizes = [la.nbytes for la in self._layers.values()]
            client, split = open_split(self.cfg, sizes, lambda n: self.cfg.namespace(parts=n), known)
            if self._split is None:
                self._use_split(split)
                self._hello = RankHello(self.cfg.tp_rank, self.cfg.pp_rank, client.namespace, split.block_size, self.cfg.layout_signature(), split.parts)
            self._client = client
            self._pin(self._client)
        return self._client

    def _use_split(self, split: Split) -> None:
        self._split = split
        offsets = [0] * split.parts
        for i, layer in enumerate(self._layers.values()):
            layer.part = split.part_of(i)
            layer.offset = offsets[layer.part]
            offsets[layer.part] += layer.nbytes

    def _connect(self) -> KvClient | None:
        try:
            return self._open()
        except (KvConnectError, KvError, OSError) as e:
            self._unavailable(e)
            return None

    def _first_call(self, fn):
        """``(fn(client), client)``; a connection the shard dropped (agent restart) is replaced once."""
        client = self._open()
        try:
            return fn(client), client
        except KvError as e:
            if not connection_ended(e):
                raise
            client.close()
            client = self._open()
            return fn(client), client

    def _pin(self, client: KvClient) -> None:
        """Page-locks the slabs once so device copies run at pinned speed (only with CUDA tensors)."""
        import torch

        if not torch.cuda.is_available() or not any(la.view.is_cuda for la in self._layers.values()):
            return
        cudart = torch.cuda.cudart()
        for view in client.slab_views():
            addr = ctypes.addressof(ctypes.c_char.from_buffer(view))
            cudart.cudaHostRegister(addr, len(view), 0)
            self._registered.append(addr)

    def _unpin(self) -> None:
        if self._registered:
            import torch

            cudart = torch.cuda.cudart()
            for addr in self._registered:
                cudart.cudaHostUnregister(addr)
            self._registered = []

    def _unavailable(self, e: Exception) -> None:
        self.counters['shard_unavailable'] += 1
        self._drain_copies()  # closing unmaps (and unpins) the slabs the copies read
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.cfg.shard_down_policy == 'fail':
            raise e
        if not self._warned:
            log.warning('brixlet KV shard at %s unavailable (%s): loads fail over to recompute, saves are skipped', self.cfg.socket, e)
            self._warned = True

    # ── loads ──

    def start_load_kv(self, meta: BrixletConnectorMetadata) -> None:
        """Leases every block of the step's loads and copies them into the paged tensors: layer by layer
        behind the forward (``layerwise_load``, the default: a side CUDA stream, or a CPU thread for CPU
        tensors), else all before returning. The loaded requests are not in this step's batch (vLLM
        schedules them once ``get_finished`` reports them); ``get_finished`` waits for the copies."""
        self._finish_loads()  # normally nothing: the previous step's get_finished waited already
        copies: list = []  # (leases of the block's parts, GPU block id) of every block to copy
        held: list = []  # (spec, client, lease ids, hits, looked up): released once the copies are done
        for spec in meta.loads:
            self._recving.add(spec.req_id)
            try:
                # With remote_budget_ms the shard may first fetch what it lacks from other agents
                # (the scheduler's lookup fetched rank 0's namespace; other ranks fetch their own here).
                lk, client = self._first_call(lambda c: c.lookup(expand_keys(spec.keys, self._parts()), self.cfg.remote_budget_ms))
            except (KvConnectError, KvError, OSError) as e:
                self._unavailable(e)
                self._account(spec, 0, False)
                continue
            ids = [le.lease_id for le in lk.leases if le.status == ITEM_OK]
            n = self._parts()
            whole = lk.hits // n  # a block counts only with every part
            pairs = [(lk.leases[i * n : (i + 1) * n], block_id) for i, block_id in zip(range(whole), spec.block_ids)]
            if not self.cfg.layerwise_load:
                hits = 0
                try:
                    for leases, block_id in pairs:
                        for layer in self._layers.values():
                            layer.block(block_id).copy_(layer.slot(leases[layer.part].view))
                    hits = whole
                finally:
                    self._release(client, ids)
                self._account(spec, hits, True)
                continue
            copies.extend(pairs)
            held.append((spec, client, ids, whole))
        if held:
            self._pending = _LayerwiseLoad(held)
            self._start_copies(self._pending, copies)

    def _start_copies(self, pending: '_LayerwiseLoad', copies: list) -> None:
        layers = list(self._layers.values())
        if any(la.view.is_cuda for la in layers):
            import torch

            device = layers[0].view.device
            if self._stream is None:
                self._stream = torch.cuda.Stream(device=device)
            # The blocks were just allocated: whatever the forward stream queued on them runs first.
            self._stream.wait_stream(torch.cuda.current_stream(device))
            try:
                with torch.cuda.stream(self._stream):
                    for layer in layers:
                        for leases, block_id in copies:
                            layer.block(block_id).copy_(layer.slot(leases[layer.part].view), non_blocking=True)
                        ev = torch.cuda.Event()
                        ev.record(self._stream)
                        pending.cuda_events[layer.name] = ev
            except Exception as e:  # noqa: BLE001 - reported as failed blocks, not a crashed engine
                pending.error = e
                self._stream.synchronize()
            return
        for layer in layers:
            pending.cpu_events[layer.name] = threading.Event()
        if self._copier is None:
            self._copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix='brixlet-kv-load')
        pending.future = self._copier.submit(self._copy_layers, pending, layers, copies)

    def _copy_layers(self, pending: '_LayerwiseLoad', layers: list, copies: list) -> None:
        try:
            for layer in layers:
                if self._before_layer_copy is not None:
                    self._before_layer_copy(layer.name)
                for leases, block_id in copies:
                    layer.block(block_id).copy_(layer.slot(leases[layer.part].view))
                pending.cpu_events[layer.name].set()
        except BaseException as e:  # noqa: BLE001 - reported as failed blocks by _finish_loads
            pending.error = e
        finally:
            for ev in pending.cpu_events.values():
                ev.set()

    def wait_for_layer_load(self, layer_name: str) -> None:
        """Returns once this layer's part of the step's loads is in the paged tensor (on CUDA: the
        forward stream waits for it on the device; the host does not block)."""
        pending = self._pending
        if pending is None:
            return
        ev = pending.cuda_events.get(layer_name)
        if ev is not None:
            import torch

            torch.cuda.current_stream(self._layers[layer_name].view.device).wait_event(ev)
            return
        cev = pending.cpu_events.get(layer_name)
        if cev is not None:
            cev.wait()

    def _drain_copies(self) -> None:
        """Blocks until the layer-wise copies in flight (if any) stopped reading the slabs."""
        pending = self._pending
        if pending is None:
            return
        if pending.future is not None:
            pending.future.result()
        elif pending.cuda_events:
            list(pending.cuda_events.values())[-1].synchronize()

    def _finish_loads(self) -> None:
        """Waits for the step's layer-wise copies, releases their leases and accounts the blocks."""
        self._drain_copies()
        pending, self._pending = self._pending, None
        if pending is None:
            return
        if pending.error is not None:
            log.error('brixlet KV load copies failed (%s): their blocks are reported as load errors', pending.error)
        for spec, client, ids, hits in pending.held:
            if pending.error is not None or client.closed:
                # A copy failed, or the connection (and with it the leases) died mid-copy: the slots
                # may have been reused, so none of these blocks is trusted.
                self._account(spec, 0, False)
                continue
            self._release(client, ids)
            self._account(spec, hits, True)

    def _parts(self) -> int:
        return self._split.parts if self._split is not None else 1

    def _release(self, client: KvClient, ids: list[int]) -> None:
        if ids and not client.closed:
            try:
                client.release(ids)
            except (KvConnectError, KvError, OSError) as e:
                self._unavailable(e)

    def _account(self, spec, hits: int, looked_up: bool) -> None:
        self.counters['loaded_blocks'] += hits
        failed = spec.block_ids[hits:]
        self.counters['load_failed_blocks'] += len(failed)
        self._load_errors.update(failed)
        if looked_up:  # the shard answered and no longer holds these blocks
            self._missing.extend(spec.keys[hits:])

    # ── saves ──

    def save_kv_layer(self, meta: BrixletConnectorMetadata, layer_name: str, kv_layer) -> None:
        if not meta.saves:
            return
        leases = self._alloc(meta)
        layer = self._layers.get(layer_name)
        if layer is None or not leases:
            return
        for _, parts, block_id in leases:
            lease = parts.get(layer.part)
            if lease is not None:
                layer.slot(lease.view).copy_(layer.block(block_id, kv_layer))
        self._saved_layers.add(layer_name)

    def _alloc(self, meta: BrixletConnectorMetadata) -> list:
        if self._save_leases is not None:
            return self._save_leases
        self._save_leases = []
        down = False
        for spec in meta.saves:
            if down:
                self.counters['save_skipped_blocks'] += len(spec.keys)
                continue
            try:
                if self._save_leases:  # leases of this step live on this connection: no reconnect
                    leases = self._alloc_parts(self._client, spec)
                else:
                    leases, _ = self._first_call(lambda c: self._alloc_parts(c, spec))
            except (KvConnectError, KvError, OSError) as e:
                self.counters['save_skipped_blocks'] += len(spec.keys)
                if isinstance(e, KvError) and not isinstance(e, KvConnectError) and self._client is not None and not self._client.closed:
                    continue  # e.g. TOO_MANY_LEASES for this batch: skip it, the cache is best effort
                self._unavailable(e)
                down = True
                continue
            n = self._parts()
            for i, (key, block_id) in enumerate(zip(spec.keys, spec.block_ids)):
                got = leases[i * n : (i + 1) * n]
                parts = {j: lease for j, lease in enumerate(got) if lease.status == ITEM_OK}
                if parts and all(lease.status in (ITEM_OK, ITEM_EXISTS) for lease in got):
                    self._save_leases.append((key, parts, block_id))  # the parts the shard lacks
                    continue
                self.counters['save_skipped_blocks'] += 1  # EXISTS (already cached), FULL, NO_PARENT, …
                if parts:  # a part failed: the block cannot be whole, its other parts are not written
                    self._drop([lease.lease_id for lease in parts.values()])
        return self._save_leases

    def _alloc_parts(self, client: KvClient, spec) -> list[Lease]:
        """ALLOC of every part of ``spec``'s blocks, one chain continuing the parent block's last part."""
        split = self._split
        assert split is not None  # set by the connection ``client`` came from
        parent = part_keys(spec.parent, split.parts)[-1] if spec.parent is not None else None
        return client.alloc(expand_keys(spec.keys, split.parts), list(split.sizes) * len(spec.keys), parent=parent)

    def _drop(self, ids: list[int]) -> None:
        client = self._client
        if ids and client is not None and not client.closed:
            try:
                client.drop(ids)
            except (KvConnectError, KvError, OSError) as e:
                self._unavailable(e)

    def wait_for_save(self, meta: BrixletConnectorMetadata) -> None:
        """Copies the layers ``save_kv_layer`` did not see, then seals: a block is visible only whole."""
        if not meta.saves:
            return
        leases = self._alloc(meta)
        try:
            for name, layer in self._layers.items():
                if name in self._saved_layers:
                    continue
                for _, parts, block_id in leases:
                    lease = parts.get(layer.part)
                    if lease is not None:
                        layer.slot(lease.view).copy_(layer.block(block_id))
            client = self._client
            if leases and client is not None and not client.closed:
                # In chain order: a part seals only after its parent.
                statuses = iter(client.seal([lease.lease_id for _, parts, _ in leases for lease in parts.values()]))
                for key, parts, _ in leases:
                    if all([next(statuses) == ITEM_OK for _ in parts]):
                        self._stored.append(key)
                        self.counters['stored_blocks'] += 1
                    else:
                        self.counters['save_skipped_blocks'] += 1
        except (KvConnectError, KvError, OSError) as e:
            self._unavailable(e)
        finally:
            self._save_leases = None
            self._saved_layers = set()

    # ── after the forward ──

    def get_finished(self, meta: BrixletConnectorMetadata | None) -> tuple[set | None, set | None]:
        self._finish_loads()
        sending = set(meta.finished_sending) if meta is not None else set()
        recving, self._recving = self._recving, set()
        return (sending or None, recving or None)

    def get_block_ids_with_load_errors(self) -> set[int]:
        errors, self._load_errors = self._load_errors, set()
        return errors

    def build_worker_meta(self, meta: BrixletConnectorMetadata | None) -> BrixletWorkerMeta | None:
        """A report for every step with saves or failed loads (every rank of a step reports alike), and
        once after the first connection (this rank's HELLO parameters)."""
        if meta is None or (not meta.saves and not self._missing and self._hello is None):
            return None
        wm = BrixletWorkerMeta(meta.step, self._stored, self._missing, [self._hello] if self._hello is not None else [])
        self._stored, self._missing, self._hello = [], [], None
        return wm

    def get_stats(self) -> BrixletConnectorStats | None:
        """Loads, failed loads, saves and bytes since the last call (None when nothing happened)."""
        return self._stats.take()

    def shutdown(self) -> None:
        self._finish_loads()
        if self._copier is not None:
            self._copier.shutdown(wait=True)
            self._copier = None
        self._unpin()
        if self._client is not None:
            self._client.close()
            self._client = None
