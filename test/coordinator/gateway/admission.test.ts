import { expect, it } from 'vitest';
import { Admission } from '../../../src/coordinator/gateway/admission.js';

it('admits up to max-in-flight and frees a slot once per ticket', () => {
  const gate = new Admission({ maxInFlight: 2, maxBufferedBody: 0 });
  const a = gate.admit(10);
  gate.admit(0);
  expect(() => gate.admit(0)).toThrow(expect.objectContaining({ code: 'BRX_ERR_GATEWAY_OVERLOADED', statusCode: 429 }));
  a.release();
  a.release();
  expect(gate.inFlight).toBe(1);
  gate.admit(0);
  expect(gate.inFlight).toBe(2);
});

it('bounds the body bytes held, always lets one body in, and refuses a growing body without reserving it', () => {
  const gate = new Admission({ maxInFlight: 0, maxBufferedBody: 100 });
  const big = gate.admit(500);
  expect(gate.bufferedBytes).toBe(500);
  expect(() => gate.admit(1)).toThrow(expect.objectContaining({ code: 'BRX_ERR_GATEWAY_BUFFER_FULL', statusCode: 503 }));
  // The refused admission took no slot.
  expect(gate.inFlight).toBe(1);
  big.release();
  const a = gate.admit(60);
  const chunked = gate.admit(0);
  chunked.grow(30);
  expect(() => chunked.grow(20)).toThrow(expect.objectContaining({ code: 'BRX_ERR_GATEWAY_BUFFER_FULL' }));
  expect(gate.bufferedBytes).toBe(90);
  chunked.release();
  a.release();
  expect([gate.inFlight, gate.bufferedBytes]).toEqual([0, 0]);
});
