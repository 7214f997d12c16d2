// Lint: typescript-eslint plus the architecture's import rules (eslint/brixlet-plugin.js).
// test/common/layers.test.ts proves those rules reject what they must.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import brixlet from './eslint/brixlet-plugin.js';

export default tseslint.config(
  { ignores: ['.lint-scratch-*/**', 'dist/**', 'dist-bench/**', 'node_modules/**', 'native/**', 'coverage/**', 'bench/results/**', 'clients/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    plugins: { brixlet },
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'brixlet/no-cycle': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only'][callee.object.name=/^(it|test|describe)$/]", message: '.only hides the rest of the suite.' },
      ],
    },
  },
  { files: ['src/**/*.ts'], rules: { 'brixlet/layers': 'error' } },
);
