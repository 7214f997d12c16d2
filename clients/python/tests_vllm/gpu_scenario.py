"""KV blocks between paged tensors on a device and a live shard, through BrixletConnector's own code path
(driven by test/hardware/vllm-connector-gpu.test.ts on a GPU with ``--device cuda``, and by
test/clients/python-vllm.test.ts with ``--device cpu`` so that the script keeps working).

For each layout (NHD, HND): engine A prefills a prompt and saves its blocks into the shard; engine B,
whose KV tensors hold other bytes, loads them; every loaded block is compared with A's on the device.
Then ``--reps`` timed rounds (fresh prompts, after one untimed warm-up) measure the connector's save
step (scheduler metadata, ALLOC, the device→slab copies, SEAL) and load step (LOOKUP, the slab→device
copies, RELEASE), next to torch copying the same bytes in the same pieces (one copy per layer per
block) between the device and pinned host memory (plain host memory on CPU), and in one piece.

    python3 gpu_scenario.py --socket /dev/shm/brixlet/kv.sock --device cuda --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import harness  # noqa: E402
from harness import Engine, Request  # noqa: E402


class DeviceEngine(Engine):
    """The harness's engine with KV tensors filled up front (seeded, on the device) and no per-token
    forward: the step timings are the connector's, not the mock forward's."""

    def __init__(self, *args, fill_seed: int, **kw) -> None:
        super().__init__(*args, **kw)
        g = torch.Generator(device=kw['device']).manual_seed(fill_seed)
        for caches in self.kv:
            for t in caches.values():
                t.copy_(torch.randn(t.shape, generator=g, device=t.device, dtype=torch.float32).half())
        self.step_seconds: list[float] = []

    def _compute(self, rank, layer, block_ids, start, end) -> None:
        pass

    def run(self, meta, so, compute=None, before_output=None):
        sync(self.kv[0][harness.LAYERS[0]].device)
        t0 = time.perf_counter()
        out = super().run(meta, so, compute, before_output)
        sync(self.kv[0][harness.LAYERS[0]].device)
        self.step_seconds.append(time.perf_counter() - t0)
        return out


def sync(device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def prompt(round_no: int, blocks: int) -> list[int]:
    # (n - 1) // block_tokens = blocks: every full block of the prompt loads.
    n = blocks * harness.BLOCK_TOKENS + 3
    return [(round_no * 1_000_003 + i * 7919 + 11) % 50_000 for i in range(n)]


def one_round(a: DeviceEngine, b: DeviceEngine, tokens: list[int], tag: str) -> dict:
    for e in (a, b):  # the previous round's requests finished: all GPU blocks are free again
        e.free = list(range(e.kv[0][harness.LAYERS[0]].shape[1]))
    a.step_seconds.clear()
    b.step_seconds.clear()
    a_ids, _, _ = a.prefill(Request(f'a-{tag}', tokens))
    save_s = a.step_seconds[0]  # the prefill step: nothing to load, every prompt block saved
    b_ids, loaded, _ = b.prefill(Request(f'b-{tag}', tokens))
    load_s = b.step_seconds[0]  # the load step (no tokens scheduled)
    blocks = loaded // harness.BLOCK_TOKENS
    same = all(
        torch.equal(a.kv[r][name].select(1, a_ids[i]), b.kv[r][name].select(1, b_ids[i]))
        for r in range(a.tp)
        for name in harness.LAYERS
        for i in range(blocks)
    )
    return {'loaded_blocks': blocks, 'same': same, 'save_s': save_s, 'load_s': load_s}


def torch_reference(device: torch.device, pieces: int, piece_bytes: int, reps: int) -> dict:
    """Seconds torch takes to copy ``pieces`` pieces of ``piece_bytes`` device→host and back (pinned
    host memory on CUDA), piece by piece and in one copy; the best of ``reps``."""
    elems = piece_bytes // 2
    src = torch.randn(pieces, elems, device=device).half()
    host = torch.empty(pieces, elems, dtype=torch.float16, pin_memory=device.type == 'cuda')
    back = torch.empty_like(src)

    def best(fn) -> float:
        out = float('inf')
        for _ in range(reps + 1):  # the first run warms up
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            out = min(out, time.perf_counter() - t0)
        return out

    nb = device.type == 'cuda'

    def d2h_pieces() -> None:
        for i in range(pieces):
            host[i].copy_(src[i], non_blocking=nb)

    def h2d_pieces() -> None:
        for i in range(pieces):
            back[i].copy_(host[i], non_blocking=nb)

    res = {
        'd2h_pieces_s': best(d2h_pieces),
        'h2d_pieces_s': best(h2d_pieces),
        'd2h_whole_s': best(lambda: host.copy_(src, non_blocking=nb)),
        'h2d_whole_s': best(lambda: back.copy_(host, non_blocking=nb)),
    }
    sync(device)
    res['intact'] = bool(torch.equal(src, back))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--socket', default=os.environ.get('BRIXLET_KV_SOCKET', '/dev/shm/brixlet/kv.sock'))
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--layouts', default='NHD,HND')
    ap.add_argument('--blocks', type=int, default=32, help='blocks per prompt (all of them load)')
    ap.add_argument('--layers', type=int, default=32)
    ap.add_argument('--heads', type=int, default=8, help='KV heads per rank')
    ap.add_argument('--head-size', type=int, default=128)
    ap.add_argument('--tp', type=int, default=1)
    ap.add_argument('--reps', type=int, default=5, help='timed rounds per layout')
    ap.add_argument('--json', help='write the result here (else stdout)')
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        sys.exit('--device cuda: torch has no CUDA device')

    # The harness's shapes are module constants (small for the CPU suite); a model-sized block here.
    harness.HEADS = args.heads
    harness.HEAD_SIZE = args.head_size
    harness.LAYERS = tuple(f'model.layers.{i}.self_attn.attn' for i in range(args.layers))
    piece_bytes = 2 * harness.BLOCK_TOKENS * args.heads * args.head_size * 2  # one layer of one block, K and V, fp16
    block_bytes = piece_bytes * args.layers
    step_bytes = block_bytes * args.blocks * args.tp

    result: dict = {
        'device': torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu',
        'torch': torch.__version__,
        'block_tokens': harness.BLOCK_TOKENS,
        'layers': args.layers,
        'piece_bytes': piece_bytes,
        'block_bytes': block_bytes,
        'blocks': args.blocks,
        'tp': args.tp,
        'layouts': {},
    }
    ref = torch_reference(device, args.blocks * args.layers * args.tp, piece_bytes, args.reps)
    gbps = lambda s: step_bytes / s / 1e9  # noqa: E731
    result['torch'] = {
        'pinned': device.type == 'cuda',
        'd2h_pieces_GBps': gbps(ref['d2h_pieces_s']),
        'h2d_pieces_GBps': gbps(ref['h2d_pieces_s']),
        'd2h_whole_GBps': gbps(ref['d2h_whole_s']),
        'h2d_whole_GBps': gbps(ref['h2d_whole_s']),
        'intact': ref['intact'],
    }
    for layout in args.layouts.split(','):
        model = f'gpu-scenario-{uuid.uuid4().hex[:8]}'
        kw = {'tp': args.tp, 'layout': layout, 'num_blocks': args.blocks + 1, 'device': args.device}
        a = DeviceEngine(args.socket, model, 1, fill_seed=1, **kw)
        b = DeviceEngine(args.socket, model, 2, fill_seed=2, **kw)
        try:
            rounds = [one_round(a, b, prompt(r, args.blocks), f'{layout}-{r}') for r in range(args.reps + 1)]
            counters = {k: sum(w.counters[k] for w in b.workers) for k in ('load_failed_blocks',)}
        finally:
            a.close()
            b.close()
        timed = rounds[1:] or rounds
        save_s = min(r['save_s'] for r in timed)
        load_s = min(r['load_s'] for r in timed)
        result['layouts'][layout] = {
            'rounds': len(rounds),
            'loaded_blocks': [r['loaded_blocks'] for r in rounds],
            'bytes_intact': all(r['same'] and r['loaded_blocks'] == args.blocks for r in rounds),
            'load_failed_blocks': counters['load_failed_blocks'],
            'save_GBps': gbps(save_s),
            'load_GBps': gbps(load_s),
            'save_vs_torch_pieces': ref['d2h_pieces_s'] / save_s,
            'load_vs_torch_pieces': ref['h2d_pieces_s'] / load_s,
        }
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, 'w') as f:
            f.write(text + '\n')
    else:
        print(text)


if __name__ == '__main__':
    main()
