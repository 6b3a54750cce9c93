#!/usr/bin/env bash
# The whole test suite: bootstrap the environment, then pytest twice:
#  1. everything on the defaults (SQLite file, embedded filesystem Celery broker);
#  2. the platform tests again on the production path (PostgreSQL + Redis on loopback),
#     including the PostgreSQL-only concurrency tests.
# Extra arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
PG_URL=${QSCHED_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${QSCHED_TEST_BROKER_URL:-redis://127.0.0.1:6379/0}

echo "==> tests on the default settings (SQLite, embedded broker)"
.venv/bin/python -m pytest -m "not postgres" "$@"

echo "==> platform tests on the production path (PostgreSQL, Redis)"
DATABASE_URL=$PG_URL CELERY_BROKER_URL=$REDIS_URL .venv/bin/python -m pytest tests/platform "$@"
