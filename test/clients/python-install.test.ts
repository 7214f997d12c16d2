// `pip install ./clients/python` works as the README says: offline (no index), in a fresh venv,
// with nothing but the standard library at build time, and the installed brixlet_kv imports from
// site-packages (not from the source directory).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.js';

const dir = mkdtempSync(join(tmpdir(), 'brixlet-pip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const venv = join(dir, 'venv');
const python = join(venv, 'bin', 'python');
const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: dir, PIP_DISABLE_PIP_VERSION_CHECK: '1' } });

// A venv with pip is the one thing the host must provide (Debian: apt-get install python3-venv).
const made = run('python3', ['-m', 'venv', venv]);
const hasPip = made.status === 0 && run(python, ['-m', 'pip', '--version']).status === 0;
if (!hasPip) console.warn(`python3 venv with pip unavailable (${made.stderr.trim().split('\n').pop() ?? ''}): pip install check skipped`);

describe('pip install ./clients/python', () => {
  it.skipIf(!hasPip)('installs brixlet_kv offline, with build isolation and no index', () => {
    const install = run(python, ['-m', 'pip', 'install', '--no-index', join(repoRoot, 'clients/python')]);
    expect(install.stderr + install.stdout).toContain('Successfully installed brixlet-kv-0.1.0');
    expect(install.status).toBe(0);
    const probe = run(python, ['-c', 'import brixlet_kv, importlib.metadata as m; print(brixlet_kv.__file__); print(m.version("brixlet-kv")); print(brixlet_kv.KvClient.__name__)']);
    expect(probe.status).toBe(0);
    const [file, version, cls] = probe.stdout.trim().split('\n');
    expect(file?.startsWith(venv)).toBe(true);
    expect([version, cls]).toEqual(['0.1.0', 'KvClient']);
    // every module of the package is installed
    const site = join(file ?? '', '..');
    const sources = readdirSync(join(repoRoot, 'clients/python/brixlet_kv')).filter((f) => f.endsWith('.py'));
    expect(readdirSync(site).filter((f) => f.endsWith('.py')).sort()).toEqual(sources.sort());
    // and its vLLM connector subpackage, which loads without vLLM or torch installed
    const vllmSources = readdirSync(join(repoRoot, 'clients/python/brixlet_kv/vllm')).filter((f) => f.endsWith('.py'));
    expect(readdirSync(join(site, 'vllm')).filter((f) => f.endsWith('.py')).sort()).toEqual(vllmSources.sort());
    const connector = run(python, ['-c', 'from brixlet_kv.vllm.connector import BrixletConnector; print(BrixletConnector.__name__)']);
    expect(connector.stderr).toBe('');
    expect(connector.stdout.trim()).toBe('BrixletConnector');
  }, 120_000);
});
