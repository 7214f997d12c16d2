import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS_BEGIN, CONFIG_DOCS_END, formatDefault, renderConfigDocs, spliceConfigDocs } from '../../../src/common/config/config-docs.js';
import { configFields } from '../../../src/common/config/fields.js';
import { ConfigSchema } from '../../../src/common/config/schema.js';
import { configDocsPath } from '../../helpers/repo.js';

describe('configuration reference', () => {
  it('lists every field with its flag, env twin and default', () => {
    const docs = renderConfigDocs();
    for (const f of configFields(ConfigSchema)) {
      const flags = f.alias === undefined ? `\`${f.flag}\`` : `\`${f.flag}\`, \`${f.alias}\``;
      expect(docs).toContain(`| \`${f.path}\` | ${flags} | \`${f.env}\` | \`${formatDefault(f)}\` |`);
    }
  });

  it('is what docs/configuration.md shows (regenerate with `npm run docs`)', () => {
    const doc = readFileSync(configDocsPath, 'utf8');
    expect(spliceConfigDocs(doc)).toBe(doc);
  });

  it('replaces only the generated block', () => {
    const doc = `# Title\n\n${CONFIG_DOCS_BEGIN}\nstale\n${CONFIG_DOCS_END}\n\nafter\n`;
    const out = spliceConfigDocs(doc, 'NEW');
    expect(out).toBe('# Title\n\nNEW\n\nafter\n');
    expect(() => spliceConfigDocs('# no markers')).toThrow(/markers/);
  });

  it('prints defaults as a user would type them', () => {
    const byPath = (p: string) => configFields(ConfigSchema).find((f) => f.path === p)!;
    expect(formatDefault(byPath('gateway.bodyLimit'))).toBe('8MiB');
    expect(formatDefault(byPath('shutdown.timeout'))).toBe('10s');
    expect(formatDefault(byPath('agent.nodeName'))).toBe('(empty)');
  });
});
