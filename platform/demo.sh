#!/usr/bin/env bash
# First README command: install, create the embedded demo (SQLite, Celery eager) and serve it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash platform/install.sh
export DEBUG=${DEBUG:-1}
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py compilemessages -v0 2>/dev/null || true
.venv/bin/python manage.py load_demo
exec .venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-8000}"
