/** Renders `brixlet --help` and `brixlet <command> --help` from the command table and the config schema. */
import { type ConfigField, configSections } from '../common/config/fields.js';
import { formatDefault } from '../common/config/config-docs.js';
import { ConfigSchema } from '../common/config/schema.js';
import { type Command, HELP_OPTION, type OptionSpec } from './types.js';
import type { Style } from './style.js';

function pad(s: string, width: number): string {
  return s.length >= width ? `${s}  ` : s.padEnd(width);
}

function optionLabel(o: OptionSpec): string {
  const value = o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : '';
  return o.short !== undefined ? `-${o.short}, --${o.name}${value}` : `--${o.name}${value}`;
}

function fieldLine(f: ConfigField, st: Style): string {
  const value = f.kind === 'boolean' ? '' : f.values ? ` ${f.values.join('|')}` : ` ${f.kind.toUpperCase()}`;
  const flag = f.alias === undefined ? f.flag : `${f.flag}, ${f.alias}`;
  return `    ${pad(flag + value, 34)}${f.description}\n    ${' '.repeat(34)}${st.dim(`env ${f.env}, default ${formatDefault(f)}`)}`;
}

export function renderTopHelp(commands: readonly Command[], version: string, st: Style): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 4;
  return [
    `${st.bold('brixlet')} ${version} — LLM-serving infrastructure for Kubernetes GPU clusters`,
    '',
    'A per-node agent (KV cache shard, accelerator diagnostics, failure mock-up) and a slim',
    'coordinator (OpenAI-compatible routing gateway, node registry, GPU optimizer and multi-node',
    'orchestration). The optimizer plans the cheapest mix of GPU types for a workload:',
    `${st.cyan('brixlet profile')} measures a deployment, ${st.cyan('brixlet optimize')} solves from the profiles.`,
    'The orchestrator serves models too big for one node from a ModelFleet resource as KubeRay',
    `RayClusters or LeaderWorkerSets (${st.cyan('brixlet fleet')}, ${st.cyan('--orchestrator.enabled')}).`,
    '',
    `${st.bold('Usage:')} brixlet <command> [flags]`,
    '',
    st.bold('Commands:'),
    ...commands.map((c) => `  ${pad(c.name, width)}${c.summary}`),
    '',
    st.bold('Global flags:'),
    `  ${pad('-h, --help', 16)}Show help (also: brixlet <command> --help)`,
    `  ${pad('-V, --version', 16)}Print the version`,
    '',
    `Start here: ${st.cyan('brixlet up')} runs the coordinator and an agent on this machine.`,
    `Every flag has a BRIXLET_* environment twin; see ${st.cyan('brixlet config docs')}.`,
    '',
  ].join('\n');
}

export function renderCommandHelp(cmd: Command, fields: readonly ConfigField[], st: Style): string {
  const options = [...cmd.options, HELP_OPTION];
  const lines = [
    `${st.bold(`brixlet ${cmd.name}`)} — ${cmd.summary}`,
    '',
    `${st.bold('Usage:')} ${cmd.usage}`,
    '',
    cmd.description,
    '',
  ];
  if (cmd.subcommands !== undefined) {
    lines.push(st.bold('Subcommands:'), ...cmd.subcommands.map((s) => `  ${pad(s.name, 12)}${s.summary}`), '');
  }
  if (cmd.examples.length > 0) lines.push(st.bold('Examples:'), ...cmd.examples.map((e) => `  ${e}`), '');
  lines.push(st.bold('Flags:'), ...options.map((o) => `  ${pad(optionLabel(o), 36)}${o.description}`), '');
  if (fields.length > 0) {
    lines.push(st.bold('Configuration flags') + ' (precedence: flag > env > --config file > default):');
    for (const section of configSections(ConfigSchema)) {
      const inSection = fields.filter((f) => f.segments[0] === section.name);
      if (inSection.length === 0) continue;
      lines.push(`  ${st.bold(section.name)} — ${section.description}`, ...inSection.map((f) => fieldLine(f, st)));
    }
    lines.push('');
  }
  return lines.join('\n');
}
