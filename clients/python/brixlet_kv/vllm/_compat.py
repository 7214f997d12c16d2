"""vLLM's connector base classes and KV event types, or local stand-ins when vLLM is not installed.

The connector module must load in both worlds: inside a vLLM engine (the real ``KVConnectorBase_V1``,
``KVConnectorMetadata``, ``KVConnectorRole``, ``BlockStored``/``BlockRemoved``) and in brixlet's own
tests, where vLLM is not installable. The stand-ins below are NOT vLLM: they only carry the method
names and the metadata plumbing of ``vllm/distributed/kv_transfer/kv_connector/v1/base.py`` that the
connector relies on, so that a test harness can drive it the way vLLM does.
"""

from __future__ import annotations

import enum

try:  # pragma: no cover - exercised only where vLLM is installed
    from vllm.distributed.kv_transfer.kv_connector.v1.base import (  # type: ignore[import-not-found]
        KVConnectorBase_V1,
        KVConnectorMetadata,
        KVConnectorRole,
    )

    HAVE_VLLM = True
except Exception:  # vLLM absent (or too old to have the V1 API): the stand-ins
    HAVE_VLLM = False

    class KVConnectorRole(enum.Enum):  # type: ignore[no-redef]
        """Stand-in for vLLM's enum: which process an instance lives in."""

        SCHEDULER = 0
        WORKER = 1

    class KVConnectorMetadata:  # type: ignore[no-redef]
        """Stand-in for vLLM's (empty) base of the per-step scheduler → worker metadata."""

    class KVConnectorBase_V1:  # type: ignore[no-redef]
        """Stand-in for vLLM's ``KVConnectorBase_V1``: constructor, role and metadata binding only."""

        def __init__(self, vllm_config, role, kv_cache_config=None) -> None:
            self._connector_metadata = None
            self._vllm_config = vllm_config
            self._role = role
            self._kv_cache_config = kv_cache_config

        @property
        def role(self):
            return self._role

        def bind_connector_metadata(self, connector_metadata) -> None:
            self._connector_metadata = connector_metadata

        def clear_connector_metadata(self) -> None:
            self._connector_metadata = None

        def has_connector_metadata(self) -> bool:
            return self._connector_metadata is not None

        def _get_connector_metadata(self):
            assert self._connector_metadata is not None
            return self._connector_metadata


try:  # pragma: no cover - exercised only where vLLM is installed
    from vllm.distributed.kv_events import BlockRemoved as _VllmBlockRemoved  # type: ignore[import-not-found]
    from vllm.distributed.kv_events import BlockStored as _VllmBlockStored  # type: ignore[import-not-found]
except Exception:
    _VllmBlockStored = None
    _VllmBlockRemoved = None


def block_stored(block_hashes, parent_block_hash, token_ids, block_size, lora_name, medium):
    """A vLLM ``BlockStored`` event, or without vLLM a dict with the same field names plus ``type``."""
    fields = {
        'block_hashes': block_hashes,
        'parent_block_hash': parent_block_hash,
        'token_ids': token_ids,
        'block_size': block_size,
        'lora_id': None,
        'medium': medium,
    }
    if _VllmBlockStored is None:
        return {'type': 'BlockStored', **fields, 'lora_name': lora_name}
    try:  # lora_name exists from vLLM v0.15
        return _VllmBlockStored(**fields, lora_name=lora_name)
    except TypeError:
        return _VllmBlockStored(**fields)


def block_removed(block_hashes, medium):
    """A vLLM ``BlockRemoved`` event, or without vLLM a dict with the same field names plus ``type``."""
    if _VllmBlockRemoved is None:
        return {'type': 'BlockRemoved', 'block_hashes': block_hashes, 'medium': medium}
    return _VllmBlockRemoved(block_hashes=block_hashes, medium=medium)
