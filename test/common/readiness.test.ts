import { expect, it } from 'vitest';
import { Readiness } from '../../src/common/readiness.js';

it('is ready only when every check passes and it is not draining', () => {
  const r = new Readiness();
  expect(r.state()).toEqual({ ready: true, reasons: [] });
  let kvReady = false;
  r.add({ name: 'kvcache', check: () => (kvReady ? undefined : 'slabs not mapped') });
  expect(r.state()).toEqual({ ready: false, reasons: ['kvcache: slabs not mapped'] });
  kvReady = true;
  expect(r.state().ready).toBe(true);
  r.setDraining();
  expect(r.isDraining).toBe(true);
  expect(r.state()).toEqual({ ready: false, reasons: ['shutting down'] });
});
