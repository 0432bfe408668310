// Lint: typescript-eslint's recommended rules everywhere, plus the type-aware rules that catch what
// tests rarely do — a promise nobody awaits or catches, a promise where a callback's result is
// ignored, a switch that forgets a member of a union. Formatting is Prettier's job (npm run format).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  // client-sdk/global.d.ts describes the built package (dist/): test/unit/sdk-types.test.ts type-checks it as a consumer does.
  {
    ignores: [
      'dist/**',
      'client-sdk/dist/**',
      'client-sdk/global.d.ts',
      'node_modules/**',
      'data/**',
      'recordings/out/**',
      'test/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always'],
      // Prettier wraps code at 140; this catches the long strings and comments it leaves alone.
      'max-len': ['error', { code: 150, ignoreUrls: true, ignoreRegExpLiterals: true }],
      'no-console': 'off',
    },
  },
  {
    // The demo page and build scripts: plain JavaScript, no type information.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: { 'max-len': ['error', { code: 150, ignoreUrls: true, ignoreRegExpLiterals: true }] },
  },
);
