import { describe, expect, it } from 'vitest';
import { parseFaultRule } from '../../../src/accel/fault/rule.js';

const parse = (input: unknown) => parseFaultRule(input, { id: 'f1', now: 1000 });
const reason = (input: unknown): string => {
  try {
    parse(input);
  } catch (err) {
    expect(err).toMatchObject({ code: 'BRX_ERR_FAULT_RULE_INVALID', statusCode: 400 });
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('parseFaultRule', () => {
  it('normalises: server id, default TTL of 10 min, vendor from the api, code by name', () => {
    expect(parse({ target: { device: 3 }, what: { api: 'nvmlDeviceGetTemperature' }, effect: { return: 'NVML_ERROR_GPU_IS_LOST' } })).toMatchObject({
      id: 'f1',
      vendors: ['nvidia'],
      codes: { nvidia: 15 },
      sticky: false,
      ttlMs: 600_000,
      createdAt: 1000,
      expiresAt: 601_000,
      init: false,
    });
  });

  it('infers vendors from codes, classes and effects; NOT_SUPPORTED means each vendor its own code', () => {
    expect(parse({ what: { api: '*' }, effect: { return: -8005 } }).vendors).toEqual(['ascend']);
    expect(parse({ what: { class: 'pcie' }, effect: { values: { pcieGen: 1 } } }).vendors).toEqual(['nvidia']);
    expect(parse({ effect: { npuHealth: 3 } }).vendors).toEqual(['ascend']);
    expect(parse({ what: { class: 'thermal' }, effect: { return: 'NOT_SUPPORTED' } }).codes).toEqual({ nvidia: 3, ascend: -8255 });
    expect(parse({ what: { api: 'dcmi_get_device_health' }, effect: { return: 'DEVICE_NOT_EXIST' } }).codes).toEqual({ ascend: -8008 });
  });

  it('keeps fault codes unsigned, from numbers or hex text', () => {
    expect(parse({ effect: { faultCodes: ['0x80E24E00', 0xffffffff] } }).effect.faultCodes).toEqual([2162314752, 4294967295]);
    expect(reason({ effect: { faultCodes: [-1] } })).toMatch(/faultCodes/);
  });

  it('resolves a window to absolute times', () => {
    expect(parse({ what: { api: '*' }, effect: { return: 15 }, trigger: { startInMs: 500, durationMs: 100 } }).window).toEqual({ start: 1500, end: 1600 });
    expect(parse({ what: { api: '*' }, effect: { return: 15 }, trigger: { durationMs: 100 } }).window).toEqual({ start: 1000, end: 1100 });
  });

  it('explains what is wrong', () => {
    expect(reason({ effect: {} })).toMatch(/effect is empty/);
    expect(reason({ effect: { return: 15 } })).toMatch(/needs what.api .* or what.class/);
    expect(reason({ what: { api: '*' }, effect: { return: 0 } })).toMatch(/success: there is nothing to inject/);
    expect(reason({ what: { api: '*' }, effect: { return: 'NO_SUCH_CODE' } })).toMatch(/not a return code name/);
    expect(reason({ target: { vendor: 'ascend' }, what: { api: 'nvmlDeviceGetTemperature' }, effect: { return: 3 } })).toMatch(/NVML function .* contradicts target.vendor ascend/);
    expect(reason({ effect: { xid: 79, npuHealth: 2 } })).toMatch(/npuHealth is an Ascend reading, which contradicts/);
    expect(reason({ effect: { values: { pcieGen: 3, hbmTempC: 50 } } })).toMatch(/hbmTempC is read on ascend only/);
    expect(reason({ target: { device: 2 }, what: { api: 'init' }, effect: { return: 9 } })).toMatch(/whole library/);
    expect(reason({ what: { api: 'init' }, effect: { return: 9, xid: 1 } })).toMatch(/effect.return only/);
    expect(reason({ what: { api: '*', class: 'lost' }, effect: { return: 15 } })).toMatch(/not both/);
    expect(reason({ what: { class: 'xid' }, effect: { return: 15 } })).toMatch(/use effect.xid/);
    expect(reason({ what: { api: '*' }, effect: { return: 15 }, trigger: { startAt: 1, startInMs: 1 } })).toMatch(/startAt or trigger.startInMs/);
    expect(reason({ id: 'x#y', effect: { xid: 1 } })).toMatch(/\/id/);
    expect(reason({ effect: { xid: 1 }, extra: true })).toMatch(/\/extra/);
    expect(reason({ effect: { xid: 1 }, trigger: { probability: 1.5 } })).toMatch(/probability/);
    expect(reason({ id: 'mine', effect: { values: {} } })).toMatch(/^invalid fault rule: mine: effect.values is empty/);
  });
});
