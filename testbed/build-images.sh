#!/usr/bin/env bash
# Build the container images of the test bed, without a registry: debootstrap + docker import.
#
#   testbed/build-images.sh                       # default set: debian 12 + 13, service images
#   TESTBED_FLEET=1 testbed/build-images.sh       # adds debian:12-arm64 (qemu-user), for molecule/fleet
#   TESTBED_MATRIX=full testbed/build-images.sh   # adds it too
#   testbed/build-images.sh debian-12 services    # explicit targets:
#        debian-12 debian-13 debian-12-arm64 services (headscale, caddy, pebble, Headplane stand-in images + tarballs)
#   TESTBED_REBUILD=1 testbed/build-images.sh     # ignore every cache (cold build)
#
# Images (all labelled org.selfhosted.testbed.recipe=<hash of their recipe>):
#   selfhosted-testbed/debian:12, :13, :12-arm64   systemd as PID 1 (CMD /lib/systemd/systemd)
#   selfhosted-testbed/headscale:<ver>             from .testbed/bin/headscale-<ver>-amd64/ (versions:
#                                                  testbed/versions.env, as build-binaries.sh)
#   selfhosted-testbed/caddy:2.11.9                from .testbed/bin/caddy-2.11.9-amd64/
#   selfhosted-testbed/pebble:2.9.0                from .testbed/bin/pebble-2.9.0-amd64/ (the lab's ACME CA)
# Caches (git-ignored): .testbed/images/rootfs-*.tar (debootstrap results, reused when only
# testbed/images/debian-setup.sh changes), and
# .testbed/images/<name>-<ver>.tar (`docker save` of the service images, for `docker load`),
# .testbed/images/pebble-<ver>-tls-ca.pem (the CA of Pebble's own HTTPS certificate, copied
# out of the current image).
# An image whose label matches the current recipe hash is left alone ("up to date").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
recipes="$root/testbed/images"
cache="${TESTBED_CACHE:-$root/.testbed}"
imgcache="$cache/images"
bindir="$cache/bin"
repo=selfhosted-testbed
label=org.selfhosted.testbed.recipe
rebuild=${TESTBED_REBUILD:-0}

log() { printf 'testbed: %s\n' "$*"; }
die() { printf 'testbed: error: %s\n' "$*" >&2; exit 1; }

# The Debian archive apt uses on this machine (the only reachable mirror), unless
# TESTBED_DEBIAN_MIRROR says otherwise. deb822 "URIs:" and one-line "deb" entries.
debian_mirror() {
  if [[ -n ${TESTBED_DEBIAN_MIRROR:-} ]]; then echo "$TESTBED_DEBIAN_MIRROR"; return; fi
  local files=() f uri
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && files+=("$f")
  done
  uri=$( {
    sed -n 's/^[[:space:]]*URIs:[[:space:]]*//p' "${files[@]}" | tr ' ' '\n'
    sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "${files[@]}"
  } | grep -E '/debian/?$' | head -n 1)
  [[ -n $uri ]] || die "no Debian archive found in apt sources; set TESTBED_DEBIAN_MIRROR"
  echo "${uri%/}"
}

suite_of() {
  case "$1" in
    12) echo bookworm ;;
    13) echo trixie ;;
    *) die "unknown Debian release $1" ;;
  esac
}

packages() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$recipes/packages-debian.txt" | tr -s ' \n' ',' | sed 's/,$//'; }

# The recipe hash of an image: everything that shapes it, including the bash functions
# that build it, so editing the recipe rebuilds and editing unrelated code does not.
recipe_hash() { sha256sum | cut -c1-16; }

# After a rebuild, drop the image the tag pointed to before (unless a container uses it).
drop_replaced() {
  local old=$1 image=$2
  [[ -n $old && $old != "$(docker image inspect -f '{{.Id}}' "$image")" ]] || return 0
  docker rmi "$old" >/dev/null 2>&1 || true
}

