import js from '@eslint/js';
import regexp from 'eslint-plugin-regexp';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  regexp.configs['flat/recommended'],
  {
    rules: {
      // One pattern that backtracks on hostile text freezes the event loop every company shares (and the
      // browser's live counter): patterns must run in linear time, including when retried from each position.
      'regexp/no-super-linear-backtracking': 'error',
      'regexp/no-super-linear-move': ['error', { ignorePartial: false, ignoreSticky: false }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['server/messaging/**'],
    rules: {
      // The policy module is shared with the browser and must stay pure (see its index comment).
      'no-restricted-imports': ['error', { patterns: ['node:*', '../*'] }],
    },
  },
);
