"""Block keys and the namespace of the vLLM connector.

Keys are brixlet's chained token keys (docs/kv-protocol.md §7) over each block's token ids, so any
brixlet client that cuts the same tokens into the same blocks finds them. A LoRA adapter or a cache
salt changes the chain's seed: their blocks never match the base model's or another salt's.
"""

from __future__ import annotations

import hashlib

from ..client import ZERO_SEED, chain_keys, token_block_bytes

_MAX_NAMESPACE_BYTES = 255


def chain_seed(lora_name: str | None, cache_salt: str | None) -> bytes:
    """16 zero bytes for the base model without salt; otherwise
    ``sha256("brixlet-vllm\\0lora=" + lora + "\\0salt=" + salt)[:16]`` (absent parts empty)."""
    if not lora_name and not cache_salt:
        return ZERO_SEED
    text = f'brixlet-vllm\0lora={lora_name or ""}\0salt={cache_salt or ""}'
    return hashlib.sha256(text.encode()).digest()[:16]


def kv_namespace(model: str, dtype: str, layout: str, block_tokens: int, tp_rank: int, tp_size: int, pp_rank: int, pp_size: int, suffix: str = '', parts: int = 1) -> str:
    """``vllm/<model>/<dtype>/<layout>/bs<block_tokens>/tp<rank>of<size>/pp<rank>of<size>[/parts<n>][/<suffix>]``
    (``parts<n>`` when a block is stored as ``n`` parts, see ``part_keys``).

    A model name that would push the name past the protocol's 255 bytes is replaced by
    ``sha256-<first 16 hex digits of its SHA-256>``."""

    def build(m: str) -> str:
        ns = f'vllm/{m}/{dtype}/{layout}/bs{block_tokens}/tp{tp_rank}of{tp_size}/pp{pp_rank}of{pp_size}'
        if parts > 1:
            ns += f'/parts{parts}'
        return f'{ns}/{suffix}' if suffix else ns

    ns = build(model)
    if len(ns.encode()) > _MAX_NAMESPACE_BYTES:
        ns = build('sha256-' + hashlib.sha256(model.encode()).hexdigest()[:16])
    if len(ns.encode()) > _MAX_NAMESPACE_BYTES:
        raise ValueError(f'KV namespace {ns!r} is longer than {_MAX_NAMESPACE_BYTES} bytes; shorten namespace_suffix')
    return ns


def part_keys(key: bytes, parts: int) -> list[bytes]:
    """The shard keys of a block stored as ``parts`` parts: the block key for part 0, then
    ``sha256(key ‖ u16 little-endian part)[:16]`` for part 1 … parts − 1."""
    return [key] + [hashlib.sha256(key + j.to_bytes(2, 'little')).digest()[:16] for j in range(1, parts)]


def expand_keys(keys, parts: int) -> list[bytes]:
    """Block keys to shard keys, interleaved ``[k0p0, k0p1, …, k1p0, …]``: one chain, so the shard's
    longest-prefix lookup and chain parents work on parts (whole blocks = hits // parts)."""
    if parts == 1:
        return list(keys)
    return [pk for k in keys for pk in part_keys(k, parts)]


class RequestKeys:
    """The chain keys of one request's full blocks, extended as its tokens grow (never recomputed)."""

    def __init__(self, block_tokens: int, seed: bytes) -> None:
        self.block_tokens = block_tokens
        self.keys: list[bytes] = []
        self._seed = seed

    def upto(self, token_ids, n_blocks: int) -> list[bytes]:
        """Keys of the first ``n_blocks`` full blocks of ``token_ids`` (fewer if there are fewer)."""
        bt = self.block_tokens
        n_blocks = min(n_blocks, len(token_ids) // bt)
        have = len(self.keys)
        if n_blocks > have:
            seed = self.keys[-1] if have else self._seed
            more = [token_block_bytes(list(token_ids[b * bt : (b + 1) * bt])) for b in range(have, n_blocks)]
            self.keys.extend(chain_keys(more, seed))
        return self.keys[:n_blocks]
