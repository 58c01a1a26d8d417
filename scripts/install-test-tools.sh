#!/usr/bin/env bash
# Builds the Go tools the integration tests use (grpcurl) into a cache folder outside git.
# Tests find them through STRATA_TOOLS_DIR (default ~/.cache/strata-tools/bin).
set -euo pipefail
tools="${STRATA_TOOLS_DIR:-$HOME/.cache/strata-tools/bin}"
mkdir -p "$tools"
if [ ! -x "$tools/grpcurl" ]; then
  if command -v go >/dev/null; then
    GOBIN="$tools" GOFLAGS=-mod=mod go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3
  else
    echo "go not found: grpcurl tests will be skipped" >&2
  fi
fi
