/**
 * Parses a command's argv: config flags (derived from the schema), the command's own options and
 * positionals. Anything unknown is a BRX_ERR_CLI_USAGE naming the valid flags.
 */
import type { ConfigField } from '../common/config/fields.js';
import { BrixletError } from '../common/errors.js';
import { suggest } from '../common/suggest.js';
import type { OptionSpec, ParsedArgs } from './types.js';

export interface ArgsSpec {
  readonly command: string;
  /** Config fields this command accepts. */
  readonly fields: readonly ConfigField[];
  /** Every config field, to say "does not apply" rather than "unknown". */
  readonly allFields: readonly ConfigField[];
  readonly options: readonly OptionSpec[];
}

/** A usage error (exit 2): the one way commands say their arguments are wrong. */
export function usage(reason: string): BrixletError {
  return new BrixletError('BRX_ERR_CLI_USAGE', { reason });
}

/** A string-valued command option, or undefined when absent (boolean options are not strings). */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' ? v : undefined;
}

export function validFlags(spec: ArgsSpec): string[] {
  return [...spec.options.map((o) => `--${o.name}`), ...spec.fields.flatMap((f) => (f.alias === undefined ? [f.flag] : [f.flag, f.alias]))];
}

export function parseArgs(argv: readonly string[], spec: ArgsSpec): ParsedArgs {
  const configFlags: Record<string, string | boolean> = {};
  const options: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const repeated: Record<string, string[]> = {};
  const fieldByFlag = new Map(spec.fields.flatMap((f) => (f.alias === undefined ? [[f.flag, f]] : [[f.flag, f], [f.alias, f]]) as [string, ConfigField][]));
  const optionByName = new Map<string, OptionSpec>();
  for (const o of spec.options) {
    optionByName.set(`--${o.name}`, o);
    if (o.short !== undefined) optionByName.set(`-${o.short}`, o);
  }

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = eq >= 0 ? token.slice(0, eq) : token;
    const inline = eq >= 0 ? token.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw usage(`flag ${name} needs a value (${name} VALUE or ${name}=VALUE)`);
      i++;
      return next;
    };

    const option = optionByName.get(name);
    if (option !== undefined) {
      options[option.name] = option.type === 'boolean' ? (inline === undefined ? true : inline !== 'false') : takeValue();
      if (option.repeatable === true && option.type === 'string') (repeated[option.name] ??= []).push(options[option.name] as string);
      continue;
    }
    const field = fieldByFlag.get(name);
    if (field !== undefined) {
      configFlags[field.path] = field.kind === 'boolean' && inline === undefined ? true : takeValue();
      continue;
    }
    const negated = name.startsWith('--no-') ? fieldByFlag.get(`--${name.slice(5)}`) : undefined;
    if (negated !== undefined && negated.kind === 'boolean' && inline === undefined) {
      configFlags[negated.path] = false;
      continue;
    }
    const elsewhere = spec.allFields.find((f) => f.flag === name || f.alias === name);
    const valid = validFlags(spec);
    if (elsewhere !== undefined) {
      throw usage(`flag ${name} does not apply to 'brixlet ${spec.command}'; valid flags: ${valid.join(', ')}`);
    }
    const hint = suggest(name, valid);
    throw usage(`unknown flag ${name} for 'brixlet ${spec.command}'${hint ? ` (did you mean ${hint}?)` : ''}; valid flags: ${valid.join(', ')}`);
  }
  return { configFlags, options, positionals, repeated };
}
