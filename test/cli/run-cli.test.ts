import { describe, expect, it } from 'vitest';
import { brixletVersion } from '../../src/common/version.js';
import { cli } from '../helpers/cli.js';

describe('runCli', () => {
  it('prints help with no arguments, --help, -h and help <command>', async () => {
    for (const argv of [[], ['--help'], ['-h']]) {
      const r = await cli(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Usage: brixlet <command> [flags]');
    }
    const sub = await cli(['help', 'agent']);
    expect(sub.stdout).toContain('brixlet agent — Run the per-node agent');
    const flag = await cli(['coordinator', '--help']);
    expect(flag.code).toBe(0);
    expect(flag.stdout).toContain('--gateway.port');
  });

  it('prints the version', async () => {
    for (const argv of [['--version'], ['-V'], ['version']]) expect((await cli(argv)).stdout).toBe(`${brixletVersion()}\n`);
    const json = JSON.parse((await cli(['version', '--json'])).stdout) as { version: string; node: string };
    expect(json).toMatchObject({ version: brixletVersion(), node: process.version });
  });

  it('rejects unknown commands with exit 2, naming the valid ones', async () => {
    const r = await cli(['strat']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("brixlet: unknown command 'strat'");
    expect(r.stderr).toContain('commands: up, agent, coordinator, diagnose, fault, chaos, fleet, kv, optimize, token, mock-engine, profile, config, version [BRX_ERR_CLI_USAGE]');
    expect(r.stderr).toContain('fix: Run `brixlet --help`');
    const dash = await cli(['--agent.port', '1']);
    expect(dash.code).toBe(2);
    expect(dash.stderr).toContain('expected a command before --agent.port');
  });

  it('rejects unknown flags and stray arguments with exit 2', async () => {
    const r = await cli(['up', '--gatway.port', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean --gateway.port?');
    const extra = await cli(['agent', 'now']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain("'brixlet agent' takes no arguments, got 'now'");
  });

  it('reports every config problem at once with exit 2 before starting anything', async () => {
    const r = await cli(['up', '--gateway.port', 'eighty', '--shutdown.timeout', 'forever'], { BRIXLET_AGENT_PORT: '70000', BRIXLET_LOG_LEVEL: 'chatty' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('brixlet: invalid configuration (4 problem(s)) [BRX_ERR_CFG_INVALID]');
    expect(lines.slice(1, 5)).toEqual([
      '  - log.level: must be one of fatal, error, warn, info, debug, trace, silent, got "chatty" (from env BRIXLET_LOG_LEVEL)',
      '  - agent.port: must be between 0 and 65535, got "70000" (from env BRIXLET_AGENT_PORT)',
      '  - gateway.port: must be a whole number, got "eighty" (from flag --gateway.port)',
      '  - shutdown.timeout: must be a duration such as 500ms, 10s or 2m, got "forever" (from flag --shutdown.timeout)',
    ]);
  });

  it('colors errors only on a TTY', async () => {
    expect((await cli(['nope'], {}, true)).stderr).toContain('\x1b[31m');
    expect((await cli(['nope'], {}, false)).stderr).not.toContain('\x1b[');
  });
});
