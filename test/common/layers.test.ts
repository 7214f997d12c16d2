// The architecture's import rules are lint rules; this proves the lint config rejects violations.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';
import { layerViolation } from '../../eslint/brixlet-plugin.js';
import { repoRoot } from '../helpers/repo.js';

const eslint = new ESLint({ cwd: repoRoot });

async function lint(file: string, code: string, cwd = repoRoot): Promise<string[]> {
  const linter = cwd === repoRoot ? eslint : new ESLint({ cwd, overrideConfigFile: `${repoRoot}eslint.config.js` });
  const [result] = await linter.lintText(code, { filePath: join(cwd, file) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

const scratch = mkdtempSync(join(repoRoot, '.lint-scratch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('layer rules', () => {
  it('forbid common from importing any other src folder', async () => {
    const msgs = await lint('src/common/x.ts', "import { startAgent } from '../agent/main.js';\nexport const a = startAgent;\n");
    expect(msgs).toEqual(['brixlet/layers: src/common may import only itself (ARCHITECTURE.md §2); this imports src/agent/main.ts.']);
  });

  it('keep agent and coordinator apart, including dynamic imports and re-exports', async () => {
    const a = await lint('src/agent/x.ts', "export { Registry } from '../coordinator/registry/registry.js';\n");
    expect(a.join('\n')).toMatch(/brixlet\/layers: src\/agent may import only itself, src\/common, src\/accel, src\/kvcache/);
    const c = await lint('src/coordinator/x.ts', "export const load = () => import('../agent/agent-app.js');\n");
    expect(c.join('\n')).toMatch(/brixlet\/layers: src\/coordinator may import only itself, src\/common, src\/kube, src\/chaos/);
  });

  it('let cli import anything and src never import test/', async () => {
    expect(await lint('src/cli/x.ts', "import { startAgent } from '../agent/main.js';\nimport { Registry } from '../coordinator/registry/registry.js';\nexport const x = [startAgent, Registry];\n")).toEqual([]);
    const t = await lint('src/agent/x.ts', "import { repoRoot } from '../../test/helpers/repo.js';\nexport const r = repoRoot;\n");
    expect(t).toEqual(['brixlet/layers: nothing in src/ imports test/.']);
  });

  it('keep vendor backends behind accel/select.ts', () => {
    expect(layerViolation('src/accel/sampler.ts', 'src/accel/nvml/backend.ts')).toBe('only src/accel/select.ts imports src/accel/nvml/.');
    expect(layerViolation('src/accel/select.ts', 'src/accel/nvml/backend.ts')).toBeUndefined();
    expect(layerViolation('src/accel/nvml/backend.ts', 'src/accel/nvml/library.ts')).toBeUndefined();
    expect(layerViolation('src/accel/dcmi/backend.ts', 'src/accel/sim/backend.ts')).toBe('only src/accel/select.ts imports src/accel/sim/.');
    expect(layerViolation('src/kvcache/x.ts', 'src/accel/x.ts')).toMatch(/src\/kvcache may import only itself, src\/common/);
    expect(layerViolation('test/x.test.ts', 'src/agent/main.ts')).toBeUndefined();
  });

  it('let the mock engine import common and kvcache only, and nothing else import it but cli', () => {
    expect(layerViolation('src/mock-engine/server.ts', 'src/kvcache/client/index.ts')).toBeUndefined();
    expect(layerViolation('src/mock-engine/server.ts', 'src/common/errors.ts')).toBeUndefined();
    expect(layerViolation('src/mock-engine/server.ts', 'src/agent/main.ts')).toMatch(/src\/mock-engine may import only itself, src\/common, src\/kvcache/);
    expect(layerViolation('src/coordinator/x.ts', 'src/mock-engine/profiles.ts')).toMatch(/src\/coordinator may import only/);
    expect(layerViolation('src/cli/commands/mock-engine.ts', 'src/mock-engine/index.ts')).toBeUndefined();
  });

  it('reject import cycles', async () => {
    mkdirSync(join(scratch, 'src/common'), { recursive: true });
    writeFileSync(join(scratch, 'src/common/a.ts'), "import { b } from './b.js';\nexport const a = () => b;\n");
    writeFileSync(join(scratch, 'src/common/b.ts'), "import { c } from './c.js';\nexport const b = () => c;\n");
    writeFileSync(join(scratch, 'src/common/c.ts'), "import { a } from './a.js';\nexport const c = () => a;\n");
    const msgs = await lint('src/common/c.ts', "import { a } from './a.js';\nexport const c = () => a;\n", scratch);
    expect(msgs).toEqual(['brixlet/no-cycle: import cycle: src/common/c.ts → src/common/a.ts → src/common/b.ts → src/common/c.ts']);
    // A type-only import is erased at build time and cannot form a runtime cycle.
    writeFileSync(join(scratch, 'src/common/b.ts'), "import type { c } from './c.js';\nexport type B = typeof c;\nexport const b = 1;\n");
    const typeOnly = await new ESLint({ cwd: scratch, overrideConfigFile: `${repoRoot}eslint.config.js` }).lintText("import { a } from './a.js';\nexport const c = () => a;\n", { filePath: join(scratch, 'src/common/c.ts') });
    expect(typeOnly[0]?.messages.filter((m) => m.ruleId === 'brixlet/no-cycle')).toEqual([]);
  });

  it('reject .only in tests', async () => {
    const msgs = await lint('test/x.test.ts', "import { it } from 'vitest';\nit.only('x', () => {});\n");
    expect(msgs.join('\n')).toMatch(/\.only hides the rest of the suite/);
  });
}, 60_000);
