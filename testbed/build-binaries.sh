#!/usr/bin/env bash
# Build the real programs the tests run, from the pinned Go modules in testbed/go/.
#
#   testbed/build-binaries.sh                  # the default set (what `make test` needs; testbed/versions.env)
#   TESTBED_MATRIX=full testbed/build-binaries.sh   # every supported version, plus arm64
#   TESTBED_FLEET=1 testbed/build-binaries.sh  # the default set plus what molecule/fleet runs
#   testbed/build-binaries.sh headscale-0.27.1 tailscale-1.80.3:arm64   # explicit targets
#   testbed/build-binaries.sh demo             # only what `make demo` needs
#
# Binaries land in .testbed/bin/<program>-<version>-<arch>/ (git-ignored). A target is
# rebuilt only when its go.mod/go.sum or its build flags change. Every binary (also one that
# is up to date) must report its pinned version AND carry that version of its Go module in its
# build info (`go version -m`), or the script fails: the reported version alone is stamped by
# -ldflags from the target name, so it would prove nothing about the code that was built.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gomods="$root/testbed/go"
cache="${TESTBED_CACHE:-$root/.testbed}"

# The versions come from testbed/versions.env (also read by build-images.sh and the
# integration harness). The default set is what `make test` runs: the integration matrix,
# the headscale versions between its ends (molecule/upgrade steps through them), Caddy (the
# caddy role's native mode and the Caddy image) and Pebble (the ACME CA of the TLS tests).
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$root/testbed/versions.env"
# targets_of PROGRAM SUFFIX "VERSION VERSION...": one target a line.
targets_of() {
  local v versions
  read -ra versions <<<"$3"
  for v in "${versions[@]}"; do printf '%s\n' "$1-$v$2"; done
}
mapfile -t default_targets < <(
  targets_of headscale "" "$HEADSCALE_DEFAULT $HEADSCALE_UPGRADE"
  targets_of tailscale "" "$TAILSCALE_DEFAULT"
  targets_of caddy "" "$CADDY_VERSION"
  targets_of pebble "" "$PEBBLE_VERSION"
)
# molecule/fleet adds these (TESTBED_FLEET=1; the full matrix has them anyway).
mapfile -t fleet_targets < <(
  targets_of tailscale "" "$TAILSCALE_FLEET"
  targets_of tailscale :arm64 "$TAILSCALE_ARM64"
)
mapfile -t full_targets < <(
  targets_of headscale "" "$HEADSCALE_FULL"
  targets_of tailscale "" "$TAILSCALE_FULL"
  targets_of tailscale :arm64 "$TAILSCALE_ARM64"
  targets_of caddy "" "$CADDY_VERSION"
  targets_of pebble "" "$PEBBLE_VERSION"
)

# `demo`: what `make demo` (molecule/mesh) runs, the newest default headscale and the default
# tailscale, Caddy and Pebble.
demo_targets=(
  "headscale-${HEADSCALE_DEFAULT##* }" "tailscale-${TAILSCALE_DEFAULT%% *}" "caddy-$CADDY_VERSION" "pebble-$PEBBLE_VERSION"
)

# Go packages (relative to the module) and how each program reports its version.
commands_of() {
  case "$1" in
    headscale) echo "github.com/juanfont/headscale/cmd/headscale" ;;
    tailscale) echo "tailscale.com/cmd/tailscale tailscale.com/cmd/tailscaled" ;;
    caddy) echo "github.com/caddyserver/caddy/v2/cmd/caddy" ;;
    pebble) echo "github.com/letsencrypt/pebble/v2/cmd/pebble" ;;
  esac
}

ldflags_of() {
  local program=$1 version=$2
  case "$program" in
    # headscale 0.26 reads its version from an ldflag (.goreleaser.yml); 0.27+ from
    # Go build info, which still works when headscale is built as a dependency.
    headscale) echo "-s -w -X github.com/juanfont/headscale/hscontrol/types.Version=v$version" ;;
    # tailscale's release builds stamp version.longStamp/shortStamp (build_dist.sh).
    tailscale) echo "-s -w -X tailscale.com/version.longStamp=$version -X tailscale.com/version.shortStamp=$version" ;;
    # Caddy reports "unknown" when built as a dependency (no VCS info) unless stamped.
    caddy) echo "-s -w -X github.com/caddyserver/caddy/v2.CustomVersion=v$version" ;;
    pebble) echo "-s -w -X main.version=v$version" ;;
    *) echo "-s -w" ;;
  esac
}

