#!/usr/bin/env bash
# Set up a fresh Debian 12 machine (as root) and run every test: format, typecheck, lint, unit, interop.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
npx prettier --check .
npm run typecheck
npx tsc -p tsconfig.test.json
npm run lint
npm run build
npx vitest run
