"""GPU copies into and out of the KV shard's slabs (needs an NVIDIA GPU and PyTorch with CUDA).

An engine offloads KV blocks from GPU memory into shard slots (device → host, ALLOC/SEAL) and loads
them back (LOOKUP, host → device). This measures both directions over lease views of the mapped
slabs, with the slabs page-locked once by cudaHostRegister (the engine connector's path) and without,
beside torch's own pinned and pageable host buffers in the same run (the ceilings), and checks that
every byte that went through the shard came back unchanged.

    brixlet agent --accel none --kv.capacity 4GiB &    # or brixlet up
    python3 bench/kv/gpu_slab.py --socket /run/brixlet/kv.sock [--json out.json]
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'clients', 'python'))

import torch  # noqa: E402

from brixlet_kv import ITEM_OK, KvClient, chain_keys  # noqa: E402

MiB = 1024 * 1024


def gbps(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e9


def timed(fn, reps: int) -> float:
    """Median seconds of fn() over reps runs, each ended by a device synchronize."""
    out = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def register(views) -> list:
    cudart = torch.cuda.cudart()
    done = []
    for v in views:
        addr = ctypes.addressof(ctypes.c_char.from_buffer(v))
        rc = cudart.cudaHostRegister(addr, len(v), 0)
        code = int(getattr(rc, 'value', rc))
        if code != 0:
            raise RuntimeError(
                f'cudaHostRegister failed with CUDA error {code}: the slabs must live on a tmpfs (--kv.dir under /dev/shm)'
            )
        done.append(addr)
    return done


def unregister(addrs) -> None:
    cudart = torch.cuda.cudart()
    for a in addrs:
        cudart.cudaHostUnregister(a)


def run_size(c: KvClient, block: int, batch: int, reps: int, tag: str) -> dict:
    dev = torch.device('cuda')
    src = torch.randint(0, 256, (batch, block), dtype=torch.uint8, device=dev)
    dst = torch.empty_like(src)
    total = block * batch
    rounds = []

    def put_round(i: int):
        keys = chain_keys([f'{tag}/{block}/{i}/{k}'.encode() for k in range(batch)])
        leases = c.alloc(keys, [block] * batch)
        ok = [l for l in leases if l.status == ITEM_OK]
        if len(ok) != batch:
            raise RuntimeError(f'alloc gave {len(ok)}/{batch} slots')
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for k, l in enumerate(ok):
            torch.frombuffer(l.view, dtype=torch.uint8).copy_(src[k], non_blocking=True)
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        c.seal([l.lease_id for l in ok])
        rounds.append(keys)
        return t1 - t0

    def get_round(keys):
        look = c.lookup(keys)
        if look.hits != batch:
            raise RuntimeError(f'lookup hit {look.hits}/{batch}')
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for k, l in enumerate(look.leases):
            dst[k].copy_(torch.frombuffer(l.view, dtype=torch.uint8), non_blocking=True)
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        c.release([l.lease_id for l in look.leases])
        return t1 - t0

    put_s = statistics.median(put_round(i) for i in range(reps))
    get_s = statistics.median(get_round(rounds[-1]) for _ in range(reps))
    intact = bool(torch.equal(src, dst))

    pinned = torch.empty((batch, block), dtype=torch.uint8, pin_memory=True)
    pageable = torch.empty((batch, block), dtype=torch.uint8)
    return {
        'blockBytes': block,
        'batch': batch,
        'slabD2H_GBps': gbps(total, put_s),
        'slabH2D_GBps': gbps(total, get_s),
        'pinnedD2H_GBps': gbps(total, timed(lambda: pinned.copy_(src, non_blocking=True), reps)),
        'pinnedH2D_GBps': gbps(total, timed(lambda: dst.copy_(pinned, non_blocking=True), reps)),
        'pageableD2H_GBps': gbps(total, timed(lambda: pageable.copy_(src), reps)),
        'pageableH2D_GBps': gbps(total, timed(lambda: dst.copy_(pageable), reps)),
        'bytesIntact': intact,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--socket', default='/run/brixlet/kv.sock')
    ap.add_argument('--sizes', default='262144,1048576,2097152')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--reps', type=int, default=7)
    ap.add_argument('--json')
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print('no CUDA device: nothing to measure', file=sys.stderr)
        return 2
    sizes = [int(s) for s in a.sizes.split(',')]
    result = {'device': torch.cuda.get_device_name(0), 'torch': torch.__version__, 'registered': [], 'unregistered': []}
    for block in sizes:
        with KvClient(a.socket, f'gpu-{block}', block) as c:
            result['unregistered'].append(run_size(c, block, a.batch, a.reps, 'plain'))
            addrs = register(c.slab_views())
            try:
                result['registered'].append(run_size(c, block, a.batch, a.reps, 'reg'))
            finally:
                unregister(addrs)
    for mode in ('registered', 'unregistered'):
        for r in result[mode]:
            print(
                f"{mode:12} {r['blockBytes'] // 1024:6} KiB x{r['batch']}: slab D2H {r['slabD2H_GBps']:6.1f} H2D {r['slabH2D_GBps']:6.1f} GB/s"
                f" | pinned D2H {r['pinnedD2H_GBps']:6.1f} H2D {r['pinnedH2D_GBps']:6.1f} | pageable D2H {r['pageableD2H_GBps']:6.1f}"
                f" H2D {r['pageableH2D_GBps']:6.1f} | intact {r['bytesIntact']}"
            )
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(result, f, indent=2)
    return 0 if all(r['bytesIntact'] for m in ('registered', 'unregistered') for r in result[m]) else 1


if __name__ == '__main__':
    sys.exit(main())
