import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveNodeToken } from '../../../src/coordinator/registry/node-token.js';
import { cli } from '../../helpers/cli.js';

const SECRET = 'cluster-secret-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'brixlet-token-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });

describe('brixlet token', () => {
  it('derives the documented node token (test vector; openssl dgst -sha256 -hmac gives the same bytes)', async () => {
    const r = await cli(['token', 'node', 'gpu-node-1', '--secret-file', secretFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('brxn1.rkmbY0TpsPcvpcG1bPaQfiU9C14dPbGDqHYV6-xojHM\n');
    expect(r.stdout.trim()).toBe(deriveNodeToken(SECRET, 'gpu-node-1'));
    expect(deriveNodeToken(SECRET, 'gpu-node-2')).not.toBe(r.stdout.trim());
    const json = await cli(['token', 'node', 'gpu-node-1', '--secret-file', secretFile, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ node: 'gpu-node-1', token: r.stdout.trim() });
  });

  it('makes random secrets, and writes tokens only to a new file of mode 0600', async () => {
    const a = (await cli(['token', 'secret'])).stdout.trim();
    const b = (await cli(['token', 'secret'])).stdout.trim();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    const out = join(dir, 'new-secret');
    expect((await cli(['token', 'secret', '--out', out])).code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const written = readFileSync(out, 'utf8');
    // Never overwritten in place.
    const again = await cli(['token', 'secret', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists already');
    expect(readFileSync(out, 'utf8')).toBe(written);
    const nodeOut = join(dir, 'node-token');
    expect((await cli(['token', 'node', 'n1', '--secret-file', out, '--out', nodeOut])).code).toBe(0);
    expect(readFileSync(nodeOut, 'utf8')).toBe(`${deriveNodeToken(written.trim(), 'n1')}\n`);
    expect(statSync(nodeOut).mode & 0o777).toBe(0o600);
  });

  it('does not write through a planted link', async () => {
    const target = join(dir, 'victim');
    writeFileSync(target, 'keep me');
    const link = join(dir, 'link');
    symlinkSync(target, link);
    const r = await cli(['token', 'secret', '--out', link]);
    expect(r.code).toBe(2);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('refuses a secret file others can read, a bad node name, and missing arguments (exit 2)', async () => {
    const loose = join(dir, 'loose');
    writeFileSync(loose, SECRET, { mode: 0o644 });
    const r = await cli(['token', 'node', 'n1', '--secret-file', loose]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('BRX_ERR_REGISTRY_TOKEN');
    expect(r.stderr).toContain('--secret-file');
    for (const argv of [['token'], ['token', 'nodes'], ['token', 'node', 'n1'], ['token', 'node', '--secret-file', secretFile], ['token', 'node', 'bad/name', '--secret-file', secretFile], ['token', 'secret', 'x']]) {
      const bad = await cli(argv);
      expect(bad.code, argv.join(' ')).toBe(2);
      expect(bad.stderr).toContain('BRX_ERR_CLI_USAGE');
    }
  });
});
