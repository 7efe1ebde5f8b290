#!/usr/bin/env bash
# Lint and type-check as CI does: ruff over the checkout, mypy over the package as it is
# installed (the checkout's folders are not named like the packages: audit/ is hostaudit).
# Uses the checkout's .venv (tests/install-and-run.sh makes it with the test extras).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
python=${PYTHON:-$repo/.venv/bin/python}

"$python" -m ruff check --no-cache .

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Build from a copy so that setuptools' build/ and *.egg-info stay out of the checkout.
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work"
mkdir "$work/site"
"$python" -m pip install -q --no-deps --no-compile --target "$work/site" "$work" 2>&1 \
  | grep -v "^WARNING: Location" >&2 || true
test -f "$work/site/hostaudit/__init__.py" || { echo "lint.sh: pip did not install hostaudit" >&2; exit 1; }
cd "$work/site"
"$python" -m mypy --config-file "$repo/pyproject.toml" --python-executable "$python" --cache-dir "$work/cache" \
  -p hostaudit
