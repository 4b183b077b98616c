#!/usr/bin/env bash
# Installs llama.cpp for tokendrift's tests: node-llama-cpp 3.21.1 (pinned in package-lock.json) from the npm
# registry, whose prebuilt CPU binary needs no compiler. Node 18+ and npm must be on the PATH; without them
# the llama.cpp tests skip, saying so. Idempotent: does nothing when the pinned version is in place.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "ci/llamacpp/install.sh: node and npm are not installed; the llama.cpp tests will be skipped" >&2
  exit 0
fi
if [ -f node_modules/node-llama-cpp/package.json ] &&
  grep -q '"version": "3.21.1"' node_modules/node-llama-cpp/package.json; then
  exit 0
fi
echo "ci/llamacpp/install.sh: installing node-llama-cpp 3.21.1 (prebuilt llama.cpp, CPU) from npm" >&2
npm ci --no-audit --no-fund --loglevel=error >/dev/null
