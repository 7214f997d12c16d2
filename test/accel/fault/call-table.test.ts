import { describe, expect, it } from 'vitest';
import { CALL_TABLE, FIELD_PRODUCER } from '../../../src/accel/fault/call-table.js';
import { loadScenarioFile, resolveScenario } from '../../../src/accel/scenario.js';
import { createSimBackends, type SimBackend } from '../../../src/accel/sim/index.js';
import { PROBE_GROUPS, type Vendor } from '../../../src/accel/types.js';
import { silentLog } from '../../helpers/apps.js';

const SCENARIO: Record<Vendor, string> = { nvidia: 'healthy-8x-h100', ascend: 'healthy-8x-ascend910b' };

describe('CALL_TABLE', () => {
  for (const vendor of ['nvidia', 'ascend'] as const) {
    it(`${vendor}: names every call as the backend reports it and lists the fields it fills`, async () => {
      const [sim] = createSimBackends(loadScenarioFile(resolveScenario(SCENARIO[vendor])), { log: silentLog }) as SimBackend[];
      await sim!.open();
      for (const group of PROBE_GROUPS) {
        const ok = await sim!.read(0, group);
        const produced = CALL_TABLE[vendor][group].flatMap((c) => c.fields);
        // Every field the backend fills in this group comes from a call of the table (and nothing else is claimed).
        expect(Object.keys(ok.values).sort(), group).toEqual([...new Set(produced)].sort());
        for (const c of CALL_TABLE[vendor][group]) for (const fn of c.fns) sim!.setReturn(fn, -1, 999);
        const failed = await sim!.read(0, group);
        const labels = CALL_TABLE[vendor][group].map((c) => c.label);
        // The sim stops the NVLink group at the state call, as the nvml backend does.
        if (group === 'nvlink') expect(labels).toEqual(expect.arrayContaining(failed.errors.map((e) => e.api)));
        else expect(failed.errors.map((e) => e.api).sort(), group).toEqual([...new Set(labels)].sort());
        sim!.reset();
      }
    });
  }

  it('knows a producer for every field a vendor reads, in the group that reads it', () => {
    expect(FIELD_PRODUCER.nvidia.get('recoveryAction')).toMatchObject({ group: 'recovery', call: { label: 'nvmlDeviceGetFieldValues(230)' } });
    expect(FIELD_PRODUCER.ascend.get('hbmTempC')).toMatchObject({ group: 'thermal' });
    expect(FIELD_PRODUCER.ascend.get('pcieGen')).toBeUndefined();
  });
});
