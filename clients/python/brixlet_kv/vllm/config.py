"""What the connector reads from vLLM's config (``--kv-transfer-config`` and the engine's own settings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ..client import KvClient
from ..protocol import BAD_HELLO, KvConnectError, KvError
from .keys import kv_namespace

DEFAULT_SOCKET = '/run/brixlet/kv.sock'
POLICIES = ('recompute', 'fail')


@dataclass(frozen=True)
class ConnectorConfig:
    socket: str
    model: str
    dtype: str
    layout: str
    block_tokens: int
    tp_rank: int
    tp_size: int
    pp_rank: int
    pp_size: int
    namespace_suffix: str
    #: Bytes of one vLLM block over all attention layers of this worker (None: known only from the tensors).
    block_bytes: int | None
    #: Layer count and page bytes per KV-cache group, for the layout signature.
    groups: tuple[tuple[int, int], ...]
    remote_budget_ms: int | None
    save_decode: bool
    shard_down_policy: str
    timeout_s: float
    #: Loads copy layer by layer behind the forward (side CUDA stream / CPU thread); False: all before it.
    layerwise_load: bool = True

    def namespace(self, tp_rank: int | None = None, pp_rank: int | None = None, parts: int = 1) -> str:
        return kv_namespace(
            self.model,
            self.dtype,
            self.layout,
            self.block_tokens,
            self.tp_rank if tp_rank is None else tp_rank,
            self.tp_size,
            self.pp_rank if pp_rank is None else pp_rank,
            self.pp_size,
            self.namespace_suffix,
            parts,
        )

    def layer_bytes(self) -> list[int]:
        """Bytes per layer of one block, from ``kv_cache_config`` (rank (0, 0)'s in the scheduler)."""
        return [page for n, page in self.groups for _ in range(n)]

    def layout_signature(self) -> str:
        groups = ','.join(f'{n}x{page}' for n, page in self.groups)
        return f'vllm-kv/1;layout={self.layout};groups={groups}'


@dataclass(frozen=True)
class Split:
    """How one vLLM block is stored: ``parts`` contiguous layer ranges, each one shard block (under
    the keys of ``keys.part_keys``). One part (the whole block) when it fits the shard's page size."""

    parts: int
    #: (first layer, end layer) of each part, in the layers' sorted name order.
    bounds: tuple[tuple[int, int], ...]
    #: Bytes of each part.
    sizes: tuple[int, ...]

    @property
    def block_size(self) -> int:
        """The namespace's block size: the largest part (the others are stored shorter)."""
        return max(self.sizes)

    def part_of(self, layer_index: int) -> int:
        for j, (lo, hi) in enumerate(self.bounds):
            if lo <= layer_index < hi:
                return j
        raise IndexError(layer_index)


def split_layers(layer_bytes: Sequence[int], parts: int) -> Split:
    """Cuts the layers into ``parts`` contiguous ranges as even in layer count as possible."""
    n = len(layer_bytes)
    if not 1 <= parts <= max(n, 1):
        raise ValueError(f'cannot cut {n} layers into {parts} parts')
    bounds = tuple((j * n // parts, (j + 1) * n // parts) for j in range(parts))
    return Split(parts, bounds, tuple(sum(layer_bytes[lo:hi]) for lo, hi in bounds))


def open_split(cfg: ConnectorConfig, layer_bytes: Sequence[int], namespace: Callable[[int], str], parts: int | None = None) -> tuple[KvClient, Split]:
    """Connects with the fewest parts whose largest fits the shard: the agent refuses a HELLO whose
    block size exceeds its ``--kv.page-size`` (BAD_HELLO, before any namespace exists), so 1, 2, …
    parts are tried in turn. ``parts`` (known from an earlier connection) skips the search."""
    sig = cfg.layout_signature()
    if parts is not None:
        split = split_layers(layer_bytes, parts)
        return KvClient(cfg.socket, namespace(parts), split.block_size, sig, timeout=cfg.timeout_s), split
    refused = None
    for n in range(1, len(layer_bytes) + 1):
        split = split_layers(layer_bytes, n)
        if refused is not None and split.block_size >= refused:
            continue
        try:
            return KvClient(cfg.socket, namespace(n), split.block_size, sig, timeout=cfg.timeout_s), split
        except KvError as e:
            if isinstance(e, KvConnectError) or e.status != BAD_HELLO or 'block size' not in str(e):
                raise
            refused = split.block_size
    raise ValueError(f'BrixletConnector: one layer of {max(layer_bytes)} bytes per block is larger than the shard allows (--kv.page-size)')


def _ranks(vllm_config, tp_size: int) -> tuple[int, int]:
    """(tp rank, pp rank) of this process: vLLM's parallel state when initialised, else the global rank
    in ``parallel_config.rank`` (vLLM numbers ranks TP-innermost)."""
    try:  # pragma: no cover - needs vLLM
        from vllm.distributed.parallel_state import get_pp_group, get_tp_group  # type: ignore[import-not-found]

        return get_tp_group().rank_in_group, get_pp_group().rank_in_group
    except Exception:
        rank = int(getattr(vllm_config.parallel_config, 'rank', 0) or 0)
        return rank % tp_size, rank // tp_size


def _layout(extra: dict) -> str:
    if extra.get('kv_layout'):
        return str(extra['kv_layout'])
    try:  # pragma: no cover - needs vLLM
        from vllm.v1.attention.backends.utils import get_kv_cache_layout  # type: ignore[import-not-found]

        return str(get_kv_cache_layout())
    except Exception:
        return 'NHD'


def resolve_config(vllm_config, kv_cache_config=None) -> ConnectorConfig:
    """Reads ``kv_transfer_config.kv_connector_extra_config`` (keys in README.md) and the engine settings."""
    kvt = vllm_config.kv_transfer_config
    extra = dict(getattr(kvt, 'kv_connector_extra_config', None) or {})
    known = {'socket', 'kv_layout', 'namespace_suffix', 'remote_budget_ms', 'save_decode', 'kv_load_failure_policy', 'timeout_s', 'layerwise_load'}
    unknown = sorted(set(extra) - known)
    if unknown:
        raise ValueError(f'BrixletConnector: unknown kv_connector_extra_config keys {unknown}; known: {sorted(known)}')
    policy = str(extra.get('kv_load_failure_policy', 'recompute'))
    if policy not in POLICIES:
        raise ValueError(f'BrixletConnector: kv_load_failure_policy must be one of {POLICIES}, got {policy!r}')
    cache = vllm_config.cache_config
    model_cfg = vllm_config.model_config
    dtype = str(getattr(cache, 'cache_dtype', 'auto') or 'auto')
    if dtype == 'auto':
        dtype = str(getattr(model_cfg, 'dtype', 'auto')).removeprefix('torch.')
    par = vllm_config.parallel_config
    tp_size = int(getattr(par, 'tensor_parallel_size', 1) or 1)
    pp_size = int(getattr(par, 'pipeline_parallel_size', 1) or 1)
    tp_rank, pp_rank = _ranks(vllm_config, tp_size)
    groups: tuple[tuple[int, int], ...] = ()
    block_bytes = None
    if kv_cache_config is not None:
        groups = tuple((len(g.layer_names), int(g.kv_cache_spec.page_size_bytes)) for g in kv_cache_config.kv_cache_groups)
        if len(groups) != 1:
            raise ValueError(f'BrixletConnector moves one KV-cache group; this model has {len(groups)} (start vLLM with --disable-hybrid-kv-cache-manager)')
        block_bytes = sum(n * page for n, page in groups)
    budget = extra.get('remote_budget_ms')
    return ConnectorConfig(
        socket=str(extra.get('socket', DEFAULT_SOCKET)),
        model=str(model_cfg.model),
        dtype=dtype,
        layout=_layout(extra),
        block_tokens=int(cache.block_size),
        tp_rank=tp_rank,
        tp_size=tp_size,
        pp_rank=pp_rank,
        pp_size=pp_size,
        namespace_suffix=str(extra.get('namespace_suffix', '')),
        block_bytes=block_bytes,
        groups=groups,
        remote_budget_ms=None if budget is None else int(budget),
        save_decode=bool(extra.get('save_decode', False)),
        shard_down_policy=policy,
        timeout_s=float(extra.get('timeout_s', 10.0)),
        layerwise_load=bool(extra.get('layerwise_load', True)),
    )
