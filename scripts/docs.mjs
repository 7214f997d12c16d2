#!/usr/bin/env node
// `npm run docs`: regenerate the README blocks that come from code (config reference, error table).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigDocs, spliceBlock } from '../dist/common/config/config-docs.js';
import { renderErrorDocs } from '../dist/common/error-docs.js';

const path = new URL('../README.md', import.meta.url);
let text = readFileSync(path, 'utf8');
text = spliceBlock(text, 'config', renderConfigDocs());
text = spliceBlock(text, 'errors', renderErrorDocs());
writeFileSync(path, text);
console.log('README.md: configuration reference and error table regenerated');
