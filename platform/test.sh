#!/usr/bin/env bash
# Second README command: install everything and run the whole test suite.
#
# 1. The whole suite on PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) with a real
#    Celery worker when they answer; otherwise on the embedded defaults (SQLite, tasks run in process).
# 2. When step 1 ran on PostgreSQL: the demo path again on the embedded defaults (SQLite, tasks in process),
#    the queue, submit, consensus, import and export tests: what the README's first command runs on. It runs
#    beside step 1 (own SQLite file, media folders and temp dir) and reports after it.
# Extra arguments go to pytest (both runs). EMBEDDED=1 skips the PostgreSQL/Redis detection.
set -uo pipefail
cd "$(dirname "$0")/.."
# .ci/run installs first (it lints before the tests) and sets SKIP_INSTALL=1: the install runs once.
[ "${SKIP_INSTALL:-0}" = "1" ] || bash platform/install.sh || exit 1

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
if [ "${EMBEDDED:-0}" != "1" ]; then
  if [ -z "${DATABASE_URL:-}" ] && port_open 127.0.0.1 5432; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/${TEST_DB_NAME:-annotate}"
  fi
  if [ -z "${REDIS_URL:-}" ] && port_open 127.0.0.1 6379; then
    export REDIS_URL="redis://127.0.0.1:6379/${TEST_REDIS_DB:-0}"
  fi
fi
export TESTING=1

run_pytest() {  # pytest's exit 5 (nothing collected) is a failure here
  .venv/bin/python -m pytest -p no:cacheprovider "$@"
  local rc=$?
  if [ "$rc" = "5" ]; then echo "pytest collected no tests: failing the run"; return 1; fi
  return "$rc"
}

EMBEDDED_TESTS=(
  tests/test_queue.py tests/test_queue_concurrency.py tests/test_fastlane.py tests/test_consensus_scoring.py
  tests/test_consensus_types_ds.py tests/test_consensus_api.py tests/test_consensus_algorithms.py tests/test_consensus_mutations.py
  tests/test_import_jobs.py tests/test_admin_console.py
  tests/test_export_engine.py tests/test_export_api.py tests/test_export_validation.py tests/test_media_export.py
  tests/test_types_rlhf.py tests/test_types_sft.py tests/test_types_moderation.py tests/test_types_hallucination.py
  tests/test_ocr_type.py tests/test_speech_types.py tests/test_task_type_packages.py tests/test_workqueue.py
  tests/test_schema_errors.py tests/test_i18n_pages.py
  tests/test_types_chat.py tests/test_spans_type.py tests/test_spans_consensus.py tests/test_spans_formats.py
  tests/test_spans_chat_gaps.py tests/test_image_type.py tests/test_image_gaps.py tests/test_survey_type.py tests/test_survey_xpath.py
  tests/test_survey_mutations.py tests/test_field_visit.py tests/test_authorship_evidence.py
  tests/test_client_contract.py tests/test_client_retries.py tests/test_operations.py tests/test_lock.py
  tests/test_profile_quotas.py tests/test_field_visit_steps.py tests/test_video_type.py tests/test_demo_qualifications.py
)

# Step 2 runs beside step 1 (its own SQLite file, no broker, no browser): the two share the machine's cores
# instead of queueing, and its report is printed after step 1's.
embedded_pid=""
if [ -n "${DATABASE_URL:-}" ] && [ "${SKIP_EMBEDDED:-0}" != "1" ]; then
  mkdir -p test-artifacts
  embedded_log=test-artifacts/embedded-run.txt
  embedded_files=$(mktemp -d)  # its own media and exports: the run beside it writes to the defaults
  ( env -u DATABASE_URL -u REDIS_URL MEDIA_ROOT="$embedded_files/media" PRIVATE_MEDIA_ROOT="$embedded_files/private" \
      .venv/bin/python -m pytest -p no:cacheprovider -m "not integration" --basetemp="$embedded_files/tmp" "$@" \
      "${EMBEDDED_TESTS[@]}" \
      > "$embedded_log" 2>&1 ) &
  embedded_pid=$!
fi

echo "database: ${DATABASE_URL:-embedded SQLite}; broker: ${REDIS_URL:-embedded (eager)}"
run_pytest "$@"
rc=$?

if [ -n "$embedded_pid" ]; then
  wait "$embedded_pid"
  embedded_rc=$?
  echo "database: embedded SQLite; broker: embedded (eager): the demo path (ran beside the run above)"
  cat "$embedded_log"
  rm -rf "$embedded_files"
  [ "$embedded_rc" = "5" ] && embedded_rc=1
  [ "$rc" = "0" ] && rc=$embedded_rc
fi
exit "$rc"
