import { expect, it } from 'vitest';
import { faultCodeHex } from '../../src/accel/fault-code.js';

it('prints unsigned 32-bit fault codes as padded upper-case hex', () => {
  expect(faultCodeHex(2162314752)).toBe('0x80E24E00');
  expect(faultCodeHex(0x80e24e00 | 0)).toBe('0x80E24E00'); // a value that went through a signed int
  expect(faultCodeHex(0x1f)).toBe('0x0000001F');
});
