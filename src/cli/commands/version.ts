/** `brixlet version`: the brixlet and Node.js versions. */
import { type Command, JSON_OPTION } from '../types.js';

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the brixlet version',
  usage: 'brixlet version [--json]',
  description: 'Prints the brixlet version; with --json also the Node.js version and platform.',
  examples: ['brixlet version', 'brixlet --version'],
  configSections: [],
  options: [JSON_OPTION],
  async run(ctx) {
    ctx.io.stdout.write(
      ctx.args.options.json === true
        ? `${JSON.stringify({ version: ctx.version, node: process.version, platform: `${process.platform}-${process.arch}` })}\n`
        : `${ctx.version}\n`,
    );
    return 0;
  },
};
