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
    // bgp/ and routing/ may import ip/, never daemon/, and never each other.
    files: ['ip/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/bgp/**', '**/routing/**', '**/daemon/**', '**/labs/**', '**/bfd/**', '**/sys/**'] },
      ],
    },
  },
  {
    files: ['bgp/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/routing/**', '**/daemon/**', '**/sys/**', '**/bfd/**'] },
      ],
    },
  },
  {
    files: ['routing/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/bgp/**', '**/daemon/**', '**/bfd/**'] }] },
  },
  {
    // sys/: Linux socket calls through koffi (TCP-MD5, TTLs, recvmsg); a leaf beside ip/, which it may use.
    files: ['sys/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/bgp/**', '**/bfd/**', '**/routing/**', '**/daemon/**', '**/labs/**'] },
      ],
    },
  },
  {
    // bfd/: the BFD library (RFC 5880/5881/5883), on ip/ and sys/ only.
    files: ['bfd/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/bgp/**', '**/routing/**', '**/daemon/**', '**/labs/**'] },
      ],
    },
  },
);
