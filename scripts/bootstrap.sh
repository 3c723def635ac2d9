# Sourced by the other scripts: makes ./.venv with the connector and its test/demo tools, once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "setting up .venv (first run only)..." >&2
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>/dev/null || true
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev,e2e,bench]' 2>&1 \
    | grep -v -e '^WARNING: Location' -e 'is neither a file nor a directory' >&2 || true
  DO_NOT_TRACK=1 .venv/bin/python -c 'import source_listrak, airbyte' || { echo "install failed" >&2; exit 1; }
  rm -f .venv/.installed-*; touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
# The scripts import the emulators (listrak_emulators/) and the test harness from the repository root.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export DO_NOT_TRACK=1 AIRBYTE_OFFLINE_MODE=1
