/**
 * Memory under a burst of large uploads: `clients` concurrent POSTs of `bodyBytes` each to a
 * gateway process, with its resident set read from /proc before and at its peak (VmHWM) after.
 * The gateway admits bodies from their headers against --gateway.max-buffered-body, so what it
 * holds at once is bounded by that, not by clients × body size.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'undici';

export interface BurstResult {
  /** Peak resident set growth over the burst, MiB. */
  readonly peakGrowthMiB: number;
  /** Answers by status code. */
  readonly statuses: Record<string, number>;
}

function procKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN);
}

/** Clears the peak resident set counter of a process (Linux: 5 into clear_refs), so VmHWM starts at the current RSS. */
function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not permitted: VmHWM keeps the earlier peak, and the growth read is an upper bound.
  }
}

export async function uploadBurst(url: string, pid: number, clients: number, bodyBytes: number, model: string): Promise<BurstResult> {
  const prefix = `{"model":"${model}","max_tokens":1,"prompt":"`;
  const body = Buffer.alloc(bodyBytes, 0x61);
  body.write(prefix, 0, 'latin1');
  body.write('"}', bodyBytes - 2, 'latin1');
  const dispatcher = new Agent({ connections: clients, pipelining: 0 });
  resetPeak(pid);
  const before = procKiB(pid, 'VmRSS');
  const statuses: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: clients }, async () => {
      try {
        const r = await request(`${url}/v1/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher });
        await r.body.dump();
        statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
      } catch {
        statuses.closed = (statuses.closed ?? 0) + 1;
      }
    }),
  );
  const peak = procKiB(pid, 'VmHWM');
  await dispatcher.close();
  return { peakGrowthMiB: (peak - before) / 1024, statuses };
}
