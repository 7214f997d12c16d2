"""``BrixletConnector``: vLLM's KV connector V1 on the node's brixlet KV shard.

Select it with ``--kv-transfer-config '{"kv_connector":"BrixletConnector",
"kv_connector_module_path":"brixlet_kv.vllm.connector","kv_role":"kv_both",
"kv_connector_extra_config":{"socket":"/run/brixlet/kv.sock"}}'`` (README.md beside this file).

vLLM builds one instance with role SCHEDULER in the engine-core process and one with role WORKER per
GPU worker; they share nothing but the per-step metadata. Loads are asynchronous, like vLLM's
OffloadingConnector: ``get_num_new_matched_tokens`` answers ``None`` while the shard query runs on a
background thread, then ``(tokens of whole blocks beyond the GPU hit, True)``; the workers copy the
blocks in the next step and report the request in ``get_finished``. Saves copy each newly full prompt
block out of the paged tensors into ALLOC leases and SEAL them in ``wait_for_save``.

Without vLLM installed the base classes are local stand-ins (``_compat``): the module loads, and
brixlet's tests drive it in vLLM's step order.
"""

from __future__ import annotations

from ._compat import HAVE_VLLM, KVConnectorBase_V1, KVConnectorMetadata, KVConnectorRole
from .config import resolve_config
from .metadata import BrixletConnectorMetadata, BrixletWorkerMeta
from .scheduler import MEDIUM, SchedulerSide
from .stats import BrixletConnectorStats, BrixletPromMetrics
from .worker import WorkerSide

__all__ = ['BrixletConnector', 'BrixletConnectorMetadata', 'BrixletConnectorStats', 'BrixletPromMetrics', 'BrixletWorkerMeta', 'HAVE_VLLM', 'MEDIUM']


class BrixletConnector(KVConnectorBase_V1):
    def __init__(self, vllm_config, role, kv_cache_config=None) -> None:
        super().__init__(vllm_config, role, kv_cache_config)
        self.config = resolve_config(vllm_config, kv_cache_config)
        self._scheduler: SchedulerSide | None = None
        self._worker: WorkerSide | None = None
        if role == KVConnectorRole.SCHEDULER:
            self._scheduler = SchedulerSide(self.config)
        else:
            self._worker = WorkerSide(self.config)

    @property
    def counters(self) -> dict:
        """Lookups, hits, loads, saves, failures and shard outages seen by this instance."""
        side = self._scheduler if self._scheduler is not None else self._worker
        return dict(side.counters) if side is not None else {}

    # ── scheduler side ──

    def get_num_new_matched_tokens(self, request, num_computed_tokens: int) -> tuple[int | None, bool]:
        assert self._scheduler is not None
        return self._scheduler.get_num_new_matched_tokens(request, num_computed_tokens)

    def update_state_after_alloc(self, request, blocks, num_external_tokens: int) -> None:
        assert self._scheduler is not None
        self._scheduler.update_state_after_alloc(request, blocks, num_external_tokens)

    def build_connector_meta(self, scheduler_output) -> KVConnectorMetadata:
        assert self._scheduler is not None
        return self._scheduler.build_connector_meta(scheduler_output)

    def update_connector_output(self, connector_output) -> None:
        if self._scheduler is not None:
            self._scheduler.update_connector_output(connector_output)

    def request_finished(self, request, block_ids) -> tuple[bool, dict | None]:
        assert self._scheduler is not None
        return self._scheduler.request_finished(request, block_ids)

    def take_events(self):
        return self._scheduler.take_events() if self._scheduler is not None else ()

    # ── worker side ──

    def register_kv_caches(self, kv_caches) -> None:
        assert self._worker is not None
        self._worker.register_kv_caches(kv_caches)

    def start_load_kv(self, forward_context, **kwargs) -> None:
        assert self._worker is not None
        self._worker.start_load_kv(self._get_connector_metadata())

    def wait_for_layer_load(self, layer_name: str) -> None:
        """Waits for this layer's part of the step's layer-wise loads (nothing with ``layerwise_load`` off)."""
        if self._worker is not None:
            self._worker.wait_for_layer_load(layer_name)

    def save_kv_layer(self, layer_name: str, kv_layer, attn_metadata, **kwargs) -> None:
        assert self._worker is not None
        self._worker.save_kv_layer(self._get_connector_metadata(), layer_name, kv_layer)

    def wait_for_save(self) -> None:
        assert self._worker is not None
        self._worker.wait_for_save(self._get_connector_metadata())

    def handle_preemptions(self, kv_connector_metadata) -> None:
        """Nothing in flight: every save of a step is sealed in that step's ``wait_for_save``."""

    def get_finished(self, finished_req_ids: set[str]) -> tuple[set[str] | None, set[str] | None]:
        assert self._worker is not None
        meta = self._connector_metadata if self.has_connector_metadata() else None
        return self._worker.get_finished(meta)

    def get_block_ids_with_load_errors(self) -> set[int]:
        return self._worker.get_block_ids_with_load_errors() if self._worker is not None else set()

    def build_connector_worker_meta(self):
        if self._worker is None:
            return None
        return self._worker.build_worker_meta(self._connector_metadata if self.has_connector_metadata() else None)

    # ── stats (both sides) ──

    def get_kv_connector_stats(self) -> BrixletConnectorStats | None:
        """Counts since the last call: the scheduler's lookups and hits, a worker's loads, failed loads,
        saves and bytes, either side's shard outages; None when nothing happened."""
        side = self._scheduler if self._scheduler is not None else self._worker
        return side.get_stats() if side is not None else None

    @classmethod
    def build_kv_connector_stats(cls, data: dict | None = None) -> BrixletConnectorStats:
        return BrixletConnectorStats(data)

    @classmethod
    def build_prom_metrics(cls, vllm_config, metric_types, labelnames, per_engine_labelvalues) -> BrixletPromMetrics:
        """Counters ``brixlet_connector_<stat>`` (stats.STATS), labelled per engine as vLLM asks."""
        return BrixletPromMetrics(vllm_config, metric_types, labelnames, per_engine_labelvalues)

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown()
        if self._worker is not None:
            self._worker.shutdown()

    # ── class-level answers ──

    @classmethod
    def get_required_kvcache_layout(cls, vllm_config):
        """Either layout works (it is part of the namespace); vLLM keeps its default."""
        return None

    @classmethod
    def requires_piecewise_for_cudagraph(cls, extra_config) -> bool:
        """True: loads and saves run per layer around attention, outside what a full CUDA graph replays."""
        return True

    @property
    def requires_kv_delivery(self) -> bool:
        """A best-effort cache: vLLM never waits for a save to be delivered."""
        return False
