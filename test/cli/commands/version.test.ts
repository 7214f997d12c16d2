import { expect, it } from 'vitest';
import { brixletVersion } from '../../../src/common/version.js';
import { cli } from '../../helpers/cli.js';

it('prints the version, or version, node and platform as JSON', async () => {
  expect(await cli(['version'])).toEqual({ code: 0, stdout: `${brixletVersion()}\n`, stderr: '' });
  const j = JSON.parse((await cli(['version', '--json'])).stdout) as Record<string, string>;
  expect(j).toEqual({ version: brixletVersion(), node: process.version, platform: `${process.platform}-${process.arch}` });
  expect((await cli(['version', '--config', 'x'])).code).toBe(2);
});
