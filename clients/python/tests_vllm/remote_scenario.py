"""Loads across nodes (driven by test/clients/python-vllm.test.ts, not by unittest): engine A saves into
shard ``argv[1]`` (node a); engine B, on shard ``argv[2]`` (node b, which reads other agents' blocks with
LOOKUP_REMOTE), finds the prefix through ``remote_budget_ms`` and loads it byte for byte, on both TP ranks.
Prints one JSON line with what B loaded."""

import json
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
sys.path.insert(0, HERE)

from harness import BLOCK_TOKENS, Engine, Request  # noqa: E402


def main() -> None:
    a_socket, b_socket = sys.argv[1], sys.argv[2]
    model = f'remote-{uuid.uuid4().hex[:8]}'
    tokens = [(i * 7919 + 11) % 50000 for i in range(4 * BLOCK_TOKENS + 3)]
    a = Engine(a_socket, model, seed=1, tp=2)
    b = Engine(b_socket, model, seed=2, tp=2, extra={'remote_budget_ms': 30000})
    try:
        a_ids, _, _ = a.prefill(Request('a-1', tokens))
        b_ids, loaded, _ = b.prefill(Request('b-1', tokens))
        same = [b.block_bytes(r, b_ids[i]) == a.block_bytes(r, a_ids[i]) for r in range(2) for i in range(4)]
        print(json.dumps({'loaded': loaded, 'same': same, 'failed': sum(w.counters['load_failed_blocks'] for w in b.workers)}), flush=True)
    finally:
        a.close()
        b.close()


if __name__ == '__main__':
    main()
