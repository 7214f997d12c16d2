"""An agent restart under a running engine (driven by test/clients/python-vllm.test.ts, not by unittest).

Prints ``RESTART`` once engine A has saved a prompt and engine B is connected, then waits for a line on
stdin: the test restarts the shard on the same socket meanwhile. Exits 0 when B and C recover on their own
(same connector objects; each dropped connection is replaced on first use, so no request sees the shard as down): B recomputes (the new shard is empty) and saves, C loads B's blocks.
"""

import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
sys.path.insert(0, HERE)

from harness import BLOCK_TOKENS, Engine, Request  # noqa: E402


def main() -> None:
    socket = os.environ['BRIXLET_KV_SOCKET']
    model = f'restart-{uuid.uuid4().hex[:8]}'
    tokens = [(i * 7919) % 50000 for i in range(4 * BLOCK_TOKENS + 3)]
    a, b, c = Engine(socket, model, seed=1), Engine(socket, model, seed=2), Engine(socket, model, seed=3)
    try:
        assert a.prefill(Request('a-1', tokens))[1] == 0
        assert b.prefill(Request('b-0', tokens))[1] == 4 * BLOCK_TOKENS  # the shard serves before the restart
        print('RESTART', flush=True)
        sys.stdin.readline()
        b_ids, b_loaded, _ = b.prefill(Request('b-1', tokens))
        assert b_loaded == 0, f'the restarted shard is empty, B loaded {b_loaded} tokens'
        c_ids, c_loaded, _ = c.prefill(Request('c-1', tokens))
        assert c_loaded == 4 * BLOCK_TOKENS, f'C loaded {c_loaded} tokens after the restart'
        for i in range(4):
            assert c.block_bytes(0, c_ids[i]) == b.block_bytes(0, b_ids[i]), f'block {i} differs'
        counters = {'b.scheduler': b.scheduler.counters, 'b.worker': b.workers[0].counters, 'c.scheduler': c.scheduler.counters, 'c.worker': c.workers[0].counters}
        print('COUNTERS', counters, flush=True)
        # The dropped connections were replaced on first use: no request saw the shard as down.
        assert all(v['shard_unavailable'] == 0 for v in counters.values()), counters
    finally:
        for e in (a, b, c):
            e.close()


if __name__ == '__main__':
    main()
