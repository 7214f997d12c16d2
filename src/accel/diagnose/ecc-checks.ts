/** GPU memory ECC: volatile counters (since the last driver load or reset) and lifetime aggregates. */
import type { DeviceSample } from '../types.js';
import { type DeviceCheck, delta, judged, pass, seconds, skip, warn } from './check.js';

const ECC_APIS = ['EccErrors', 'MemoryErrorCounter', 'EccMode'];

type Counter = readonly [label: string, key: keyof DeviceSample];

const UNCORRECTED: readonly Counter[] = [
  ['dbe', 'eccDbeVolatile'],
  ['sram-ue', 'eccSramUncorrectedVolatile'],
  ['dram-ue', 'eccDramUncorrectedVolatile'],
];
const CORRECTED: readonly Counter[] = [
  ['sbe', 'eccSbeVolatile'],
  ['dram-ce', 'eccDramCorrectedVolatile'],
];

function read(sample: DeviceSample, counters: readonly Counter[]) {
  return counters.flatMap(([label, key]) => {
    const v = sample[key];
    return typeof v === 'number' ? [{ label, key, value: v }] : [];
  });
}

const eccVolatileCheck: DeviceCheck = {
  name: 'ecc-volatile',
  run({ device, before, level, windowMs }) {
    const { sample } = device;
    if (sample.eccEnabled === false) return warn('check-config', 'ECC disabled', 'ECC enabled', 'ECC is off: memory errors go undetected; enable it (nvidia-smi -e 1) and reset the GPU');
    const unc = read(sample, UNCORRECTED);
    const cor = read(sample, CORRECTED);
    if (unc.length === 0 && cor.length === 0) return skip(device, ECC_APIS, 'no uncorrectable errors', 'volatile ECC counters');
    const rise = (key: keyof DeviceSample, v: number) => (level === 2 && before !== undefined ? delta(v, before.sample[key] as number | undefined) : undefined);
    const observed = [...unc, ...cor]
      .map(({ label, key, value }) => {
        const d = rise(key, value);
        return d === undefined ? `${label} ${value}` : `${label} ${value} (+${d})`;
      })
      .join(', ');
    const expected = 'dbe 0, sram-ue 0, dram-ue 0';
    const badUnc = unc.filter((c) => c.value > 0);
    const verdict = judged('ecc-volatile', device, observed, expected, () => `uncorrectable memory errors since the last reset (${badUnc.map((c) => c.label).join(', ')}): reset the GPU so the bad rows are remapped`);
    if (verdict !== undefined) return verdict;
    const rising = cor.filter((c) => (rise(c.key, c.value) ?? 0) > 0);
    if (rising.length > 0) return warn('monitor', observed, expected, `correctable errors rose during ${seconds(windowMs)}; watch for XID 92/94 and remapped rows`);
    if (cor.some((c) => c.value > 0)) return warn('monitor', observed, expected, 'correctable (single-bit) errors since the last reset; harmless alone, watch whether they keep rising');
    return pass(observed, expected, 'no memory errors since the last reset');
  },
};

const eccAggregateCheck: DeviceCheck = {
  name: 'ecc-aggregate',
  run({ device }) {
    const { eccSbeAggregate: sbe, eccDbeAggregate: dbe } = device.sample;
    if (device.sample.eccEnabled === false) return skip(device, [], 'dbe 0', 'aggregate ECC counters (ECC is off)');
    if (sbe === undefined && dbe === undefined) return skip(device, ECC_APIS, 'dbe 0', 'aggregate ECC counters');
    const observed = [sbe === undefined ? undefined : `sbe ${sbe}`, dbe === undefined ? undefined : `dbe ${dbe}`].filter(Boolean).join(', ');
    if ((dbe ?? 0) > 0) return warn('monitor', observed, 'dbe 0', `${dbe} uncorrectable error(s) over the GPU's life; fine if rows were remapped, replace the GPU if they keep coming`);
    return pass(observed, 'dbe 0', 'no uncorrectable errors over the GPU\'s life');
  },
};

export const eccChecks: readonly DeviceCheck[] = [eccVolatileCheck, eccAggregateCheck];
