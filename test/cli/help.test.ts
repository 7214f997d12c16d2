import { describe, expect, it } from 'vitest';
import { renderCommandHelp, renderTopHelp } from '../../src/cli/help.js';
import { commands } from '../../src/cli/run-cli.js';
import { createStyle } from '../../src/cli/style.js';
import { configFields } from '../../src/common/config/fields.js';
import { ConfigSchema } from '../../src/common/config/schema.js';

const plain = createStyle({ isTTY: false }, {});
const fieldsOf = (sections: readonly string[]) => configFields(ConfigSchema).filter((f) => sections.includes(f.segments[0] ?? ''));

describe('help', () => {
  it('lists every command in the top-level help', () => {
    const text = renderTopHelp(commands, '1.2.3', plain);
    expect(text).toContain('brixlet 1.2.3');
    for (const c of commands) expect(text.split('\n')).toContain(`  ${c.name.padEnd(15)}${c.summary}`);
  });

  it("shows each accepted flag with its env twin and default, and only the command's own sections", () => {
    for (const cmd of commands) {
      const fields = fieldsOf(cmd.configSections);
      const text = renderCommandHelp(cmd, fields, plain);
      expect(text).toContain(`Usage: ${cmd.usage}`);
      for (const f of fields) {
        expect(text).toContain(f.flag);
        expect(text).toContain(`env ${f.env}`);
      }
      const accepted = new Set(fields.map((f) => f.path));
      for (const f of configFields(ConfigSchema).filter((x) => !accepted.has(x.path))) expect(text).not.toContain(`${f.flag} `);
      for (const o of cmd.options) expect(text).toContain(`--${o.name}`);
      expect(text).toContain('-h, --help');
    }
  });

  it('describes the GPU optimizer (profile, optimize) as present and only orchestration as planned', () => {
    const text = renderTopHelp(commands, '1', plain);
    expect(text).toMatch(/brixlet profile measures a\s+deployment, brixlet optimize solves from the profiles/);
    expect(text).toMatch(/Planned, not yet here: multi-node\s+\(Ray\) orchestration\./);
    expect(text).not.toMatch(/Planned[^.]*GPU optimizer/);
    for (const name of ['optimize', 'profile']) expect(commands.map((c) => c.name)).toContain(name);
  });

  it('has no escape codes when not on a TTY', () => {
    expect(renderTopHelp(commands, '1', plain)).not.toContain('\x1b[');
  });
});
