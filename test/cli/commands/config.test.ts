import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS_BEGIN, renderConfigDocs } from '../../../src/common/config/config-docs.js';
import { cli } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'brixlet-cfgcmd-'));
const file = join(dir, 'b.yaml');
writeFileSync(file, 'agent:\n  port: 7001\n');

describe('brixlet config', () => {
  it('prints the effective config as YAML with file < env < flag', async () => {
    const r = await cli(['config', 'print', '--config', file, '--gateway.port', '7002'], { BRIXLET_CONTROL_BODY_LIMIT: '2MiB' });
    expect(r.code).toBe(0);
    const cfg = parse(r.stdout) as { agent: { port: number }; gateway: { port: number }; control: { bodyLimit: number } };
    expect(cfg.agent.port).toBe(7001);
    expect(cfg.gateway.port).toBe(7002);
    expect(cfg.control.bodyLimit).toBe(2 * 2 ** 20);
  });

  it('shows beside each value where it came from: default, file, env or flag', async () => {
    const r = await cli(['config', 'print', '--config', file, '--gateway.port', '7002'], { BRIXLET_CONTROL_BODY_LIMIT: '2MiB' });
    const lines = r.stdout.split('\n');
    expect(lines).toContain(`  port: 7001 # file ${file}`);
    expect(lines).toContain('  port: 7002 # flag --gateway.port');
    expect(lines).toContain('  bodyLimit: 2097152 # env BRIXLET_CONTROL_BODY_LIMIT');
    expect(lines).toContain('  level: info # default');
    // every leaf carries its source, so none is left unexplained
    for (const l of lines.filter((x) => /^ {2}\w+: \S/.test(x))) expect(l).toMatch(/ # (default|file |env BRIXLET_|flag --)/);
  });

  it('prints config and sources as JSON', async () => {
    const r = await cli(['config', 'print', '--json'], { BRIXLET_AGENT_PORT: '1234' });
    const out = JSON.parse(r.stdout) as { config: { agent: { port: number } }; sources: Record<string, string> };
    expect(out.config.agent.port).toBe(1234);
    expect(out.sources['agent.port']).toBe('env BRIXLET_AGENT_PORT');
  });

  it('checks a config: 0 when valid, 2 with every problem otherwise', async () => {
    expect(await cli(['config', 'check', '--config', file])).toMatchObject({ code: 0, stdout: 'configuration is valid\n' });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'agent:\n  port: x\n  colour: blue\n');
    const r = await cli(['config', 'check', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('(2 problem(s))');
    expect(r.stderr).toContain('agent.colour: unknown key');
    const missing = await cli(['config', 'check', '--config', join(dir, 'missing.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('[BRX_ERR_CFG_FILE]');
  });

  it('prints the reference and rewrites it in place', async () => {
    expect((await cli(['config', 'docs'])).stdout).toBe(`${renderConfigDocs()}\n`);
    const doc = join(dir, 'README.md');
    writeFileSync(doc, `# x\n\n${CONFIG_DOCS_BEGIN}\nold\n<!-- config:end -->\n`);
    expect((await cli(['config', 'docs', '--write', doc])).code).toBe(0);
    expect(readFileSync(doc, 'utf8')).toBe(`# x\n\n${renderConfigDocs()}\n`);
  });

  it('requires a known subcommand', async () => {
    const r = await cli(['config']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing subcommand for 'brixlet config'; valid: print, check, docs");
    expect((await cli(['config', 'show'])).stderr).toContain("unknown subcommand 'show'");
  });
});