image_recipe() { docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$1" 2>/dev/null || true; }

up_to_date() {
  local image=$1 hash=$2
  [[ $rebuild != 1 && $(image_recipe "$image") == "$hash" ]]
}

# Make binfmt_misc run arm64 programs through qemu-aarch64-static (needed for the second
# debootstrap stage and for running the arm64 image).
ensure_binfmt_arm64() {
  if [[ ! -e /proc/sys/fs/binfmt_misc/status ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc"
  fi
  if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
    update-binfmts --enable qemu-aarch64 || die "cannot enable qemu-aarch64 in binfmt_misc"
  fi
  [[ $(head -n 1 /proc/sys/fs/binfmt_misc/qemu-aarch64) == enabled ]] || die "qemu-aarch64 binfmt entry is disabled"
}

# Setuid programs (sudo: molecule/fleet's arm64 nodes become root with it) need the kernel
# to take credentials from the program, not from qemu: flag C (with O, which it implies).
# Debian registers qemu-aarch64 with "credentials no"; register it again with C. Kept out
# of ensure_binfmt_arm64, which is part of the rootfs recipe: this changes no image.
binfmt_credentials_arm64() {
  local entry=/proc/sys/fs/binfmt_misc/qemu-aarch64 interpreter magic mask
  ensure_binfmt_arm64
  grep -q '^flags: .*C' "$entry" && return 0
  interpreter=$(sed -n 's/^interpreter //p' "$entry")
  magic=$(sed -n 's/^magic //p' "$entry" | sed 's/../\\x&/g')
  mask=$(sed -n 's/^mask //p' "$entry" | sed 's/../\\x&/g')
  echo -1 >"$entry"
  printf ':qemu-aarch64:M::%s:%s:%s:OCPF' "$magic" "$mask" "$interpreter" >/proc/sys/fs/binfmt_misc/register ||
    die "cannot register qemu-aarch64 with credentials (flag C) in binfmt_misc"
}

# Stage 1, the slow part: debootstrap a Debian root into a tarball, cached by the hash of
# what debootstrap gets (release, architecture, mirror, packages).
build_rootfs() {
  local release=$1 arch=$2 tarball=$3 mirror=$4
  local suite work stale
  suite=$(suite_of "$release")
  for stale in "$imgcache/.rootfs-$release-$arch".*; do remove_tree "$stale"; done
  work=$(mktemp -d "$imgcache/.rootfs-$release-$arch.XXXXXX")
  local args=(--variant=minbase --arch="$arch" --include="$(packages)")
  if [[ $arch != amd64 ]]; then
    ensure_binfmt_arm64
    debootstrap --foreign "${args[@]}" "$suite" "$work" "$mirror" >"$work.log" 2>&1 ||
      die "debootstrap (first stage) failed, see $work.log"
    install -m 0755 /usr/bin/qemu-aarch64-static "$work/usr/bin/qemu-aarch64-static"
    chroot "$work" /debootstrap/debootstrap --second-stage >>"$work.log" 2>&1 ||
      die "debootstrap (second stage) failed, see $work.log"
  else
    debootstrap "${args[@]}" "$suite" "$work" "$mirror" >"$work.log" 2>&1 ||
      die "debootstrap failed, see $work.log"
  fi
  tar --numeric-owner --xattrs -C "$work" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  remove_tree "$work"
}

# Stage 2, seconds: unpack the root, run testbed/images/debian-setup.sh in it (chroot;
# through qemu for arm64), and import it as the image.
build_image_from_rootfs() {
  local image=$1 release=$2 arch=$3 hash=$4 tarball=$5 mirror=$6
  local work stale suite
  suite=$(suite_of "$release")
  for stale in "$imgcache/.setup-$release-$arch".*; do remove_tree "$stale"; done
  work=$(mktemp -d "$imgcache/.setup-$release-$arch.XXXXXX")
  tar --numeric-owner --xattrs -C "$work" -xf "$tarball"
  [[ $arch == amd64 ]] || ensure_binfmt_arm64
  install -m 0755 "$recipes/debian-setup.sh" "$work/tmp/debian-setup.sh"
  chroot "$work" /tmp/debian-setup.sh "$suite" "$mirror" "${mirror%/debian}/debian-security" "$arch" >"$work.log" 2>&1 ||
    die "debian-setup.sh failed, see $work.log"
  rm -f "$work/tmp/debian-setup.sh"
  tar --numeric-owner --xattrs -C "$work" -cf - . |
    docker import \
      --change 'CMD ["/lib/systemd/systemd"]' \
      --change 'ENV container=docker' \
      --change 'ENV LANG=C.UTF-8' \
      --change "LABEL $label=$hash" \
      --message "selfhosted test bed: Debian $release $arch systemd image, recipe $hash" \
      - "$image" >/dev/null
  remove_tree "$work"
}

# rm -rf of a build root, after unmounting whatever a failed debootstrap left mounted in it.
remove_tree() {
  local dir=$1 mnt
  [[ -e $dir ]] || return 0
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
  rm -rf --one-file-system "$dir" "$dir.log"
}

build_debian() {
  local release=$1 arch=${2:-amd64}
  local tag=$release
  [[ $arch == amd64 ]] || tag="$release-$arch"
  local image="$repo/debian:$tag" mirror rootfs_hash hash
  mirror=$(debian_mirror)
  rootfs_hash=$( {
    echo "debian-rootfs v1 $release $arch $mirror"
    packages
    declare -f build_rootfs ensure_binfmt_arm64
  } | recipe_hash)
  hash=$( {
    echo "debian-systemd v1 $rootfs_hash"
    cat "$recipes/debian-setup.sh"
    declare -f build_image_from_rootfs
  } | recipe_hash)
  if up_to_date "$image" "$hash"; then
    log "$image up to date ($hash)"
    return 0
  fi
  local tarball="$imgcache/rootfs-debian-$tag-$rootfs_hash.tar" start=$SECONDS
  if [[ $rebuild == 1 || ! -f $tarball ]]; then
    log "$image: debootstrap $(suite_of "$release")/$arch from $mirror"
    rm -f "$imgcache"/rootfs-debian-"$tag"-*.tar
    build_rootfs "$release" "$arch" "$tarball" "$mirror"
  fi
  local previous
  previous=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  build_image_from_rootfs "$image" "$release" "$arch" "$hash" "$tarball" "$mirror"
  drop_replaced "$previous" "$image"
  log "$image built ($hash) in $((SECONDS - start))s"
}

# A minimal root for a static Go program: the binary, CA certificates, passwd/group and
# the directories the program writes to. Prints nothing; fills directory $1.
minimal_root() {
  local dir=$1
  mkdir -p "$dir"/{etc/ssl/certs,tmp,root,usr/local/bin}
  chmod 1777 "$dir/tmp"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
  printf 'hosts: files dns\n' >"$dir/etc/nsswitch.conf"
}

# Import a prepared root as a service image, then `docker save` it for offline installs.
import_service() {
  local image=$1 dir=$2 hash=$3 tarball=$4
  shift 4
  local changes=() c previous
  for c in "$@"; do changes+=(--change "$c"); done
  previous=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  tar --numeric-owner --owner=0 --group=0 -C "$dir" -cf - . |
    docker import "${changes[@]}" --change "LABEL $label=$hash" \
      --message "selfhosted test bed: $image, recipe $hash" - "$image" >/dev/null
  drop_replaced "$previous" "$image"
  docker save -o "$tarball.part" "$image" && chmod 0644 "$tarball.part" && mv "$tarball.part" "$tarball"
  docker image inspect -f '{{.Id}}' "$image" >"$tarball.id"
}

# The saved tarball must hold the current image too (the roles `docker load` it).
saved_up_to_date() {
  local image=$1 tarball=$2
  [[ -f $tarball && -f $tarball.id && $(cat "$tarball.id") == "$(docker image inspect -f '{{.Id}}' "$image")" ]]
}

# What differs between the service images: the folders and files of the root, and the
# image settings (one `docker import --change` each).
headscale_layout() {
  mkdir -p "$1"/{etc/headscale,var/lib/headscale,var/run/headscale}
}
headscale_changes() {
  printf '%s\n' 'ENV PATH=/usr/local/bin' 'ENTRYPOINT ["/usr/local/bin/headscale"]' 'CMD ["serve"]' \
    'WORKDIR /var/lib/headscale'
}
caddy_layout() {
  mkdir -p "$1"/{etc/caddy,config/caddy,data/caddy,srv}
  printf ':80 {\n\trespond "selfhosted-testbed caddy"\n}\n' >"$1/etc/caddy/Caddyfile"
}
# Like the official image: no entrypoint, `caddy run` as the command.
caddy_changes() {
  printf '%s\n' 'ENV PATH=/usr/local/bin' 'ENV XDG_CONFIG_HOME=/config' 'ENV XDG_DATA_HOME=/data' \
    'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]' 'WORKDIR /srv' \
    'EXPOSE 80 443 443/udp'
}

# Pebble, Let's Encrypt's ACME test CA, set up for the lab: ACME directory on :14000
# (https://pebble:14000/dir), management on :15000 (/roots/0 is the root that signs the
# issued certificates; Pebble makes a new one at every start), HTTP-01 and TLS-ALPN-01
# validation on the real ports 80 and 443, no artificial validation delays or nonce
# rejections. Its own HTTPS certificate is made here with openssl for the names the lab
# gives it (network alias `pebble`, DNS names pebble.lab.test and acme.lab.test) and is
# signed by a CA made for this image only; that CA's key is thrown away, its certificate is
# /etc/pebble/tls/ca.pem (clients of the ACME API trust it: Caddy's acme_ca_root). Nothing
# of this is committed. By default Pebble resolves names with the container's resolver
# (Docker's, which knows the containers and their aliases); a scenario points it at the lab
# resolver with the command `-config /etc/pebble/pebble-config.json -dnsserver ADDR:53`.
pebble_layout() {
  local dir=$1 tls=$1/etc/pebble/tls work
  mkdir -p "$tls"
  work=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=selfhosted testbed Pebble TLS CA" -keyout "$work/ca.key" -out "$tls/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=pebble" \
    -keyout "$tls/key.pem" -out "$work/leaf.csr" 2>/dev/null
  printf '%s\n' 'subjectAltName=DNS:pebble,DNS:pebble.lab.test,DNS:acme.lab.test,DNS:localhost,IP:127.0.0.1' \
    'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' >"$work/ext"
  openssl x509 -req -in "$work/leaf.csr" -CA "$tls/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -days 3650 -extfile "$work/ext" -out "$tls/cert.pem" 2>/dev/null
  rm -rf "$work"
  chmod 0644 "$tls/ca.pem" "$tls/cert.pem"
  chmod 0600 "$tls/key.pem"
  cat >"$dir/etc/pebble/pebble-config.json" <<'JSON'
{
  "pebble": {
    "listenAddress": "0.0.0.0:14000",
    "managementListenAddress": "0.0.0.0:15000",
    "certificate": "/etc/pebble/tls/cert.pem",
    "privateKey": "/etc/pebble/tls/key.pem",
    "httpPort": 80,
    "tlsPort": 443,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false,
    "retryAfter": {"authz": 1, "order": 1},
    "keyAlgorithm": "ecdsa",
    "profiles": {"default": {"description": "selfhosted test bed", "validityPeriod": 7776000}}
  }
}
JSON
}
pebble_changes() {
  printf '%s\n' 'ENV PATH=/usr/local/bin' 'ENV PEBBLE_VA_NOSLEEP=1' 'ENV PEBBLE_WFE_NONCEREJECT=0' \
    'ENTRYPOINT ["/usr/local/bin/pebble"]' 'CMD ["-config", "/etc/pebble/pebble-config.json"]' \
    'WORKDIR /' 'EXPOSE 14000 15000'
}

# Pebble's TLS CA out of the current image, next to its tarball (the tests hand it to Caddy
# and to their own clients of the ACME API).
export_pebble_tls_ca() {
  local image=$1 out=$2 cid
  cid=$(docker create "$image")
  docker cp "$cid:/etc/pebble/tls/ca.pem" "$out.part" >/dev/null && chmod 0644 "$out.part" && mv "$out.part" "$out"
  docker rm "$cid" >/dev/null
}

# A service image from a static binary in .testbed/bin/<program>-<version>-amd64/.
build_service() {
  local program=$1 bin=$2 version
  version=$(basename "$(dirname "$bin")")
  version=${version#"$program"-}
  version=${version%-amd64}
  local image="$repo/$program:$version" tarball="$imgcache/$program-$version.tar" hash
  hash=$( {
    echo "$program-image v1 $version"
    cat "$(dirname "$bin")/.stamp"
    sha256sum <"$bin"
    declare -f minimal_root import_service build_service "${program}_layout" "${program}_changes"
  } | recipe_hash)
  if up_to_date "$image" "$hash" && saved_up_to_date "$image" "$tarball"; then
    log "$image up to date ($hash), saved as ${tarball#"$root"/}"
    return 0
  fi
  local dir changes
  dir=$(mktemp -d "$imgcache/.$program-$version.XXXXXX")
  minimal_root "$dir"
  "${program}_layout" "$dir"
  install -m 0755 "$bin" "$dir/usr/local/bin/$program"
  mapfile -t changes < <("${program}_changes")
  import_service "$image" "$dir" "$hash" "$tarball" "${changes[@]}"
  rm -rf "$dir"
  log "$image built ($hash), saved as ${tarball#"$root"/}"
}

# Service images that scenarios and tests load: headscale images of the matrix's versions
# in testbed/versions.env (the container scenarios and tests/integration run
# HEADSCALE_DEFAULT, molecule/upgrade's container-mode server also steps through
# HEADSCALE_UPGRADE; TESTBED_MATRIX=full every version), Caddy, Pebble and the Headplane
# stand-in. A missing binary is named. A finished build has its .stamp.
build_services() {
  local bin version versions
  # shellcheck source-path=SCRIPTDIR source=versions.env
  source "$root/testbed/versions.env"
  if [[ ${TESTBED_MATRIX:-default} == full ]]; then
    read -ra versions <<<"$HEADSCALE_FULL"
  else
    read -ra versions <<<"$HEADSCALE_DEFAULT $HEADSCALE_UPGRADE"
  fi
  for version in "${versions[@]}"; do
    bin="$bindir/headscale-$version-amd64/headscale"
    if [[ -x $bin && -f $(dirname "$bin")/.stamp ]]; then
      build_service headscale "$bin"
    else
      log "warning: headscale $version is not built (${bin#"$root"/}): run testbed/build-binaries.sh"
    fi
  done
  bin="$bindir/caddy-$CADDY_VERSION-amd64/caddy"
  if [[ -x $bin && -f $(dirname "$bin")/.stamp ]]; then build_service caddy "$bin"; fi
  bin="$bindir/pebble-$PEBBLE_VERSION-amd64/pebble"
  if [[ -x $bin && -f $(dirname "$bin")/.stamp ]]; then
    build_service pebble "$bin"
    export_pebble_tls_ca "$repo/pebble:$PEBBLE_VERSION" "$imgcache/pebble-$PEBBLE_VERSION-tls-ca.pem"
  fi
  "$root/testbed/standins/build-headplane-standin.sh" # Headplane STAND-IN images (not Headplane), FROM debian:13
}

main() {
  command -v docker >/dev/null || die "docker is not installed"
  mkdir -p "$imgcache"
  # One build at a time (pytest-xdist workers each call this script).
  exec 9>"$imgcache/.lock"
  flock 9
  local targets=("$@")
  if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(debian-12 debian-13)
    [[ ${TESTBED_MATRIX:-default} != full && ${TESTBED_FLEET:-0} != 1 ]] || targets+=(debian-12-arm64)
    targets+=(services)
  fi
  local t
  for t in "${targets[@]}"; do
    case "$t" in
      debian-12 | debian-13) build_debian "${t#debian-}" amd64 ;;
      debian-12-arm64) binfmt_credentials_arm64 && build_debian 12 arm64 ;;
      services) build_services ;;
      *) die "unknown target $t (debian-12, debian-13, debian-12-arm64, services)" ;;
    esac
  done
  # Untagged images of earlier recipes, once no container uses them any more.
  docker image prune --force --filter "label=$label" >/dev/null
}

main "$@"
