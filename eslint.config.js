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
            '**/sys/**',
            '**/toolkit/**',
          ],
        },
      ],
    },
  },
  {
    files: ['bgp/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/routing/**', '**/daemon/**', '**/sys/**', '**/bfd/**', '**/toolkit/**'] },
      ],
    },
  },
  {
    files: ['routing/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/bgp/**', '**/daemon/**', '**/bfd/**', '**/toolkit/**'] },
      ],
    },
  },
  {
    // The daemon does not carry the lab runner: bin/nodebgp dispatches `nodebgp lab` to dist/labs/ itself.
    files: ['daemon/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/labs/**', '**/toolkit/**'] }] },
  },
  {
    // sys/: Linux socket calls through koffi (TCP-MD5, TTLs, recvmsg); a leaf beside ip/, which it may use.
    files: ['sys/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '**/bgp/**',
            '**/bfd/**',
            '**/routing/**',
            '**/daemon/**',
            '**/labs/**',
            '**/toolkit/**',
          ],
        },
      ],
    },
  },
  {
    // bfd/: the BFD library (RFC 5880/5881/5883), on ip/ and sys/ only.
    files: ['bfd/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/bgp/**', '**/routing/**', '**/daemon/**', '**/labs/**', '**/toolkit/**'] },
      ],
    },
  },
  {
    files: ['toolkit/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '**/ip/**',
            '**/bgp/**',
            '**/routing/**',
            '**/daemon/**',
            '**/labs/**',
            '**/test/**',
            '**/sys/**',
            '**/bfd/**',
          ],
        },
      ],
    },
  },
);
