"""brixlet_kv: a stdlib-only Python client for the brixlet node KV cache shard.

Engines on the node connect to the agent's unix socket, map the shard's slab files and move block
bytes themselves; see docs/kv-protocol.md for the protocol and clients/python/README.md for usage.
"""

from .client import KvClient, Lease, Lookup, Session, chain_keys, chain_keys_for_tokens, token_block_bytes
from .protocol import (
    ITEM_BAD_LENGTH,
    ITEM_BUSY,
    ITEM_DUPLICATE,
    ITEM_EXISTS,
    ITEM_FULL,
    ITEM_NO_PARENT,
    ITEM_OK,
    ITEM_QUOTA,
    ITEM_UNKNOWN_LEASE,
    KvConnectError,
    KvError,
    ProtocolError,
    item_status_name,
    status_name,
)

__all__ = [
    'KvClient',
    'Lease',
    'Lookup',
    'Session',
    'chain_keys',
    'chain_keys_for_tokens',
    'token_block_bytes',
    'KvError',
    'KvConnectError',
    'ProtocolError',
    'ITEM_OK',
    'ITEM_EXISTS',
    'ITEM_BUSY',
    'ITEM_FULL',
    'ITEM_QUOTA',
    'ITEM_BAD_LENGTH',
    'ITEM_UNKNOWN_LEASE',
    'ITEM_DUPLICATE',
    'ITEM_NO_PARENT',
    'item_status_name',
    'status_name',
]
