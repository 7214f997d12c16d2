// The Python client's status tables must match the shard's: a status it cannot name, or one it does not
// know closes the connection, would leave an engine retrying on a closed socket.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CLOSING_STATUSES, ItemStatus, Status } from '../../src/kvcache/protocol.js';
import { repoRoot } from '../helpers/repo.js';

const DUMP = `import json
from brixlet_kv import protocol as p
print(json.dumps({'status': {n: s for s, n in p.STATUS_NAMES.items()}, 'closing': sorted(p.CLOSING_STATUSES),
                  'item': {n: s for s, n in p.ITEM_STATUS_NAMES.items()}}))`;

it('names every frame and item status as the shard does, and closes on the same ones', () => {
  const out = execFileSync('python3', ['-c', DUMP], { env: { PATH: process.env.PATH ?? '', PYTHONPATH: join(repoRoot, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' }, encoding: 'utf8' });
  const py = JSON.parse(out) as { status: Record<string, number>; closing: number[]; item: Record<string, number> };
  expect(py.status).toEqual({ ...Status });
  expect(py.closing).toEqual([...CLOSING_STATUSES].sort((a, b) => a - b));
  expect(py.item).toEqual({ ...ItemStatus });
});
