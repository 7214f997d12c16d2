import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { readCapped } from '../../../src/common/http/read-capped.js';

it('reads a body up to the cap as UTF-8, and destroys a body over it', async () => {
  const parts = [Buffer.from('héllo '), Buffer.from('wörld')];
  expect(await readCapped(Readable.from(parts), 64)).toBe('héllo wörld');
  const big = Readable.from([Buffer.alloc(40), Buffer.alloc(40)]);
  expect(await readCapped(big, 64)).toBeUndefined();
  expect(big.destroyed).toBe(true);
  expect(await readCapped(Readable.from([]), 0)).toBe('');
});
