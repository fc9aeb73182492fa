// Lint rules that guard the architecture: only src/extension may import 'vscode',
// and src/ stays free of `any`.
import tseslint from 'typescript-eslint';

const noVscode = {
  'no-restricted-imports': [
    'error',
    {
      paths: [{ name: 'vscode', message: "Only src/extension may import 'vscode' (see ARCHITECTURE.md)." }],
    },
  ],
};

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'out/**', 'dist/**', 'test/e2e/node_modules/**', 'test/fixtures/**', '**/*.mjs', '**/*.js'],
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'webview/**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      ...noVscode,
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/extension/**/*.ts', 'test/e2e/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
