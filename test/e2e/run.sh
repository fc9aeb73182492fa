#!/usr/bin/env bash
# End-to-end tests in a real VS Code workbench: installs code-server/playwright-core (cached),
# packages the extension as a .vsix, type-checks the e2e code, runs test/e2e/*.e2e.ts with mocha.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/e2e/install.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node scripts/package.mjs "$tmp/beam-lens.vsix" >/dev/null
npx tsc -p test/e2e --noEmit
BEAM_LENS_VSIX="$tmp/beam-lens.vsix" npx mocha --import=tsx --require test/integration/hooks.ts --timeout 600000 --reporter spec 'test/e2e/*.e2e.ts'
