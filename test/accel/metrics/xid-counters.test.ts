// The XID counters as Prometheus first sees them: the per-device total is on the first scrape at 0,
// so increase() counts a device's first XID; the per-XID series can only appear with their first XID.
import { afterEach, describe, expect, it } from 'vitest';
import { renderAccelMetrics } from '../../../src/accel/metrics/render-metrics.js';
import { PROBES } from '../../../src/accel/probes/index.js';
import { Sampler } from '../../../src/accel/sampler.js';
import { loadScenarioFile, resolveScenario } from '../../../src/accel/scenario.js';
import { createSimBackends, type SimBackend } from '../../../src/accel/sim/index.js';
import type { AccelSnapshot } from '../../../src/accel/types.js';
import { silentLog } from '../../helpers/apps.js';
import { samplesOf } from '../helpers/exposition-parser.js';

const ALL = 'brixlet_accelerator_xid_errors_all_total';
const BY_XID = 'brixlet_accelerator_xid_errors_total';

let running: { sampler: Sampler; backends: SimBackend[] } | undefined;
afterEach(async () => {
  await running?.sampler.dispose();
  running = undefined;
});

async function start(scenario: string): Promise<{ sampler: Sampler; backends: SimBackend[] }> {
  const backends = createSimBackends(loadScenarioFile(resolveScenario(scenario)), { log: silentLog }) as SimBackend[];
  for (const b of backends) await b.open();
  const sampler = new Sampler({ backends, probes: PROBES, intervalMs: 60_000, node: 'n1', log: silentLog, xidIgnore: [13, 31, 43, 45, 68, 109] });
  running = { sampler, backends };
  return running;
}

const scrape = (s: AccelSnapshot): string => renderAccelMetrics(s, { probes: PROBES, dcgm: true, npu: true, hostname: 'n1' });

/** `index=value` of each sample, in output order; `xid` appended where the series has one. */
function rows(text: string, name: string): string[] {
  return samplesOf(text, name).map((r) => {
    const l = new Map(r.labels);
    return `${l.get('index')}${l.has('xid') ? ` xid=${l.get('xid')}` : ''}=${r.value}`;
  });
}

/** Samples until `done` holds (XIDs arrive through the event source); only a hang fails it. */
async function sampleUntil(sampler: Sampler, done: (s: AccelSnapshot) => boolean): Promise<AccelSnapshot> {
  let s = await sampler.sampleNow();
  for (let i = 0; i < 500 && !done(s); i++) {
    await new Promise((r) => setTimeout(r, 20));
    s = await sampler.sampleNow();
  }
  return s;
}

describe('XID counters right after start', () => {
  it('start every NVIDIA device at 0 in the per-device total, with the device labels the increments use', async () => {
    const { sampler, backends } = await start('healthy-8x-h100');
    const first = scrape(await sampler.sampleNow());
    expect(rows(first, ALL)).toEqual(['0=0', '1=0', '2=0', '3=0', '4=0', '5=0', '6=0', '7=0']);
    expect(first).toContain(`# TYPE ${ALL} counter`);
    // No XID number is known before the first XID: no per-XID series yet.
    expect(rows(first, BY_XID)).toEqual([]);

    backends[0]!.pushXid(2, 48);
    backends[0]!.pushXid(2, 48);
    backends[0]!.pushXid(2, 13);
    const later = scrape(await sampleUntil(sampler, (s) => Object.keys(s.devices[2]!.xidCounts).length === 2 && s.devices[2]!.xidCounts[48] === 2));
    expect(rows(later, ALL)).toEqual(['0=0', '1=0', '2=3', '3=0', '4=0', '5=0', '6=0', '7=0']);
    expect(rows(later, BY_XID)).toEqual(['2 xid=13=1', '2 xid=48=2']);
    // The same series before and after the XIDs: Prometheus sees 0 → 3, not a new series at 3.
    const labelsOf = (text: string) => samplesOf(text, ALL).find((r) => new Map(r.labels).get('index') === '2')?.labels;
    expect(labelsOf(later)).toEqual(labelsOf(first));
    // The per-XID series carry the same device labels plus xid.
    expect(samplesOf(later, BY_XID)[0]?.labels.slice(0, -1)).toEqual(labelsOf(first));
  });

  it('give NPUs (no XIDs) no per-device XID total', async () => {
    const { sampler } = await start('healthy-8x-ascend910b');
    const text = scrape(await sampler.sampleNow());
    expect(samplesOf(text, 'brixlet_accelerator_healthy')).toHaveLength(8);
    expect(rows(text, ALL)).toEqual([]);
  });
});
