"""Set-up shared by the connector suites: brixlet_kv importable from this source tree, whether torch
(and so ``harness``) can be used, the shard socket the suites run against, and deterministic prompts.

Import it before ``brixlet_kv`` and ``harness``; suites skip with ``TORCH`` as the reason when it is set.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
for path in (HERE, os.path.join(HERE, '..')):
    if path not in sys.path:
        sys.path.insert(0, path)

try:
    import torch  # noqa: F401

    TORCH = ''
except ImportError as e:
    TORCH = f'torch is not importable ({e})'

SOCKET = os.environ.get('BRIXLET_KV_SOCKET', '')


def prompt(n: int, seed: int) -> list[int]:
    """``n`` token ids, the same for the same seed."""
    return [(seed * 7919 + i * 104729) % 50000 for i in range(n)]
