/**
 * Dispatches `brixlet <command> …` and turns errors into a message, a fix and an exit code:
 * usage and config errors exit 2, runtime failures 1. Never throws.
 */
import { configFields } from '../common/config/fields.js';
import { formatProblems, loadConfig, type ConfigProblem } from '../common/config/load-config.js';
import { ConfigSchema } from '../common/config/schema.js';
import { BrixletError, isBrixletError } from '../common/errors.js';
import { suggest } from '../common/suggest.js';
import { brixletVersion } from '../common/version.js';
import { parseArgs } from './args.js';
import { type CliIo, type Command, HELP_OPTION } from './types.js';
import { agentCommand } from './commands/agent.js';
import { chaosCommand } from './commands/chaos.js';
import { configCommand } from './commands/config.js';
import { coordinatorCommand } from './commands/coordinator.js';
import { diagnoseCommand } from './commands/diagnose.js';
import { faultCommand } from './commands/fault.js';
import { fleetCommand } from './commands/fleet.js';
import { kvCommand } from './commands/kv.js';
import { mockEngineCommand } from './commands/mock-engine.js';
import { profileCommand } from './commands/profile.js';
import { optimizeCommand } from './commands/optimize.js';
import { tokenCommand } from './commands/token.js';
import { upCommand } from './commands/up.js';
import { versionCommand } from './commands/version.js';
import { renderCommandHelp, renderTopHelp } from './help.js';
import { createStyle } from './style.js';

export const commands: readonly Command[] = [upCommand, agentCommand, coordinatorCommand, diagnoseCommand, faultCommand, chaosCommand, fleetCommand, kvCommand, optimizeCommand, tokenCommand, mockEngineCommand, profileCommand, configCommand, versionCommand];

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const out = createStyle(io.stdout, io.env);
  const err = createStyle(io.stderr, io.env);
  const version = brixletVersion();
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      const topic = first === 'help' ? rest[0] : undefined;
      const cmd = topic === undefined ? undefined : findCommand(topic);
      io.stdout.write(cmd === undefined ? renderTopHelp(commands, version, out) : renderCommandHelp(cmd, fieldsFor(cmd), out));
      return 0;
    }
    if (first === '--version' || first === '-V') {
      io.stdout.write(`${version}\n`);
      return 0;
    }
    if (first.startsWith('-')) {
      throw new BrixletError('BRX_ERR_CLI_USAGE', { reason: `expected a command before ${first}; commands: ${commands.map((c) => c.name).join(', ')}` });
    }
    const cmd = findCommand(first);
    if (cmd === undefined) {
      const hint = suggest(first, commands.map((c) => c.name));
      throw new BrixletError('BRX_ERR_CLI_USAGE', {
        reason: `unknown command '${first}'${hint ? ` (did you mean '${hint}'?)` : ''}; commands: ${commands.map((c) => c.name).join(', ')}`,
      });
    }
    const fields = fieldsFor(cmd);
    const args = parseArgs(rest, { command: cmd.name, fields, allFields: configFields(ConfigSchema), options: [...cmd.options, HELP_OPTION] });
    if (args.options.help === true) {
      io.stdout.write(renderCommandHelp(cmd, fields, out));
      return 0;
    }
    if (cmd.subcommands === undefined && args.positionals.length > 0) {
      throw new BrixletError('BRX_ERR_CLI_USAGE', { reason: `'brixlet ${cmd.name}' takes no arguments, got '${args.positionals.join(' ')}'` });
    }
    const configFile = typeof args.options.config === 'string' ? args.options.config : undefined;
    return await cmd.run({
      io,
      args,
      version,
      out,
      err,
      fields,
      loadConfig: () => loadConfig({ file: configFile, env: io.env, flags: args.configFlags }),
    });
  } catch (e) {
    return reportError(e, io, err);
  }
}

function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}

function fieldsFor(cmd: Command) {
  return configFields(ConfigSchema).filter((f) => cmd.configSections.includes(f.segments[0] ?? ''));
}

function reportError(e: unknown, io: CliIo, st: ReturnType<typeof createStyle>): number {
  if (!isBrixletError(e)) {
    io.stderr.write(`${st.red('brixlet: unexpected error')}\n${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
  const error = e as BrixletError;
  const lines = [`${st.red(`brixlet: ${error.message}`)} ${st.dim(`[${error.code}]`)}`];
  if (error.code === 'BRX_ERR_CFG_INVALID') lines.push(formatProblems(error.details as ConfigProblem[]));
  lines.push(st.dim(`fix: ${error.fix}`));
  io.stderr.write(`${lines.join('\n')}\n`);
  return error.exitCode;
}
