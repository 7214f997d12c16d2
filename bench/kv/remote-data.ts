/** The blocks bench:kv-remote puts on every backend: the same bytes under the same names. */
export function benchKeys(size: number, from: number, n: number): Buffer {
  const b = Buffer.alloc(n * 16);
  for (let i = 0; i < n; i++) {
    b.writeUInt32LE(size, i * 16);
    b.writeUInt32LE(from + i, i * 16 + 4);
    b.write('brixlet!', i * 16 + 8, 'latin1');
  }
  return b;
}

export function benchName(size: number, i: number): string {
  return `b${size}:${i}`;
}

export function benchBlock(size: number, i: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let j = 0; j + 4 <= size; j += 4) b.writeUInt32LE((i * 2654435761 + j) >>> 0, j);
  return b;
}
