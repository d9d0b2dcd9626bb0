// Lint rules, including the layer rules of docs/architecture.md: `gpu/` and `shared/` never import
// Node, Electron or host code; the renderer reaches the host only through the LabApi contract.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import globals from 'globals';

const nodeModules = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'worker_threads', 'electron', 'webgpu'];

export default tseslint.config(
  { ignores: ['node_modules', 'out', 'dist', '.device', 'runs', 'bench/results', 'tests/fixtures'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
    },
  },
  {
    files: ['gpu/**/*.ts', 'shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeModules, message: 'gpu/ and shared/ run in Workers and browsers: no Node or Electron APIs.' },
            { group: ['**/main/**', '**/renderer/**'], message: 'Dependencies flow shared ← gpu ← main/renderer.' },
          ],
        },
      ],
    },
  },
  {
    files: ['gpu/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', 'document', 'window', 'localStorage', 'process'],
    },
  },
  {
    files: ['renderer/**/*.{ts,vue}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeModules, message: 'The renderer reaches the host only through LabApi.' },
            { group: ['**/main/**'], message: 'The renderer reaches the host only through LabApi.' },
          ],
        },
      ],
    },
  },
);
