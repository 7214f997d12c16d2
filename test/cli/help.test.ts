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

  it('describes the GPU optimizer (profile, optimize) and multi-node orchestration (fleet) as present', () => {
    const text = renderTopHelp(commands, '1', plain);
    expect(text).toMatch(/brixlet profile measures a\s+deployment, brixlet optimize solves from the profiles/);
    expect(text).toMatch(/ModelFleet resource as KubeRay\s+RayClusters or LeaderWorkerSets \(brixlet fleet, --orchestrator\.enabled\)/);
    expect(text).not.toMatch(/[Pp]lanned|not yet here/);
    for (const name of ['optimize', 'profile', 'fleet']) expect(commands.map((c) => c.name)).toContain(name);
  });

  it('has no escape codes when not on a TTY', () => {
    expect(renderTopHelp(commands, '1', plain)).not.toContain('\x1b[');
  });
});
