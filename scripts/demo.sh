#!/usr/bin/env bash
# README command 1: set up a fresh machine and run the main job on the embedded default (SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec houqin demo "$@"
