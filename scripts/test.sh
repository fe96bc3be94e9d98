#!/usr/bin/env bash
# README command 2: set up a fresh machine and run the whole suite (lint, db check, SQLite, PostgreSQL).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k ingest`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh

echo "== ruff (lint, then the formatting: ruff format --check)"
python3 -m ruff check .
python3 -m ruff format --check .

echo "== mypy (district, workers, school_agent, houqin_standard: pyproject.toml [tool.mypy])"
python3 -m mypy

echo "== import layers (lint-imports: the contracts in .importlinter, docs/ARCHITECTURE.md)"
lint-imports

echo "== models and migrations agree"
tmp=$(mktemp -d)
HOUQIN_INSTANCE_PATH="$tmp" houqin db upgrade >/dev/null
HOUQIN_INSTANCE_PATH="$tmp" houqin db check
rm -rf "$tmp"

export HOUQIN_TEST_ARTIFACTS="${HOUQIN_TEST_ARTIFACTS:-$PWD/test-artifacts}"
mkdir -p "$HOUQIN_TEST_ARTIFACTS"

echo "== pytest on SQLite (the embedded default)"
python3 -m pytest "$@"

# The standard's and the agent's own tests never touch the hub's database (the agent's hubs are SQLite files of
# their own): on PostgreSQL they would prove again what the first pass proved, so that pass leaves them out.
echo "== pytest on PostgreSQL + Redis"
HOUQIN_TEST_POSTGRES_URL="${HOUQIN_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}" \
  python3 -m pytest -m "not browser" --ignore=tests/houqin_standard --ignore=tests/school_agent "$@"

# No test reads the real date (they set the hub's clock, district.clock): the date-bound packages run again
# with the machine's clock more than a year ahead, on a leap day.
if (($# == 0)); then
  echo "== pytest under faketime 2028-02-29 (scoring, reports, rendering, dashboard, calendar)"
  faketime '2028-02-29 12:00:00' python3 -m pytest -m "not browser and not slow" -p no:cacheprovider \
    tests/district/scoring tests/district/reports tests/district/rendering tests/district/dashboard \
    tests/district/test_calendar.py
fi
