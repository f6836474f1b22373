#!/usr/bin/env bash
# HTML documentation of the collection (modules, inventory plugin, roles with their argument
# specs), built offline with antsibull-docs and Sphinx into .cache/docs/build/index.html.
# Fails on any documentation lint error and on any Sphinx warning, except references into the
# Ansible documentation itself (docs.ansible.com): resolving those needs its intersphinx
# inventory, which is not fetched here (offline). They are counted and listed, not hidden.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.cache/docs"
export ANSIBLE_COLLECTIONS_PATH="$root/.collections"

antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck "$root"

rm -rf "$out" && mkdir -p "$out"
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$out" \
  --project selfhosted.headscale --title selfhosted.headscale selfhosted.headscale >/dev/null
# Offline: no intersphinx inventories are downloaded.
echo "intersphinx_mapping = {}" >>"$out/conf.py"
mkdir -p "$out/rst" && chmod og-w "$out/rst"
antsibull-docs --config-file "$out/antsibull-docs.cfg" collection --cleanup everything --use-current \
  --squash-hierarchy --fail-on-error --dest-dir "$out/rst" selfhosted.headscale
: >"$out/warnings.txt"
sphinx-build -b html -c "$out" -q -w "$out/warnings.txt" "$out/rst" "$out/build" 2>"$out/sphinx-stderr.txt"

# Labels and environment variables that live in the Ansible documentation.
external="undefined label: '(common_return_values|ansible_configuration_settings)'|'envvar' reference target not found: ANSIBLE_"
grep -E "$external" "$out/warnings.txt" >"$out/warnings-external.txt" || true
grep -vE "$external" "$out/warnings.txt" >"$out/warnings-ours.txt" || true
if [[ -s "$out/warnings-ours.txt" ]]; then
  echo "docs: Sphinx warnings:" >&2
  cat "$out/warnings-ours.txt" >&2
  exit 1
fi
pages=$(find "$out/build" -maxdepth 1 -name '*.html' | wc -l)
echo "docs: $pages HTML pages in $out/build; $(wc -l <"$out/warnings-external.txt") references into docs.ansible.com left unresolved (offline)"
