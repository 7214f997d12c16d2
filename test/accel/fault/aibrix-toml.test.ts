import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importAibrixToml } from '../../../src/accel/fault/aibrix-toml.js';
import { FaultEngine } from '../../../src/accel/fault/engine.js';
import type { FaultRuleInput } from '../../../src/accel/fault/rule.js';

const fixture = (version: string) => readFileSync(new URL(`./fixtures/gpu_mock_conf-${version}.toml`, import.meta.url), 'utf8');
const byId = (rules: readonly FaultRuleInput[]) => new Map(rules.map((r) => [r.id, r]));

describe('importAibrixToml', () => {
  it('0.1.0: each per-card key becomes a value rule on that GPU; the rest is reported', () => {
    const r = importAibrixToml(fixture('0.1.0'));
    expect(r.version).toBe('0.1.0');
    const rules = byId(r.rules);
    expect(rules.get('aibrix.gpus.0.remapping_pending')).toEqual({ id: 'aibrix.gpus.0.remapping_pending', target: { vendor: 'nvidia', device: 0 }, effect: { values: { remapPending: true } } });
    expect(rules.get('aibrix.gpus.0.dram_ue')?.effect).toEqual({ values: { eccDramUncorrectedVolatile: 7 } });
    const values = (id: string) => rules.get(`aibrix.gpus.1.${id}`)?.effect.values;
    expect(values('link_gen')).toEqual({ pcieGenMax: 4 });
    expect(values('link_width_current')).toEqual({ pcieWidth: 8 });
    expect(values('link_width_max')).toEqual({ pcieWidthMax: 16 });
    expect(values('nvlink_active')).toEqual({ nvlinks: [{ link: 0, active: true }, { link: 1, active: false }, { link: 2, active: true }, { link: 3, active: true }] });
    expect(values('remapping_failure')).toEqual({ remapFailure: true });
    expect(values('sram_ue')).toEqual({ eccSramUncorrectedVolatile: 1 });
    expect(values('dram_ce')).toEqual({ eccDramCorrectedVolatile: 3 });
    expect(values('retired_page_sbe')).toEqual({ retiredPagesSbe: 4 });
    expect(values('retired_page_dbe')).toEqual({ retiredPagesDbe: 5 });
    expect(values('retired_page_pending')).toEqual({ retiredPagesPending: true });
    // AIBrix delivered only the first XID; brixlet delivers each, once.
    expect(rules.get('aibrix.gpus.1.crictl_xid.0')).toMatchObject({ what: { class: 'xid' }, effect: { xid: 62 } });
    expect(rules.get('aibrix.gpus.1.crictl_xid.1')).toMatchObject({ effect: { xid: 79 } });
    expect(r.rules).toHaveLength(16);
    expect(r.problems.map((p) => p.key).sort()).toEqual(
      [
        'gpus.card_count',
        'gpus.nvml_init_error',
        'gpus.1.device_name',
        'gpus.1.arch',
        'gpus.1.pci',
        'gpus.1.uuid',
        'gpus.1.uncorrectable_agg_l1',
        'gpus.1.uncorrectable_agg_l2',
        'gpus.1.uncorrectable_agg_reg',
      ].sort(),
    );
    expect(r.problems.find((p) => p.key === 'gpus.nvml_init_error')?.message).toMatch(/0 is success/);
  });

  it('0.2.0: init errors of both vendors, both Ascend spellings, unsigned fault codes above INT_MAX, unknown keys reported', () => {
    const r = importAibrixToml(fixture('0.2.0'));
    const rules = byId(r.rules);
    expect(rules.get('aibrix.nvidia.init')).toEqual({ id: 'aibrix.nvidia.init', target: { vendor: 'nvidia' }, what: { api: 'init' }, effect: { return: 9 } });
    expect(rules.get('aibrix.ascend.init')).toMatchObject({ target: { vendor: 'ascend' }, what: { api: 'init' }, effect: { return: -8005 } });
    expect(rules.get('aibrix.ascend.0.0.fault_codes')).toEqual({
      id: 'aibrix.ascend.0.0.fault_codes',
      target: { vendor: 'ascend', device: 0 },
      what: { class: 'npu-fault-code' },
      effect: { faultCodes: [0x80fa4e00, 0xffffffff] },
    });
    expect(rules.get('aibrix.ascend.2.0.fault_codes')?.effect.faultCodes).toEqual([2162314752]);
    expect(rules.get('aibrix.gpus.3.crictl_xid.0')?.effect.xid).toBe(48);
    expect(r.problems).toEqual([
      { key: 'gpus.3.turbo_mode', message: expect.stringMatching(/^unknown key/) },
      { key: 'ascend-npus.card_count', message: expect.stringMatching(/device count/) },
    ]);
    // The rules are valid as a batch.
    const engine = new FaultEngine();
    expect(engine.addAll(r.rules).map((x) => x.vendors)).toContainEqual(['ascend']);
  });

  it('maps (card, device) through the resolver the agent gives it', () => {
    const text = '[ascend_npus.1.1]\nfault_codes = [1]\n[ascend_npus.7.0]\nfault_codes = [2]\n';
    const r = importAibrixToml(text, { resolveAscend: (card, dev) => (card === 1 && dev === 1 ? 3 : undefined) });
    expect(r.rules.map((x) => x.target)).toEqual([{ vendor: 'ascend', device: 3 }]);
    expect(r.problems).toEqual([{ key: 'ascend_npus.7.0.fault_codes', message: 'no NPU at card 7 device 0 to map to a logic id' }]);
  });

  it('reports wrong types and unknown tables instead of ignoring them', () => {
    const r = importAibrixToml('version = "9.9"\n[gpus.0]\nlink_gen = "four"\ncrictl_xid = ["x"]\n[tpus]\na = 1\n[ascend-npus.0.0]\nfault_codes = [0x1FFFFFFFF]\nbogus = 1\n');
    expect(r.rules).toEqual([]);
    expect(r.problems.map((p) => p.key)).toEqual(['version', 'gpus.0.link_gen', 'gpus.0.crictl_xid', 'tpus', 'ascend-npus.0.0.fault_codes', 'ascend-npus.0.0.bogus']);
  });

  it('bad TOML is an error with line and column', () => {
    expect(() => importAibrixToml('[gpus]\ncard_count = 2\n[gpus.0\n')).toThrow(
      expect.objectContaining({ code: 'BRX_ERR_FAULT_TOML', statusCode: 400, message: expect.stringMatching(/^invalid AIBrix mock config at line 3, column \d+: /) }),
    );
  });
});
