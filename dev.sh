#!/usr/bin/env bash
# One script, two verbs (the README's two commands):
#   bash dev.sh run    set up .venv/ if needed, then start the app on the embedded model (offline)
#   bash dev.sh test   set up .venv/ if needed, then run the whole test suite
# Both are idempotent: a second run reuses .venv/ unless pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=.venv
STAMP="$VENV/.installed"

want_stamp() { cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -d' ' -f1; }

setup_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PY" -m venv "$VENV"
  fi
  if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$(want_stamp)" ]; then
    echo "==> installing the pinned stack into $VENV (first time: ~20 min, llama-cpp-python compiles)"
    "$VENV/bin/python" -m pip install --quiet --upgrade "pip==26.0.1"
    # torch first, exactly pinned: a looser spec would pull a multi-GB CUDA build.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
    "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[dev]"
    want_stamp > "$STAMP"
  fi
}

setup_system_test_deps() {
  # Browser tests drive Debian's chromium; the storage tests use a real PostgreSQL server.
  local need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  [ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "==> apt-get install ${need[*]}"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
      echo "note: ${need[*]} missing and not root: the tests that need them will skip" >&2
    fi
  fi
}

case "${1:-}" in
  run)
    setup_python
    shift
    # First start only: assemble the model, train the default classifiers and ingest the demo KB here,
    # with progress, instead of making the first customer wait ~2 minutes.
    if [ ! -f data/.prepared ]; then
      cfg=(); prev=""
      for a in "$@"; do [ "$prev" = "--config" ] && cfg=(--config "$a"); prev="$a"; done
      "$VENV/bin/python" -m assistant prepare "${cfg[@]}" && mkdir -p data && touch data/.prepared
    fi
    exec "$VENV/bin/python" app.py "$@"
    ;;
  test)
    setup_python
    setup_system_test_deps
    shift
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  setup)
    setup_python
    "$VENV/bin/python" -m assistant prepare && mkdir -p data && touch data/.prepared
    ;;
  *)
    echo "usage: bash dev.sh run|test|setup [args]" >&2
    exit 2
    ;;
esac
