#!/usr/bin/env bash
# One entry for newcomers and CI: builds .venv from the pinned requirements on first use, then
#   ./run.sh demo   the whole loop on simulators, SQLite in a temporary folder
#   ./run.sh test   the whole test suite (extra arguments go to pytest)
#   ./run.sh app …  any app.py command (serve, worker, scheduler, migrate, check-config, …)
set -euo pipefail
cd "$(dirname "$0")"

python_311() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "run.sh: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
  exit 1
}

ensure_venv() {  # $1: requirements file to satisfy
  local wanted="$1" stamp=".venv/.installed-$(basename "$1" .txt)" digest
  digest=$(cat requirements/*.txt | cksum | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ]; then
    "$(python_311)" -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$wanted"
    echo "$digest" > "$stamp"
  fi
}

command="${1:-}"; shift || true
case "$command" in
  demo) ensure_venv requirements/base.txt; exec .venv/bin/python app.py demo "$@" ;;
  test) ensure_venv requirements/test.txt; exec .venv/bin/python -m pytest "$@" ;;
  app)  ensure_venv requirements/base.txt; exec .venv/bin/python app.py "$@" ;;
  *) echo "usage: ./run.sh demo | test [pytest args] | app <command> [args]" >&2; exit 2 ;;
esac
