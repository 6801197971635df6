import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The layering of ../shared/DESIGN.md: bgp/ and routing/ never import daemon/, and never each other.
    files: ['bgp/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/routing/**', '**/daemon/**'] }] },
  },
  {
    files: ['routing/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/bgp/**', '**/daemon/**'] }] },
  },
);