# The Go module whose version the build info must show (a `dep` line, or `mod` when the
# program is the main module).
module_of() {
  case "$1" in
    headscale) echo "github.com/juanfont/headscale" ;;
    tailscale) echo "tailscale.com" ;;
    caddy) echo "github.com/caddyserver/caddy/v2" ;;
    pebble) echo "github.com/letsencrypt/pebble/v2" ;;
  esac
}

reported_version() {
  local program=$1 dir=$2
  case "$program" in
    headscale) "$dir/headscale" version 2>/dev/null | head -n 3 ;;
    tailscale) "$dir/tailscale" version 2>/dev/null | head -n 1; "$dir/tailscaled" --version 2>/dev/null | head -n 1 ;;
    caddy) "$dir/caddy" version 2>/dev/null | head -n 1 ;;
    pebble) "$dir/pebble" -version 2>&1 | head -n 1 ;;
  esac
}

# Module version recorded in the build info of every binary of the target: one line per binary.
built_module_versions() {
  local program=$1 dir=$2 module bin
  module=$(module_of "$program")
  for bin in "$dir"/*; do
    [[ -f $bin && -x $bin ]] || continue
    printf '%s %s\n' "$(basename "$bin")" \
      "$(go version -m "$bin" | awk -v m="$module" '($1 == "dep" || $1 == "mod") && $2 == m { print $3; exit }')"
  done
}

check_target() {
  local program=$1 version=$2 arch=$3 target=$4 out=$5 line
  while read -r line; do
    if [[ ${line#* } != "v$version" ]]; then
      echo "testbed: $target: build info of ${line%% *} has $(module_of "$program") '${line#* }', not v$version (remove $out to rebuild)" >&2
      return 1
    fi
  done < <(built_module_versions "$program" "$out")
  if [[ $arch == amd64 ]]; then
    local reported
    reported=$(reported_version "$program" "$out")
    if ! grep -q -- "$version" <<<"$reported"; then
      echo "testbed: $target reports '$reported', not $version (remove $out to rebuild)" >&2
      return 1
    fi
    echo "testbed: $target reports $(head -n 1 <<<"$reported" | tr -s ' '), build info v$version"
  else
    file "$out"/* | grep -q "ARM aarch64" || { echo "testbed: $target is not an arm64 binary" >&2; return 1; }
    echo "testbed: $target ($arch): build info v$version"
  fi
}

build_target() {
  local target=$1 arch=amd64
  if [[ $target == *:* ]]; then arch=${target#*:}; target=${target%%:*}; fi
  local program=${target%%-*} version=${target#*-}
  local module="$gomods/$target"
  [[ -f $module/go.mod ]] || { echo "testbed: no pinned module at $module" >&2; return 1; }
  local out="$cache/bin/$target-$arch"
  local stamp
  stamp=$( { cat "$module/go.mod" "$module/go.sum"; echo "$arch $(commands_of "$program") $(ldflags_of "$program" "$version")"; } |
    sha256sum | cut -c1-16)
  if [[ -f $out/.stamp && $(cat "$out/.stamp") == "$stamp" ]]; then
    echo "testbed: $target ($arch) is up to date"
    check_target "$program" "$version" "$arch" "$target" "$out"
    return
  fi
  echo "testbed: building $target ($arch)"
  mkdir -p "$out"
  local pkg
  for pkg in $(commands_of "$program"); do
    (cd "$module" && CGO_ENABLED=0 GOOS=linux GOARCH=$arch GOFLAGS=-mod=mod \
      go build -trimpath -o "$out/$(basename "$pkg")" -ldflags "$(ldflags_of "$program" "$version")" "$pkg")
  done
  check_target "$program" "$version" "$arch" "$target" "$out"
  echo "$stamp" >"$out/.stamp"
}

targets=("$@")
if [[ ${targets[*]} == demo ]]; then targets=("${demo_targets[@]}"); fi
if [[ ${#targets[@]} -eq 0 ]]; then
  if [[ ${TESTBED_MATRIX:-default} == full ]]; then
    targets=("${full_targets[@]}")
  else
    targets=("${default_targets[@]}")
    [[ ${TESTBED_FLEET:-0} != 1 ]] || targets+=("${fleet_targets[@]}")
  fi
fi
for target in "${targets[@]}"; do build_target "$target"; done
