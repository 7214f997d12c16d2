/** The shape of a `brixlet` command and what it is handed when it runs. */
import type { ConfigField } from '../common/config/fields.js';
import type { LoadedConfig } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import type { Style } from './style.js';

export interface OptionSpec {
  /** Without dashes: `json`, `config`. */
  readonly name: string;
  readonly type: 'boolean' | 'string';
  readonly description: string;
  readonly valueName?: string;
  readonly short?: string;
  /** A string option that may be given more than once; every value lands in ParsedArgs.repeated. */
  readonly repeatable?: boolean;
}

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Signals that drain and stop a service command (default SIGTERM and SIGINT; tests pick their own). */
  readonly signals?: readonly NodeJS.Signals[];
}

export interface ParsedArgs {
  /** Config flag values keyed by dotted field path. */
  readonly configFlags: Readonly<Record<string, string | boolean>>;
  readonly options: Readonly<Record<string, string | boolean>>;
  readonly positionals: readonly string[];
  /** Every value of each repeatable option, in order (options[name] holds the last). */
  readonly repeated?: Readonly<Record<string, readonly string[]>>;
}

export interface CommandContext {
  readonly io: CliIo;
  readonly args: ParsedArgs;
  readonly version: string;
  readonly out: Style;
  readonly err: Style;
  /** Loads and validates config from --config, env and flags (throws BRX_ERR_CFG_INVALID). */
  loadConfig(): LoadedConfig<Config>;
  /** The config fields this command accepts as flags. */
  readonly fields: readonly ConfigField[];
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly description: string;
  readonly usage: string;
  readonly examples: readonly string[];
  /** Config sections whose flags this command accepts; empty for commands that take no config. */
  readonly configSections: readonly string[];
  readonly options: readonly OptionSpec[];
  /** Allowed first positional arguments (subcommands), if any. */
  readonly subcommands?: readonly { readonly name: string; readonly summary: string }[];
  run(ctx: CommandContext): Promise<number>;
}

export const CONFIG_OPTION: OptionSpec = {
  name: 'config',
  type: 'string',
  valueName: 'FILE',
  description: 'YAML config file; keys as in the configuration reference (env BRIXLET_CONFIG).',
};

export const JSON_OPTION: OptionSpec = { name: 'json', type: 'boolean', description: 'Print data as JSON on stdout.' };

export const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', type: 'boolean', description: 'Show help for this command.' };
