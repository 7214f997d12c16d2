import { describe, expect, it } from 'vitest';
import { type ActiveFault, FaultEngine } from '../../../src/accel/fault/engine.js';
import type { FaultRuleInput } from '../../../src/accel/fault/rule.js';

const clock = (start = 1_000_000) => {
  const c = { t: start, now: () => c.t };
  return c;
};

const temp = (extra: Partial<FaultRuleInput> = {}): FaultRuleInput => ({
  target: { device: 0 },
  what: { api: 'nvmlDeviceGetTemperature' },
  effect: { return: 'GPU_IS_LOST' },
  ...extra,
});

/** Evaluates the engine's first nvidia rule `n` times; the pattern of applied calls as 1/0. */
function run(engine: FaultEngine, n: number): string {
  const f = engine.faultsFor('nvidia')[0] as ActiveFault;
  return Array.from({ length: n }, () => (engine.evaluate(f, 'nvmlDeviceGetTemperature', 'nvidia', 0) ? '1' : '0')).join('');
}

describe('FaultEngine triggers', () => {
  it('without a trigger applies on every call', () => {
    const e = new FaultEngine();
    e.add(temp());
    expect(run(e, 4)).toBe('1111');
  });

  it('afterCalls lets that many matching calls through first', () => {
    const e = new FaultEngine();
    e.add(temp({ trigger: { afterCalls: 3 } }));
    expect(run(e, 6)).toBe('000111');
    expect(e.trace().map((t) => t.reason)).toEqual(['after-calls', 'after-calls', 'after-calls', 'applied', 'applied', 'applied']);
    expect(e.trace().map((t) => t.call)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('times caps the applications', () => {
    const e = new FaultEngine();
    e.add(temp({ trigger: { times: 2, afterCalls: 1 } }));
    expect(run(e, 5)).toBe('01100');
    expect(e.trace().at(-1)?.reason).toBe('times-exhausted');
  });

  it('a seeded probability rolls the same sequence on every run, about p of the calls', () => {
    const pattern = () => {
      const e = new FaultEngine();
      e.add(temp({ trigger: { probability: 0.3, seed: 42 } }));
      return run(e, 2000);
    };
    const a = pattern();
    expect(pattern()).toBe(a);
    const hits = [...a].filter((c) => c === '1').length;
    expect(hits).toBeGreaterThan(520);
    expect(hits).toBeLessThan(680);
    const other = new FaultEngine();
    other.add(temp({ trigger: { probability: 0.3, seed: 43 } }));
    expect(run(other, 2000)).not.toBe(a);
  });

  it('records the roll in the trace: applied exactly when rolled < p', () => {
    const e = new FaultEngine();
    e.add(temp({ trigger: { probability: 0.5, seed: 7 } }));
    run(e, 50);
    for (const t of e.trace()) {
      expect(t.rolled).toBeGreaterThanOrEqual(0);
      expect(t.applied).toBe(t.rolled! < 0.5);
      expect(t.reason).toBe(t.applied ? 'applied' : 'probability');
    }
  });

  it('an unseeded rule rolls reproducibly from its id', () => {
    const mk = () => {
      const e = new FaultEngine();
      e.add(temp({ id: 'dice', trigger: { probability: 0.5 } }));
      return run(e, 64);
    };
    expect(mk()).toBe(mk());
  });

  it('a window (startInMs + durationMs) applies only inside it and counts calls only inside it', () => {
    const c = clock();
    const e = new FaultEngine({ now: c.now });
    e.add(temp({ trigger: { startInMs: 1000, durationMs: 500, afterCalls: 1 } }));
    expect(run(e, 2)).toBe('00');
    expect(e.trace().map((t) => t.reason)).toEqual(['before-window', 'before-window']);
    c.t += 1000;
    expect(run(e, 2)).toBe('01');
    c.t += 499;
    expect(run(e, 1)).toBe('1');
    c.t += 1;
    expect(run(e, 1)).toBe('0');
    expect(e.trace().at(-1)?.reason).toBe('after-window');
  });

  it('startAt is an absolute window start', () => {
    const c = clock();
    const e = new FaultEngine({ now: c.now });
    e.add(temp({ trigger: { startAt: c.t + 10 } }));
    expect(run(e, 1)).toBe('0');
    c.t += 10;
    expect(run(e, 1)).toBe('1');
  });

  it('sticky: once fired, applies on every later call regardless of the trigger', () => {
    const e = new FaultEngine();
    e.add(temp({ sticky: true, trigger: { probability: 0.2, seed: 1, times: 1 } }));
    const p = run(e, 200);
    const first = p.indexOf('1');
    expect(first).toBeGreaterThanOrEqual(0);
    expect(p.slice(first)).toBe('1'.repeat(200 - first));
    expect(e.list()[0]).toMatchObject({ latched: true, applied: 200 - first });
  });
});

describe('FaultEngine store', () => {
  it('expires rules on their TTL (default 10 min) on a fake clock and says it changed', () => {
    const c = clock();
    const e = new FaultEngine({ now: c.now });
    e.add(temp({ id: 'short', ttlMs: 1000 }));
    e.add(temp({ id: 'default' }));
    let changes = 0;
    e.onChange(() => changes++);
    const gen = e.generation;
    c.t += 999;
    e.tick();
    expect(e.list().map((r) => r.id)).toEqual(['short', 'default']);
    c.t += 1;
    expect(e.list().map((r) => r.id)).toEqual(['default']);
    expect(e.generation).toBeGreaterThan(gen);
    expect(changes).toBe(1);
    c.t += 10 * 60 * 1000 - 1000 - 1;
    expect(e.size).toBe(1);
    c.t += 1;
    e.tick();
    expect(e.size).toBe(0);
  });

  it('refuses a TTL over 24 h and explains', () => {
    expect(() => new FaultEngine().add(temp({ ttlMs: 24 * 3600 * 1000 + 1 }))).toThrow(/ttlMs/);
  });

  it('assigns ids, refuses duplicates unless replacing, and finds nothing after remove', () => {
    const e = new FaultEngine();
    expect(e.add(temp()).id).toBe('f1');
    e.add(temp({ id: 'mine' }));
    expect(() => e.add(temp({ id: 'mine' }))).toThrow(expect.objectContaining({ code: 'BRX_ERR_FAULT_CONFLICT', statusCode: 409 }));
    e.add(temp({ id: 'mine', effect: { return: 3 } }), { replace: true });
    expect(e.get('mine')?.codes).toEqual({ nvidia: 3 });
    expect(e.remove('mine').id).toBe('mine');
    expect(() => e.remove('mine')).toThrow(expect.objectContaining({ code: 'BRX_ERR_FAULT_NOT_FOUND', statusCode: 404 }));
  });

  it('is bounded: past maxRules nothing of the batch is added', () => {
    const e = new FaultEngine({ maxRules: 3 });
    e.addAll([temp(), temp()]);
    expect(() => e.addAll([temp(), temp()])).toThrow(expect.objectContaining({ code: 'BRX_ERR_FAULT_LIMIT' }));
    expect(e.size).toBe(2);
    expect(() => e.addAll([temp({ id: 'ok' }), { effect: {} }])).toThrow(expect.objectContaining({ code: 'BRX_ERR_FAULT_RULE_INVALID' }));
    expect(e.size).toBe(2);
  });

  it('reset removes every rule but keeps the trace and injection counts', () => {
    const e = new FaultEngine();
    e.add(temp({ id: 'a' }));
    run(e, 3);
    expect(e.reset()).toBe(1);
    expect(e.size).toBe(0);
    expect(e.trace()).toHaveLength(3);
    expect(e.injectionCounts()).toEqual([{ rule: 'a', api: 'nvmlDeviceGetTemperature', count: 3 }]);
  });

  it('keeps the trace bounded, newest last', () => {
    const e = new FaultEngine({ traceSize: 10 });
    e.add(temp());
    run(e, 25);
    const t = e.trace();
    expect(t).toHaveLength(10);
    expect(t.map((x) => x.call)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(e.trace(3).map((x) => x.call)).toEqual([23, 24, 25]);
  });

  it('lists rules per vendor in priority order', () => {
    const e = new FaultEngine();
    e.add({ id: 'n', target: { device: 1 }, what: { class: 'pcie' }, effect: { values: { pcieGen: 3 } } });
    e.add({ id: 'a', what: { api: 'dcmi_get_device_health' }, effect: { return: -8005 } });
    e.add({ id: 'both', target: { device: 1 }, effect: { values: { gpuTempC: 99 } } });
    expect(e.faultsFor('nvidia').map((f) => f.rule.id)).toEqual(['n', 'both']);
    expect(e.faultsFor('ascend').map((f) => f.rule.id)).toEqual(['a', 'both']);
  });

  it('a throwing change listener does not break the engine', () => {
    const e = new FaultEngine();
    e.onChange(() => {
      throw new Error('boom');
    });
    expect(() => e.add(temp())).not.toThrow();
    expect(e.size).toBe(1);
  });
});
