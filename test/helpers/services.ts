// Starts a service command in-process on loopback with ephemeral ports and stops it with SIGUSR2.
import { expect } from 'vitest';
import { type CliRun, startCli } from './cli.js';

export async function startService(argv: string[], env: Record<string, string> = {}) {
  const run: CliRun = startCli([...argv, '--json'], { BRIXLET_LOG_LEVEL: 'warn', ...env });
  const line = await Promise.race([run.stdout.firstLine(), run.code.then((c) => Promise.reject(new Error(`exited ${c}: ${run.stderr.text}`)))]);
  const urls = JSON.parse(line) as Record<string, string>;
  return {
    run,
    urls,
    async stop(): Promise<number> {
      process.emit('SIGUSR2', 'SIGUSR2');
      const code = await run.code;
      expect(run.stderr.text).not.toMatch(/"level":(50|60)/);
      return code;
    },
  };
}

export const LOOPBACK = ['--agent.host', '127.0.0.1', '--gateway.host', '127.0.0.1', '--control.host', '127.0.0.1'];
