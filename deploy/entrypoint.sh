#!/bin/sh
# Container entry point. The first argument picks the role:
#   web       gunicorn serving sovei_platform.wsgi on 0.0.0.0:$PORT (default 8000)
#   worker    Celery worker
#   beat      Celery beat (periodic tasks)
#   migrate   one-shot: migrate the public schema, the municipality schemas and the tenant
#             template, import the shipped SoVei catalog (and, with LOAD_DEMO=true, the
#             demo municipalities and users); exits when done
#   manage    python manage.py <the remaining arguments>
#   anything else is executed as given (e.g. `sh` for a shell)
# The same steps as `make run` (deploy/local.py), minus the embedded servers.
set -eu

cd /app

log() { echo "[entrypoint] $*"; }

# Wait until PostgreSQL and Redis answer (compose's healthchecks normally ensure this; the
# wait covers restarts and other orchestrators). Gives up after WAIT_TIMEOUT seconds.
wait_for_services() {
    python - <<'PY'
import os
import sys
import time

import psycopg
import redis
import environ

timeout = float(os.environ.get("WAIT_TIMEOUT", "60"))
db = environ.Env.db_url_config(os.environ.get("DATABASE_URL", ""))
params = {
    "dbname": db.get("NAME") or "postgres",
    "user": db.get("USER") or None,
    "password": db.get("PASSWORD") or None,
    "host": db.get("HOST") or db.get("OPTIONS", {}).get("host") or None,
    "port": db.get("PORT") or None,
    "connect_timeout": 3,
}
params = {k: v for k, v in params.items() if v not in (None, "")}
deadline = time.monotonic() + timeout
problem = ""
while time.monotonic() < deadline:
    try:
        psycopg.connect(**params).close()
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - report whatever keeps us waiting
        problem = f"{type(exc).__name__}: {exc}"
        time.sleep(1)
print(f"[entrypoint] database or broker not reachable after {timeout:.0f} s: {problem}",
      file=sys.stderr)
sys.exit(1)
PY
}

has_command() {
    python manage.py help --commands | grep -qx "$1"
}

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
    web)
        wait_for_services
        exec gunicorn sovei_platform.wsgi:application \
            --bind "0.0.0.0:${PORT:-8000}" \
            --workers "${WEB_CONCURRENCY:-3}" \
            --timeout "${GUNICORN_TIMEOUT:-60}" \
            --worker-tmp-dir /dev/shm \
            --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" \
            --access-logfile - \
            "$@"
        ;;
    worker)
        wait_for_services
        exec celery -A sovei_platform worker \
            --loglevel "${LOG_LEVEL:-INFO}" \
            --hostname "worker@%h" \
            --concurrency "${CELERY_CONCURRENCY:-2}" \
            "$@"
        ;;
    beat)
        wait_for_services
        exec celery -A sovei_platform beat \
            --loglevel "${LOG_LEVEL:-INFO}" \
            --schedule /app/var/celerybeat-schedule \
            "$@"
        ;;
    migrate)
        wait_for_services
        log "migrating the public schema"
        python manage.py migrate_schemas --shared
        log "migrating the municipality schemas and the tenant template"
        python manage.py migrate_schemas --tenant
        if has_command import_catalog && [ -f catalog/data/sovei-model-1.0.yaml ]; then
            log "importing the SoVei catalog"
            python manage.py import_catalog catalog/data/sovei-model-1.0.yaml
        fi
        if has_command import_instruments; then
            log "importing the shipped assessment instruments"
            python manage.py import_instruments
        fi
        case "${LOAD_DEMO:-false}" in
            1|true|True|yes)
                log "loading the demo municipalities and users (LOAD_DEMO=${LOAD_DEMO})"
                python manage.py load_demo
                ;;
        esac
        log "done"
        ;;
    manage)
        exec python manage.py "$@"
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
