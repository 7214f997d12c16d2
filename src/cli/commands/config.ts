/** `brixlet config print|check|docs`: inspect, validate and document the configuration. */
import { readFileSync, writeFileSync } from 'node:fs';
import { Document, isNode } from 'yaml';
import { renderConfigDocs, spliceConfigDocs } from '../../common/config/config-docs.js';
import { redactConfig } from '../../common/config/load-config.js';
import { BrixletError } from '../../common/errors.js';
import { type Command, CONFIG_OPTION, JSON_OPTION } from '../types.js';

export const configCommand: Command = {
  name: 'config',
  summary: 'Print, check or document the effective configuration',
  usage: 'brixlet config <print|check|docs> [--config FILE] [--json] [flags]',
  description: [
    'Configuration comes from, lowest to highest precedence: schema defaults, the YAML file given',
    'by --config (or BRIXLET_CONFIG), BRIXLET_* environment variables, then flags. Unknown keys',
    'are rejected and every problem is reported at once (exit 2).',
  ].join('\n'),
  examples: [
    'brixlet config print --config brixlet.yaml',
    'BRIXLET_AGENT_PORT=9500 brixlet config print --json',
    'brixlet config check --config brixlet.yaml',
    'brixlet config docs --write docs/configuration.md',
  ],
  subcommands: [
    { name: 'print', summary: 'Print the effective configuration (secrets redacted) as YAML, each value with where it came from; JSON with --json' },
    { name: 'check', summary: 'Validate the configuration; exit 0 when valid, 2 listing every problem' },
    { name: 'docs', summary: 'Print the configuration reference (Markdown); --write FILE updates it in place' },
  ],
  configSections: ['log', 'agent', 'accel', 'nvml', 'dcmi', 'faults', 'kv', 'kube', 'gateway', 'control', 'optimizer', 'orchestrator', 'shutdown'],
  options: [JSON_OPTION, CONFIG_OPTION, { name: 'write', type: 'string', valueName: 'FILE', description: 'With docs: replace the generated block in FILE.' }],
  async run(ctx) {
    const sub = ctx.args.positionals[0];
    const { stdout } = ctx.io;
    switch (sub) {
      case 'print': {
        const { config, sources } = ctx.loadConfig();
        const redacted = redactConfig(config);
        stdout.write(ctx.args.options.json === true ? `${JSON.stringify({ config: redacted, sources })}\n` : withSources(redacted, sources));
        return 0;
      }
      case 'check':
        ctx.loadConfig();
        stdout.write('configuration is valid\n');
        return 0;
      case 'docs': {
        const target = ctx.args.options.write;
        if (typeof target === 'string') {
          writeFileSync(target, spliceConfigDocs(readFileSync(target, 'utf8')));
          stdout.write(`updated the configuration reference in ${target}\n`);
        } else {
          stdout.write(`${renderConfigDocs()}\n`);
        }
        return 0;
      }
      default:
        throw new BrixletError('BRX_ERR_CLI_USAGE', {
          reason: `${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`} for 'brixlet config'; valid: print, check, docs`,
        });
    }
  },
};

/** The configuration as YAML, each value followed by its source: default, file PATH, env BRIXLET_X or flag --x. */
function withSources(config: unknown, sources: Readonly<Record<string, string>>): string {
  const doc = new Document(config);
  for (const [path, source] of Object.entries(sources)) {
    const node = doc.getIn(path.split('.'), true);
    if (isNode(node)) node.comment = ` ${source}`;
  }
  return doc.toString();
}
