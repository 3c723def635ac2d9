# Sourced by the other scripts: makes ./.venv hold exactly the packages pinned in uv.lock, once: the
# connector and the test kit (testkit/: listrak_emulators, listrak_testkit), both editable.
#
# Callers may set, before sourcing:
#   EXTRAS  the pyproject extras to install (default "dev e2e": tests, demo, notebook). The set is
#           exact: packages of other extras are removed. scripts/bench sets "dev e2e bench" and
#           INEXACT=1 (it adds py-spy and keeps the rest).
#   VENV    the environment to make (default .venv; scripts/test-newest-cdk uses its own).
# Needs only python3 (3.11+) and PyPI. uv (pinned below) is installed into ./.uv on first use.
# The stamp is keyed on uv.lock, both pyproject.toml files, the extras and uv's version: a change to
# any of them re-syncs. A pyproject.toml that no longer matches uv.lock fails here: run `.uv/bin/uv lock`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
UV_VERSION=0.13.9
EXTRAS=${EXTRAS:-dev e2e}
VENV=${VENV:-.venv}
export UV_PYTHON_DOWNLOADS=never      # use the machine's python3, never download one
export UV_PROJECT_ENVIRONMENT=$VENV
UV=$PWD/.uv/bin/uv

ensure_uv() {
  if [ "$("$UV" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    echo "installing uv $UV_VERSION into .uv (first run only)..." >&2
    rm -rf .uv
    "$PYTHON" -m venv .uv/venv
    .uv/venv/bin/python -m pip install -q --disable-pip-version-check "uv==$UV_VERSION" 2>&1 \
      | grep -v -e '^WARNING: Location' -e 'is neither a file nor a directory' >&2 || true
    mkdir -p .uv/bin && ln -sf ../venv/bin/uv "$UV"
    "$UV" --version >/dev/null || { echo "could not install uv $UV_VERSION" >&2; exit 1; }
  fi
}

stamp=$VENV/.installed-$({ cat uv.lock pyproject.toml testkit/pyproject.toml; echo "$EXTRAS uv-$UV_VERSION ${INEXACT:-} bytecode"; } | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "setting up $VENV from uv.lock (extras: $EXTRAS)..." >&2
  ensure_uv
  # A venv made by python3 keeps pip (uv sync leaves it).
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  extra_args=()
  for extra in $EXTRAS; do extra_args+=(--extra "$extra"); done
  [ -z "${INEXACT:-}" ] || extra_args+=(--inexact)
  # Bytecode compiled once here: this machine sets PYTHONDONTWRITEBYTECODE, so without it every start of
  # the connector compiled ~900 modules again (1.4 s of a 4.7 s `spec`).
  "$UV" sync --quiet --locked --compile-bytecode --python "$VENV/bin/python" "${extra_args[@]}"
  DO_NOT_TRACK=1 "$VENV/bin/python" -W ignore::FutureWarning -c 'import source_listrak, listrak_emulators, listrak_testkit, airbyte' || { echo "install failed" >&2; exit 1; }
  # An exact sync may have removed what another extras set added: only its own stamp stays valid.
  [ -n "${INEXACT:-}" ] || rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
export PATH="$PWD/$VENV/bin:$PATH"
export DO_NOT_TRACK=1 AIRBYTE_OFFLINE_MODE=1
