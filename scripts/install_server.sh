#!/bin/sh
# Installs the server, non-editable, into a new venv at $1, from the lock files alone:
#   sh scripts/install_server.sh /opt/venv        (run from the source tree)
# A throwaway build venv takes the locked build tools (requirements/build.txt: setuptools, wheel,
# Cython) and builds the project's wheel without isolation, compiling the quote kernel (needs a C
# compiler). The target venv gets the locked server dependencies (requirements/server.txt, hashes
# checked) and that wheel, installed by the build venv's pip: the target holds no pip, setuptools,
# wheel or Cython of its own. Used by the Containerfile's builder stage and by scripts/check_image.py.
set -eu
target=$1
python=${PYTHON:-python3}
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
"$python" -m venv "$build/venv"
pip="$build/venv/bin/python -m pip --disable-pip-version-check"
$pip install --quiet --require-hashes --no-deps -r requirements/build.txt
$pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$build/wheels" .
"$python" -m venv --without-pip "$target"
$pip --python "$target/bin/python" install --quiet --require-hashes --no-deps -r requirements/server.txt
$pip --python "$target/bin/python" install --quiet --no-deps "$build"/wheels/*.whl
$pip --python "$target/bin/python" check
# From outside the source tree, so the import finds the installed package, not the sources.
cd /
"$target/bin/python" -c "from kokokara.shipping.server.fast import fastquote; assert fastquote.available(), 'the quote kernel did not build'"
