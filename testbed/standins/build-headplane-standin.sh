#!/usr/bin/env bash
# Build the HEADPLANE STAND-IN images of the test bed (NOT Headplane; see
# testbed/standins/headplane/README.md): one tag per Headplane release a scenario
# loads (versions below), selfhosted-testbed/headplane-standin:<version>, each with STANDIN_HEADPLANE_VERSION
# set, all saved in one tarball for `docker load`:
#
#   testbed/standins/build-headplane-standin.sh      # called by testbed/build-images.sh
#   TESTBED_REBUILD=1 testbed/standins/build-headplane-standin.sh
#
# Built FROM selfhosted-testbed/debian:13 (python3 is there; build it first) with the
# legacy `docker build` (no registry, no network: the base is a local image).
# Added on top: the stand-in program, the collection's Headplane config checker
# (plugins/module_utils/headplane_config.py) and PyYAML's pure-Python package from the
# venv. Cache: the images carry the recipe hash as a label; the tarball is
# .testbed/images/headplane-standin.tar (+ .id listing the image IDs it holds).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache="${TESTBED_CACHE:-$root/.testbed}"
imgcache="$cache/images"
base=selfhosted-testbed/debian:13
repo=selfhosted-testbed/headplane-standin
label=org.selfhosted.testbed.recipe
tarball="$imgcache/headplane-standin.tar"
rebuild=${TESTBED_REBUILD:-0}
# Every Headplane release of the role's pairing table (roles/headplane/vars/main.yml);
# molecule/server runs 0.6.1 and changes to 0.6.3 after its first converge.
versions=(0.6.1 0.6.2 0.6.3 0.7.0-beta.4)
standin="$root/testbed/standins/headplane/headplane_standin.py"
checker="$root/plugins/module_utils/headplane_config.py"
python=${TESTBED_PYTHON:-$root/.venv/bin/python}

log() { printf 'testbed: %s\n' "$*"; }
die() { printf 'testbed: error: %s\n' "$*" >&2; exit 1; }

image_recipe() { docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# The pure-Python part of PyYAML from the venv (the C extension is left out: it is built
# for the venv's Python, and PyYAML falls back to Python code without it).
yaml_dir() { "$python" -c 'import os, yaml; print(os.path.dirname(yaml.__file__))'; }

recipe() {
  echo "headplane-standin v1 ${versions[*]}"
  image_id "$base"
  cat "$standin" "$checker" "$root/testbed/standins/headplane/README.md"
  (cd "$(yaml_dir)" && find . -name '*.py' -print0 | sort -z | xargs -0 sha256sum)
  declare -f build save
}

work=""
cleanup() {
  [[ -z $work ]] || rm -rf "$work"
}
trap cleanup EXIT

# One `docker build` per version from a generated Dockerfile; the versions share every
# layer but their ENV (legacy builder: no buildx/BuildKit needed, FROM is the local image).
build() {
  local hash=$1 version previous
  work=$(mktemp -d "$imgcache/.headplane-standin.XXXXXX")
  mkdir -p "$work/opt/headplane-standin/lib/yaml"
  install -m 0755 "$standin" "$work/opt/headplane-standin/headplane_standin.py"
  install -m 0644 "$checker" "$work/opt/headplane-standin/headplane_config.py"
  install -m 0644 "$root/testbed/standins/headplane/README.md" "$work/opt/headplane-standin/README.md"
  (cd "$(yaml_dir)" && find . -name '*.py' -exec install -m 0644 -D {} "$work/opt/headplane-standin/lib/yaml/{}" \;)
  cat >"$work/Dockerfile" <<EOF_DOCKERFILE
FROM $base
COPY opt/ /opt/
RUN mkdir -p /etc/headplane /var/lib/headplane
ENV container= PYTHONPATH=/opt/headplane-standin/lib
WORKDIR /var/lib/headplane
ENTRYPOINT ["/usr/bin/python3", "/opt/headplane-standin/headplane_standin.py"]
CMD []
HEALTHCHECK --interval=3s --timeout=5s --start-period=30s --retries=5 \\
  CMD ["/usr/bin/python3", "/opt/headplane-standin/headplane_standin.py", "--probe"]
LABEL $label=$hash org.selfhosted.testbed.standin=headplane
ARG VERSION
ENV STANDIN_HEADPLANE_VERSION=\$VERSION
LABEL org.selfhosted.testbed.standin.headplane-version=\$VERSION
EOF_DOCKERFILE
  for version in "${versions[@]}"; do
    previous=$(image_id "$repo:$version")
    DOCKER_BUILDKIT=0 docker build --quiet --build-arg "VERSION=$version" -t "$repo:$version" "$work" >/dev/null
    if [[ -n $previous && $previous != "$(image_id "$repo:$version")" ]]; then
      docker rmi "$previous" >/dev/null 2>&1 || true
    fi
  done
}

save() {
  local tags=() version
  for version in "${versions[@]}"; do tags+=("$repo:$version"); done
  docker save -o "$tarball.part" "${tags[@]}"
  chmod 0644 "$tarball.part"
  mv "$tarball.part" "$tarball"
  for version in "${versions[@]}"; do image_id "$repo:$version"; done >"$tarball.id"
}

saved_ids() { for version in "${versions[@]}"; do image_id "$repo:$version"; done; }

main() {
  command -v docker >/dev/null || die "docker is not installed"
  if [[ -z $(image_id "$base") ]]; then
    log "$base is missing: Headplane stand-in not built (testbed/build-images.sh debian-13 builds it)"
    return 0
  fi
  [[ -x $python ]] || die "$python not found (run make setup, or set TESTBED_PYTHON)"
  mkdir -p "$imgcache"
  # Our own lock: build-images.sh holds its .lock while it calls this script.
  exec 8>"$imgcache/.headplane-standin.lock"
  flock 8
  local hash version fresh=1
  hash=$(recipe | sha256sum | cut -c1-16)
  for version in "${versions[@]}"; do
    [[ $rebuild != 1 && $(image_recipe "$repo:$version") == "$hash" ]] || fresh=0
  done
  if [[ $fresh == 1 && -f $tarball && -f $tarball.id && $(cat "$tarball.id") == "$(saved_ids)" ]]; then
    log "$repo:{${versions[*]}} up to date ($hash), saved as ${tarball#"$root"/}"
    return 0
  fi
  if [[ $fresh != 1 ]]; then build "$hash"; fi
  save
  log "$repo:{${versions[*]}} built ($hash), saved as ${tarball#"$root"/}"
}

main "$@"
