#!/usr/bin/env bash
# Run `ansible-test sanity` the way it requires: from an ansible_collections/<ns>/<name>
# tree. We copy the tracked (and untracked, not ignored) files into one under .cache/.
#
# Offline (PIP_NO_INDEX set, as on machines without a Python index): ansible-test builds
# a venv per sanity test, drops PIP_* variables and downloads get-pip. We give it a
# throw-away HOME whose pip.conf points at the wheelhouse and whose get-pip cache entry
# bootstraps pip with ensurepip instead of downloading it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tree="$root/.cache/sanity/ansible_collections/selfhosted/headscale"
python_version=${SANITY_PYTHON:-3.11}

rm -rf "$tree" && mkdir -p "$tree"
(cd "$root" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$root" && tar --null -T - -cf -) | tar -C "$tree" -xf -
# ansible-test lists files through git when a .git exists; give the copy its own.
(cd "$tree" && git init -q && git add -A >/dev/null)

if [[ -n ${PIP_NO_INDEX:-} ]]; then
  home="$tree/tests/output/.offline-home"
  mkdir -p "$home/.config/pip" "$home/.ansible/test/cache"
  printf '[global]\nno-index = true\nfind-links = %s\n' "${PIP_FIND_LINKS:?set PIP_FIND_LINKS to the wheelhouse}" \
    >"$home/.config/pip/pip.conf"
  # The cache file name carries the pip version ansible-test pins (24.2 for ansible-core 2.19).
  requirements_py=$(python3 -c 'import ansible_test, os; print(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py"))')
  pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',$/\1/p" "$requirements_py" | head -n 1)
  cp "$root/tests/sanity/get_pip_offline.py" "$home/.ansible/test/cache/get_pip_${pip_version//./_}.py"
  export HOME="$home"
fi

cd "$tree"
ansible-test sanity --venv --python "$python_version" --color no "$@"
