/**
 * `brixlet token`: the control API's credentials. `secret` makes a cluster secret (the
 * coordinator's --control.token-file); `node NAME` derives the node token an agent reports with
 * (its --agent.coordinator-token-file), the same derivation the coordinator checks. Files are
 * written new (never over an existing file or through a link) with mode 0600.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { BrixletError } from '../../common/errors.js';
import { NodeReport, readReportToken } from '../../common/node-report.js';
import { deriveNodeToken } from '../../coordinator/registry/node-token.js';
import { stringOption, usage } from '../args.js';
import { type Command, type CommandContext, JSON_OPTION } from '../types.js';

const SUBCOMMANDS = ['secret', 'node'] as const;
const NODE_NAME = new RegExp(NodeReport.properties.name.pattern as string);

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Make a cluster secret or derive a node\'s report token',
  usage: 'brixlet token secret [--out FILE] | brixlet token node NAME --secret-file FILE [--out FILE] [--json]',
  description: [
    'Credentials of the coordinator\'s control API (PUT/DELETE /v1/nodes):',
    '',
    '  secret                        a new random cluster secret (32 bytes, base64url)',
    '  node NAME --secret-file FILE  the token node NAME reports with under that secret',
    '',
    'The coordinator reads the cluster secret from --control.token-file; it is the admin credential',
    '(DELETE, any node\'s report). Each agent gets only its own node token in',
    '--agent.coordinator-token-file: it lets that agent report its own node and nothing else.',
    'node token = "brxn1." + base64url(HMAC-SHA256(secret, "brixlet node token v1\\n" + NAME)), where',
    'secret is the secret file\'s content without surrounding white space. The coordinator stores no',
    'node tokens: rotating the secret revokes them all.',
    '',
    'With --out FILE the token is written to a new file of mode 0600 (an existing file is left alone',
    'and refused); without, it is printed on stdout. --secret-file must be mode 0600 (or stricter).',
  ].join('\n'),
  examples: [
    'brixlet token secret --out /etc/brixlet/cluster-secret',
    'brixlet token node gpu-node-1 --secret-file /etc/brixlet/cluster-secret --out /etc/brixlet/node-token',
    'kubectl create secret generic brixlet-node-gpu-node-1 --from-literal=token="$(brixlet token node gpu-node-1 --secret-file cluster-secret)"',
  ],
  subcommands: [
    { name: 'secret', summary: 'Make a random cluster secret' },
    { name: 'node', summary: 'Derive the report token of node NAME' },
  ],
  configSections: [],
  options: [
    { name: 'secret-file', type: 'string', valueName: 'FILE', description: 'node: the cluster secret (the coordinator\'s --control.token-file).' },
    { name: 'out', type: 'string', valueName: 'FILE', description: 'Write the token to this new file (mode 0600) instead of stdout.' },
    JSON_OPTION,
  ],
  async run(ctx) {
    const [sub, ...rest] = ctx.args.positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw usage(`${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`} for 'brixlet token'; valid: ${SUBCOMMANDS.join(', ')}`);
    }
    if (sub === 'secret') {
      if (rest.length > 0) throw usage(`'brixlet token secret' takes no arguments, got '${rest.join(' ')}'`);
      return emit(ctx, randomBytes(32).toString('base64url'), {});
    }
    const [name, ...extra] = rest;
    if (name === undefined || extra.length > 0) throw usage(`'brixlet token node' takes one node name, got ${rest.length === 0 ? 'none' : `'${rest.join(' ')}'`}`);
    if (!NODE_NAME.test(name) || name.length > 253) throw usage(`'${name}' is not a node name (letters, digits, '-', '.', '_'; starting and ending with a letter or digit)`);
    const secretFile = stringOption(ctx.args, 'secret-file');
    if (secretFile === undefined) throw usage(`'brixlet token node' needs --secret-file FILE (the coordinator's --control.token-file)`);
    const secret = await readReportToken(secretFile, '--secret-file');
    return emit(ctx, deriveNodeToken(secret, name), { node: name });
  },
};

async function emit(ctx: CommandContext, token: string, about: Record<string, string>): Promise<number> {
  const out = stringOption(ctx.args, 'out');
  const json = ctx.args.options.json === true;
  if (out === undefined) {
    ctx.io.stdout.write(json ? `${JSON.stringify({ ...about, token })}\n` : `${token}\n`);
    return 0;
  }
  await writeNewSecretFile(out, `${token}\n`);
  ctx.io.stdout.write(json ? `${JSON.stringify({ ...about, file: out })}\n` : `wrote ${out} (mode 0600)\n`);
  return 0;
}

/** Creates `path` with mode 0600: never follows a link, never truncates an existing file. */
export async function writeNewSecretFile(path: string, text: string): Promise<void> {
  let fh;
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    // The umask cannot widen 0600, but a stricter one would make the file unreadable to its owner.
    await fh.chmod(0o600);
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'EEXIST' ? 'it exists already (remove it first: tokens are never overwritten in place)' : (err as Error).message;
    throw new BrixletError('BRX_ERR_REGISTRY_TOKEN', { path, reason: `${reason} (--out)` }, { cause: err });
  } finally {
    await fh?.close();
  }
}
