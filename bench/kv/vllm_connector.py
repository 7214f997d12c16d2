"""BrixletConnector's block copies on CPU tensors: save (paged KV → ALLOC'd slots → SEAL) and load
(LOOKUP → slots → paged KV) of whole vLLM blocks through the connector, driven in vLLM's step order,
beside the same copies done by torch alone between the paged tensors and one contiguous CPU buffer
(the ceiling: what moving those bytes costs without the shard and the connector's bookkeeping).

    brixlet agent --accel none --kv.capacity 4GiB &
    python3 bench/kv/vllm_connector.py --socket /run/brixlet/kv.sock [--json out.json]

Needs torch (CPU is enough). Default shapes: 32 layers, 8 KV heads × 128, fp16, 16-token blocks
(2 MiB per block over all layers, a Llama-3-8B worker), NHD.
"""
import argparse
import json
import os
import statistics
import sys
import time
import uuid
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'clients', 'python'))

import torch  # noqa: E402

from brixlet_kv.vllm._compat import KVConnectorRole  # noqa: E402
from brixlet_kv.vllm.connector import BrixletConnector  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--socket', default='/run/brixlet/kv.sock')
    ap.add_argument('--layers', type=int, default=32)
    ap.add_argument('--heads', type=int, default=8)
    ap.add_argument('--head-size', type=int, default=128)
    ap.add_argument('--block-tokens', type=int, default=16)
    ap.add_argument('--blocks', type=int, default=64, help='blocks per request (one request per rep)')
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--whole-request', action='store_true', help='layerwise_load: false (every load copy before the forward)')
    ap.add_argument('--json')
    a = ap.parse_args()

    bt, nb = a.block_tokens, a.blocks + 1
    layers = [f'model.layers.{i}.self_attn.attn' for i in range(a.layers)]
    page = 2 * bt * a.heads * a.head_size * 2
    kvc = SimpleNamespace(num_blocks=nb, kv_cache_groups=[SimpleNamespace(layer_names=layers, kv_cache_spec=SimpleNamespace(page_size_bytes=page))])
    model = f'bench-{uuid.uuid4().hex[:8]}'

    def cfg():
        return SimpleNamespace(
            kv_transfer_config=SimpleNamespace(kv_connector_extra_config={'socket': a.socket, 'kv_layout': 'NHD', 'layerwise_load': not a.whole_request}),
            cache_config=SimpleNamespace(block_size=bt, cache_dtype='auto'),
            model_config=SimpleNamespace(model=model, dtype='float16'),
            parallel_config=SimpleNamespace(tensor_parallel_size=1, pipeline_parallel_size=1, rank=0),
        )

    def engine():
        s = BrixletConnector(cfg(), KVConnectorRole.SCHEDULER, kvc)
        w = BrixletConnector(cfg(), KVConnectorRole.WORKER, kvc)
        kv = {n: torch.randn(2, nb, bt, a.heads, a.head_size).half() for n in layers}
        w.register_kv_caches(kv)
        return s, w, kv

    def step(s, w, kv, so):
        meta = s.build_connector_meta(so)
        w.bind_connector_metadata(meta)
        t0 = time.perf_counter()
        w.start_load_kv(None)
        for n in layers:
            w.wait_for_layer_load(n)
            w.save_kv_layer(n, kv[n], None)
        w.wait_for_save()
        dt = time.perf_counter() - t0
        sending, recving = w.get_finished(set())
        errors = w.get_block_ids_with_load_errors()
        wm = w.build_connector_worker_meta()
        w.clear_connector_metadata()
        s.update_connector_output(SimpleNamespace(finished_sending=sending, finished_recving=recving, invalid_block_ids=errors, kv_connector_worker_meta=wm))
        s.take_events()
        return dt, recving, errors

    empty_cached = SimpleNamespace(req_ids=[], new_block_ids=[], num_computed_tokens=[], resumed_req_ids=set())
    saver, loader = engine(), engine()
    ids = list(range(a.blocks + 1))
    block_bytes = page * a.layers
    moved = a.blocks * block_bytes
    save_s, load_s, ceil_save_s, ceil_load_s = [], [], [], []
    flat = torch.empty(a.blocks * block_bytes, dtype=torch.uint8)
    for rep in range(a.reps):
        tokens = [(rep * 1_000_003 + i * 7919) % 50000 for i in range(a.blocks * bt + 1)]
        req = SimpleNamespace(request_id=f'r{rep}', prompt_token_ids=tokens, all_token_ids=tokens, num_tokens=len(tokens), lora_request=None, cache_salt=None)
        s, w, kv = saver
        while s.get_num_new_matched_tokens(req, 0)[0] is None:
            time.sleep(0.0005)
        s.update_state_after_alloc(req, SimpleNamespace(get_block_ids=lambda: (ids,)), 0)
        new = SimpleNamespace(req_id=req.request_id, block_ids=(ids,), num_computed_tokens=0)
        dt, _, _ = step(s, w, kv, SimpleNamespace(scheduled_new_reqs=[new], scheduled_cached_reqs=empty_cached, num_scheduled_tokens={req.request_id: len(tokens)}, finished_req_ids=set()))
        save_s.append(dt)
        s.request_finished(req, ids)

        s, w, kv = loader
        while True:
            n, _ = s.get_num_new_matched_tokens(req, 0)
            if n is not None:
                break
            time.sleep(0.0005)
        if n != a.blocks * bt:
            raise SystemExit(f'loader found {n} tokens, expected {a.blocks * bt} (shard too small?)')
        s.update_state_after_alloc(req, SimpleNamespace(get_block_ids=lambda: (ids,)), n)
        dt, recving, errors = step(s, w, kv, SimpleNamespace(scheduled_new_reqs=[], scheduled_cached_reqs=empty_cached, num_scheduled_tokens={}, finished_req_ids=set()))
        if errors or recving != {req.request_id}:
            raise SystemExit(f'load failed: errors {sorted(errors)}')
        load_s.append(dt)
        for b in range(a.blocks):
            for n_ in layers:
                if not torch.equal(loader[2][n_][:, b], saver[2][n_][:, b]):
                    raise SystemExit(f'block {b} layer {n_} differs after the load')
        s.request_finished(req, ids)

        # The ceiling: the same per-layer block copies, torch alone, into and out of one CPU buffer.
        src = saver[2]
        views = []
        off = 0
        for b in range(a.blocks):
            for n_ in layers:
                one = src[n_][:, b]
                views.append((n_, b, flat[off : off + one.numel() * 2].view(torch.float16).view(one.shape)))
                off += one.numel() * 2
        t0 = time.perf_counter()
        for n_, b, v in views:
            v.copy_(src[n_][:, b])
        ceil_save_s.append(time.perf_counter() - t0)
        dst = loader[2]
        t0 = time.perf_counter()
        for n_, b, v in views:
            dst[n_][:, b].copy_(v)
        ceil_load_s.append(time.perf_counter() - t0)

    for s, w, _ in (saver, loader):
        s.shutdown()
        w.shutdown()
    med = statistics.median
    result = {
        'block_bytes': block_bytes,
        'blocks_per_step': a.blocks,
        'reps': a.reps,
        'connector_save_GBps': moved / med(save_s) / 1e9,
        'connector_load_GBps': moved / med(load_s) / 1e9,
        'torch_only_save_GBps': moved / med(ceil_save_s) / 1e9,
        'torch_only_load_GBps': moved / med(ceil_load_s) / 1e9,
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
    }
    print(json.dumps(result, indent=2))
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
