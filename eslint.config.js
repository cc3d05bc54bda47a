import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.toolchain/', '**/testdata/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  // The layering of the house (ARCHITECTURE.md): api imports nothing of ours, lib never imports
  // controllers or cli, and nothing imports e2e.
  {
    files: ['api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../../lib/*', '../../controllers/*', '../../cli/*', '../../e2e/*', '../../bench/*'],
              message: 'api/ imports nothing of ours',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/controllers/*', '**/cli/*', '**/e2e/*', '**/bench/*'],
              message: 'lib/ never imports controllers/, cli/, e2e/ or bench/',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['controllers/**/*.ts', 'cli/**/*.ts', 'scripts/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/e2e/*', '**/bench/*'], message: 'nothing imports e2e/ or bench/' }] },
      ],
    },
  },
);
