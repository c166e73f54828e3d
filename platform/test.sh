#!/usr/bin/env bash
# Second README command: install everything and run the whole test suite.
#
# Uses PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) when they answer,
# with a real Celery worker for the integration tests; otherwise the embedded defaults
# (SQLite, tasks run in process). Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
bash platform/install.sh || exit 1

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core fonts-noto-core) >/dev/null \
      || echo "warning: could not install chromium; browser tests will fail"
  else
    echo "warning: /usr/bin/chromium missing; install Debian's chromium for the browser tests"
  fi
fi

port_open() { .venv/bin/python - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
PY
}
if [ -z "${DATABASE_URL:-}" ] && port_open 127.0.0.1 5432; then
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/${TEST_DB_NAME:-annotate}"
fi
if [ -z "${REDIS_URL:-}" ] && port_open 127.0.0.1 6379; then
  export REDIS_URL="redis://127.0.0.1:6379/${TEST_REDIS_DB:-0}"
fi
echo "database: ${DATABASE_URL:-embedded SQLite}; broker: ${REDIS_URL:-embedded (eager)}"
export TESTING=1
.venv/bin/python -m pytest -p no:cacheprovider "$@"
rc=$?
if [ "$rc" = "5" ]; then
  echo "pytest collected no tests: failing the run"
  exit 1
fi
exit "$rc"
