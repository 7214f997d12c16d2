// The architecture's import rules are lint rules; this proves the lint config rejects violations.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.js';

const eslint = new ESLint({ cwd: repoRoot });

async function lint(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${repoRoot}${file}` });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layer rules', () => {
  it('forbid common from importing any other src folder', async () => {
    const msgs = await lint('src/common/x.ts', "import { startAgent } from '../agent/main.js';\nexport const a = startAgent;\n");
    expect(msgs.join('\n')).toMatch(/import-x\/no-restricted-paths: .*src\/common may import only itself/);
  });

  it('keep agent and coordinator apart', async () => {
    const a = await lint('src/agent/x.ts', "import { Registry } from '../coordinator/registry/registry.js';\nexport const r = Registry;\n");
    expect(a.join('\n')).toMatch(/no-restricted-paths: .*src\/agent may import only itself, src\/common, src\/accel, src\/kvcache/);
    const c = await lint('src/coordinator/x.ts', "import { buildAgentApp } from '../agent/agent-app.js';\nexport const b = buildAgentApp;\n");
    expect(c.join('\n')).toMatch(/no-restricted-paths: .*src\/coordinator may import only/);
  });

  it('let cli import anything and src never import test/', async () => {
    expect(await lint('src/cli/x.ts', "import { startAgent } from '../agent/main.js';\nimport { Registry } from '../coordinator/registry/registry.js';\nexport const x = [startAgent, Registry];\n")).toEqual([]);
    const t = await lint('src/agent/x.ts', "import { repoRoot } from '../../test/helpers/repo.js';\nexport const r = repoRoot;\n");
    expect(t.join('\n')).toMatch(/nothing in src\/ imports test\//);
  });

  it('reject .only in tests', async () => {
    const msgs = await lint('test/x.test.ts', "import { it } from 'vitest';\nit.only('x', () => {});\n");
    expect(msgs.join('\n')).toMatch(/\.only hides the rest of the suite/);
  });
}, 60_000);
