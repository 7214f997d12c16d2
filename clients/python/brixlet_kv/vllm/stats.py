"""The connector's statistics on vLLM's KV connector stats path, and its Prometheus counters.

Each worker (and the scheduler instance) hands vLLM, after every step, the counts it added since it
last reported (``get_kv_connector_stats``); vLLM sums the workers' objects (``aggregate``) and the
scheduler's, ships the ``data`` dict to its stats loggers, which rebuild an object with
``build_kv_connector_stats(data)`` and feed ``build_prom_metrics``'s object (``observe(data,
engine_idx)``). Every value is a count, summed: worker counts are summed over TP ranks.

Where vLLM is absent the classes below derive from local stand-ins and the data stays a plain dict
of ints; ``BrixletPromMetrics`` works with any metric classes that have prometheus_client's
``(name, documentation, labelnames)`` constructor, ``labels(...)`` and ``inc(n)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

try:  # pragma: no cover - exercised only where vLLM is installed
    from vllm.distributed.kv_transfer.kv_connector.v1.metrics import (  # type: ignore[import-not-found]
        KVConnectorPromMetrics as _PromBase,
    )
    from vllm.distributed.kv_transfer.kv_connector.v1.metrics import (  # type: ignore[import-not-found]
        KVConnectorStats as _StatsBase,
    )
except Exception:  # vLLM absent or older than the stats path

    @dataclass
    class _StatsBase:  # type: ignore[no-redef]
        """Stand-in for vLLM's ``KVConnectorStats`` (a dataclass holding ``data``)."""

        data: dict[str, Any] = field(default_factory=dict)

    class _PromBase:  # type: ignore[no-redef]
        """Stand-in for vLLM's ``KVConnectorPromMetrics``: keeps the metric classes and engine labels."""

        def __init__(self, vllm_config, metric_types, labelnames, per_engine_labelvalues) -> None:
            self._counter_cls = next(cls for base, cls in metric_types.items() if getattr(base, '__name__', '') == 'Counter')
            self._labelnames = labelnames
            self.per_engine_labelvalues = per_engine_labelvalues

        def make_per_engine(self, metric):
            return {idx: metric.labels(*values) for idx, values in self.per_engine_labelvalues.items()}


#: stat name → help text. Prometheus names are ``brixlet_connector_<name>`` (counters: ``_total`` appended).
STATS: dict[str, str] = {
    'lookups': 'Shard lookups the scheduler made for waiting requests.',
    'hit_blocks': 'Blocks beyond the GPU prefix-cache hit that the shard held and vLLM scheduled to load.',
    'hit_tokens': 'Prompt tokens of those blocks (hit_blocks times the block size).',
    'loaded_blocks': 'Blocks copied from the shard into the paged KV cache (summed over TP ranks).',
    'loaded_bytes': 'Bytes copied from the shard into the paged KV cache (summed over TP ranks).',
    'failed_load_blocks': 'Promised blocks a worker could not load (evicted or shard gone), reported to vLLM as load errors.',
    'saved_blocks': 'Blocks copied out of the paged KV cache and sealed in the shard (summed over TP ranks).',
    'saved_bytes': 'Bytes sealed in the shard (summed over TP ranks).',
    'skipped_save_blocks': 'Blocks not saved: already cached, shard full, lease limit or shard unavailable.',
    'shard_unavailable': 'Shard calls that failed because the shard was unreachable.',
}


def _ints(data: dict | None) -> dict[str, int]:
    return {k: int(v) for k, v in (data or {}).items() if k in STATS and int(v)}


class BrixletConnectorStats(_StatsBase):
    """Counts added since the last report; ``data`` maps names of ``STATS`` to ints."""

    def __init__(self, data: dict | None = None) -> None:
        super().__init__(data=_ints(data))

    def reset(self) -> None:
        self.data = {}

    def aggregate(self, other) -> BrixletConnectorStats:
        for k, v in _ints(getattr(other, 'data', None)).items():
            self.data[k] = self.data.get(k, 0) + v
        return self

    def reduce(self) -> dict[str, int]:
        return {k: self.data.get(k, 0) for k in STATS}

    def is_empty(self) -> bool:
        return not any(self.data.values())


class StatsDelta:
    """Turns a side's running ``counters`` into the counts since the last report."""

    def __init__(self, counters: dict[str, int], mapping: dict[str, str], derived: dict | None = None) -> None:
        self._counters = counters
        self._mapping = mapping  # stat name → counter name
        #: stat name → (stat it scales, () → factor), e.g. loaded_bytes = loaded_blocks × block bytes
        self._derived = derived or {}
        self._last = dict(counters)

    def take(self) -> BrixletConnectorStats | None:
        now = dict(self._counters)
        data = {stat: now.get(c, 0) - self._last.get(c, 0) for stat, c in self._mapping.items()}
        self._last = now
        for stat, (of, factor) in self._derived.items():
            data[stat] = data.get(of, 0) * factor()
        stats = BrixletConnectorStats(data)
        return None if stats.is_empty() else stats


class BrixletPromMetrics(_PromBase):
    """One counter per ``STATS`` entry, ``brixlet_connector_<name>``, with vLLM's per-engine labels."""

    def __init__(self, vllm_config, metric_types, labelnames, per_engine_labelvalues) -> None:
        super().__init__(vllm_config, metric_types, labelnames, per_engine_labelvalues)
        self.counters = {
            name: self.make_per_engine(self._counter_cls(name=f'brixlet_connector_{name}', documentation=doc, labelnames=labelnames))
            for name, doc in STATS.items()
        }

    def observe(self, transfer_stats_data: dict[str, Any], engine_idx: int = 0) -> None:
        for name, value in _ints(transfer_stats_data).items():
            if value > 0:
                self.counters[name][engine_idx].inc(value)
