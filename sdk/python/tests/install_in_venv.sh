#!/usr/bin/env bash
# Installs the binding as sdk/python/README.md says (offline, into a throwaway venv that sees Debian's
# setuptools) and runs the tests against the installed package instead of the source folder.
#   usage: install_in_venv.sh PYTHON SOURCE_DIR      (REGULARS_* variables as for the pytest run)
set -euo pipefail
python=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/regulars-py-venv.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A copy, because pip builds in the tree it is given and would leave build/ and *.egg-info in ours.
mkdir "$work/src"
cp -r "$src/pyproject.toml" "$src/README.md" "$src/regulars" "$work/src/"
"$python" -m venv --system-site-packages "$work/venv"
# --no-index: fail at once, rather than wait on a network, if the build ever needs something not installed.
"$work/venv/bin/pip" install --quiet --no-index --no-build-isolation "$work/src"

cd "$work/venv"
where=$("$work/venv/bin/python" -c 'import regulars; print(regulars.__file__)')
if [[ $where != "$work/venv/"* ]]; then
  echo "install_in_venv: regulars was imported from $where, not from the venv" >&2
  exit 1
fi
"$work/venv/bin/python" -c 'import importlib.resources as r; assert r.files("regulars").joinpath("py.typed").is_file(), "py.typed was not installed"'
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$src/tests"
