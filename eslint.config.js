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
    // The layering of docs/architecture.md: ip/ is a leaf of plain values that imports nothing of ours;
    // bgp/ and routing/ may import ip/, never daemon/, and never each other. The toolkit of the tests, labs
    // and benchmarks (toolkit/) is a leaf too, and nothing the daemon runs imports it.
    files: ['ip/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '**/bgp/**',
            '**/routing/**',
            '**/daemon/**',
            '**/labs/**',
            '**/bfd/**',
            '**/toolkit/**',
          ],
        },
      ],
    },
  },
  {
    files: ['bgp/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/routing/**', '**/daemon/**', '**/toolkit/**'] }],
    },
  },
  {
    files: ['routing/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/bgp/**', '**/daemon/**', '**/toolkit/**'] }],
    },
  },
  {
    // The daemon does not carry the lab runner: bin/nodebgp dispatches `nodebgp lab` to dist/labs/ itself.
    files: ['daemon/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/labs/**', '**/toolkit/**'] }] },
  },
  {
    files: ['toolkit/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/ip/**', '**/bgp/**', '**/routing/**', '**/daemon/**', '**/labs/**', '**/test/**'] },
      ],
    },
  },
);
