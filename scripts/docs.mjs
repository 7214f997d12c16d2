#!/usr/bin/env node
// `npm run docs`: regenerate the blocks that come from code: the configuration reference in
// docs/configuration.md and the error table in docs/errors.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigDocs, spliceBlock } from '../dist/common/config/config-docs.js';
import { renderErrorDocs } from '../dist/common/error-docs.js';

for (const [file, block, render] of [
  ['docs/configuration.md', 'config', renderConfigDocs],
  ['docs/errors.md', 'errors', renderErrorDocs],
]) {
  const path = new URL(`../${file}`, import.meta.url);
  writeFileSync(path, spliceBlock(readFileSync(path, 'utf8'), block, render()));
  console.log(`${file}: ${block} block regenerated`);
}
