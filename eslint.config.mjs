// `npm run lint` (with `prettier --check` and the architecture page's check): typescript-eslint's
// recommended rules, a few type-aware ones that catch real bugs cheaply, and the layer rules of
// layers.config.mjs as eslint-plugin-boundaries policies.
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';
import { LAYERS } from './layers.config.mjs';

const layerNamed = (name) => LAYERS.find((layer) => layer.name === name);

/** A layer is a folder (an element) or a single file (a file category: elements are folders). */
const entity = (layer) => (layer.mode === 'file' ? { file: { categories: layer.name } } : { element: { type: layer.name } });

/** Policies per layer: what it may import, and (for the CLI) what only by type or import(). */
function layerPolicies() {
  const policies = [];
  for (const layer of LAYERS) {
    const from = entity(layer);
    for (const name of [layer.name, ...layer.mayImport]) policies.push({ from, allow: { to: entity(layerNamed(name)) } });
    for (const name of layer.typeOrDynamicOnly ?? []) {
      const to = entity(layerNamed(name));
      policies.push({ from, allow: { to, dependency: { kind: 'type' } } });
      policies.push({ from, allow: { to, dependency: { nodeKind: 'dynamic-import' } } });
    }
    // Node's built-ins and npm packages: every layer but those that list what they may use.
    if (layer.nodeBuiltins === undefined) policies.push({ from, allow: { to: { module: { origin: 'core' } } } });
    else if (layer.nodeBuiltins.length > 0) policies.push({ from, allow: { to: { module: { origin: 'core', source: layer.nodeBuiltins } } } });
    if (layer.packages !== false) policies.push({ from, allow: { to: { module: { origin: 'external' } } } });
  }
  return policies;
}

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // bin/load-cli.cjs and the code-cache maker are CommonJS on purpose (bin/load-cli.cjs says why).
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'boundaries/elements': LAYERS.filter((layer) => layer.mode !== 'file').map((layer) => ({
        type: layer.name,
        pattern: layer.pattern,
        partialMatch: false,
      })),
      'boundaries/files': LAYERS.filter((layer) => layer.mode === 'file').map((layer) => ({ category: layer.name, pattern: layer.pattern })),
      'boundaries/dependency-nodes': ['import', 'export', 'dynamic-import'],
      'import/resolver': { typescript: { project: 'tsconfig.json' } },
    },
    rules: {
      'boundaries/dependencies': ['error', { default: 'disallow', checkAllOrigins: true, checkUnknownLocals: true, policies: layerPolicies() }],
      // A module outside every layer would escape the rules above.
      'boundaries/no-unknown-files': 'error',
    },
  },
  {
    // The core is pure: the same input gives the same output, so it is tested without fakes.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['process', 'performance', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'fetch'].map((name) => ({
          name,
          message: 'src/core is pure: no clock, timers, process or I/O.',
        })),
      ],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'src/core is pure: no clock.' }],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'src/core is pure: no clock.' }],
    },
  },
);
