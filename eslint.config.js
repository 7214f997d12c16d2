// Lint: typescript-eslint plus the layer rules of ARCHITECTURE.md §2, enforced as import zones,
// and no import cycles. test/common/layers.test.ts proves the zones reject what they must.
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import tseslint from 'typescript-eslint';

const SRC = ['common', 'kube', 'accel', 'kvcache', 'chaos', 'agent', 'coordinator', 'cli'];

/** What each src folder may import besides itself (the architecture's import rules). */
const ALLOWED = {
  common: [],
  accel: ['common'],
  kvcache: ['common'],
  kube: ['common'],
  chaos: ['common', 'kube'],
  agent: ['common', 'accel', 'kvcache'],
  coordinator: ['common', 'kube', 'chaos'],
  cli: SRC,
};

const zones = [
  ...Object.entries(ALLOWED).flatMap(([target, allowed]) =>
    SRC.filter((f) => f !== target && !allowed.includes(f)).map((from) => ({
      target: `./src/${target}`,
      from: `./src/${from}`,
      message: `src/${target} may import only ${['itself', ...allowed.map((a) => `src/${a}`)].join(', ')} (ARCHITECTURE.md §2).`,
    })),
  ),
  ...['mocks', 'test', 'bench'].map((from) => ({
    target: './src',
    from: `./${from}`,
    message: `nothing in src/ imports ${from}/.`,
  })),
  // Only accel/select.ts knows the vendor backends.
  ...['nvml', 'dcmi', 'sim'].map((vendor) => ({
    target: './src',
    from: `./src/accel/${vendor}`,
    message: `only src/accel/select.ts imports src/accel/${vendor}/.`,
  })),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/**', 'coverage/**', 'bench/results/**', 'clients/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'test/tsconfig.json' })],
    },
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only'][callee.object.name=/^(it|test|describe)$/]", message: '.only hides the rest of the suite.' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
    },
  },
  {
    // Vendor folders are importable from accel/select.ts and from inside the same vendor folder.
    files: ['src/accel/select.ts', 'src/accel/nvml/**', 'src/accel/dcmi/**', 'src/accel/sim/**'],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: zones.filter((z) => !/src\/accel\/(nvml|dcmi|sim)$/.test(z.from)) }],
    },
  },
);
