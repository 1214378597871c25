// typescript-eslint with type information: floating promises and type-only imports are errors.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** `no-restricted-imports` options: never another package's src/, nor anything in `outsideTable`. */
function restrictImports(outsideTable = []) {
  const patterns = [
    {
      group: ['@shopflow/*/src/*', '**/packages/*/src/*', '**/services/*/src/*'],
      message: "Import a package through its exports, never another package's src/.",
    },
  ];
  if (outsideTable.length > 0) {
    patterns.push({ group: outsideTable, message: "Not in this package's row of the README's layout table." });
  }
  return ['error', { patterns }];
}

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'packages/contracts/src/gen/**', '.data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.typecheck.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': restrictImports(),
    },
  },
  // The package graph of the README's layout table, for the packages below the services.
  {
    files: ['packages/contracts/src/**'],
    rules: { 'no-restricted-imports': restrictImports(['@shopflow/*']) },
  },
  {
    // Plumbing only: a client or a proto of one service belongs to that service's own package.
    files: ['packages/platform/src/**'],
    rules: {
      'no-restricted-imports': restrictImports(['@shopflow/*', '!@shopflow/contracts', '@shopflow/contracts/payment-grpc']),
    },
  },
  {
    files: ['packages/payment-client/src/**'],
    rules: { 'no-restricted-imports': restrictImports(['@shopflow/*', '!@shopflow/contracts', '!@shopflow/platform']) },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly' },
    },
  },
  {
    // The dashboard's script runs in the browser as it is, with no build step.
    files: ['services/gateway/static/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', EventSource: 'readonly', Node: 'readonly' },
    },
  },
  {
    files: ['**/*.test.ts', 'tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
