#!/usr/bin/env bash
# Build the nodebgp image with podman, without pulling anything: the Dockerfile's Node.js base is made here
# from Debian's packages and the npm registry, the two sources this machine reaches.
#
#   scripts/image.sh [build] [--arch amd64|arm64] [--tag TAG]   the local base (if missing), then the image
#   scripts/image.sh base    [--arch amd64|arm64]               the local base only; prints its name
#
# The last line printed is the image's (or the base's) name. As root, on Debian 12 (scripts/setup.sh installs
# podman and debootstrap).
#
# The local base stands in for node:20-bookworm-slim:
#   - `debootstrap --variant=minbase bookworm` from the Debian mirror apt uses here, trimmed the way Debian's
#     slim images are (no docs, man pages or locales; apt keeps no package lists or .debs);
#   - Node.js from the npm package node-linux-<arch> at this machine's Node.js version (it ships the binary),
#     and npm from the npm package `npm` at this machine's npm version;
#   - the certificate authorities this machine's npm trusts (`npm config get cafile`), with NODE_EXTRA_CA_CERTS
#     and npm_config_cafile pointing at them, so npm inside the build reaches the registry the way npm here
#     does. The bundle goes into the local base only: nothing here is committed or published.
# It is imported as localhost/nodebgp-base:<node version>-bookworm-<arch> and passed to the Dockerfile as
# NODE_IMAGE, so no name of a published image is shadowed. It is cached twice: in podman's image store
# (labelled with what it was made from, so a change of Node.js, npm or CA bundle makes a new one), and as a
# tarball under $NODEBGP_IMAGE_CACHE (default .cache/image/ in the repo, gitignored), which a wiped image
# store re-imports instead of running debootstrap again.
#
# podman builds with `--isolation chroot`: RUN steps work without a container runtime (this machine's crun
# cannot start containers: setrlimit is refused) and use the host's network.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,10p' "$0"; }
die() { echo "image.sh: $*" >&2; exit 1; }
say() { echo "image.sh: $*" >&2; }

MODE=build
ARCH=$(dpkg --print-architecture)
TAG=
while [ $# -gt 0 ]; do
  case "$1" in
    build | base) MODE=$1 ;;
    --arch) ARCH=${2:?--arch needs amd64 or arm64}; shift ;;
    --tag) TAG=${2:?--tag needs a name}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
case "$ARCH" in
  amd64) NODE_ARCH=x64 ;;
  arm64) NODE_ARCH=arm64 ;;
  *) die "unsupported --arch $ARCH (amd64 or arm64)" ;;
esac
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and podman's image store need it)"
for cmd in podman debootstrap node npm; do
  command -v "$cmd" >/dev/null || die "$cmd is missing: run scripts/setup.sh"
done
TAG=${TAG:-localhost/nodebgp:dev-$ARCH}

SUITE=bookworm
NODE_VERSION=$(node --version | sed 's/^v//')
NPM_VERSION=$(npm --version)
CAFILE=$(npm config get cafile)
case "$CAFILE" in null | undefined | "") CAFILE= ;; esac
[ -z "$CAFILE" ] || [ -r "$CAFILE" ] || die "npm's cafile $CAFILE is not readable"
CACHE=${NODEBGP_IMAGE_CACHE:-$PWD/.cache/image}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

# The Debian mirror apt uses here (deb822 .sources or one-line .list), and apt's proxy if it has one.
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # One stanza per paragraph: the first whose Suites has the release itself (not -security/-updates).
    awk -v suite="$SUITE" '
      /^[[:space:]]*$/ { if (uris != "" && hit) { print uris; exit } uris = ""; hit = 0; next }
      /^URIs:/ { split($0, a, /[[:space:]]+/); uris = a[2] }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
      END { if (uris != "" && hit) print uris }
    ' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk -v suite="$SUITE" '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; s = ($2 ~ /^\[/) ? $4 : $3; if (s == suite) print u }' "$f"
  done
}
MIRROR=$(debian_mirror | head -1)
APT_PROXY=
eval "$(apt-config shell APT_PROXY Acquire::http::Proxy)"

BASE_RECIPE=1 # bump when the way the base is made changes
CA_SUM=$( [ -n "$CAFILE" ] && sha256sum "$CAFILE" | cut -c1-16 || echo none)
BASE_KEY="recipe=$BASE_RECIPE suite=$SUITE arch=$ARCH node=$NODE_VERSION npm=$NPM_VERSION ca=$CA_SUM"
BASE=localhost/nodebgp-base:$NODE_VERSION-$SUITE-$ARCH
BASE_TAR=$CACHE/base-$NODE_VERSION-$SUITE-$ARCH-npm$NPM_VERSION-ca$CA_SUM-r$BASE_RECIPE.tar

base_is_current() {
  [ "$(podman image inspect --format '{{ index .Labels "io.nodebgp.base" }}' "$BASE" 2>/dev/null)" = "$BASE_KEY" ]
}

make_rootfs() {
  local root=$1 foreign=()
  if [ "$ARCH" != "$(dpkg --print-architecture)" ]; then
    # A foreign rootfs runs its second stage under qemu: binfmt_misc must know the architecture.
    [ -e "/proc/sys/fs/binfmt_misc/qemu-aarch64" ] ||
      die "building for $ARCH needs qemu-user-static registered with binfmt_misc (/proc/sys/fs/binfmt_misc/qemu-aarch64)"
    foreign=(--arch "$ARCH")
  fi
  say "debootstrap --variant=minbase $SUITE from ${MIRROR:-the default mirror of debootstrap} (about a minute)"
  env ${APT_PROXY:+http_proxy=$APT_PROXY} debootstrap --variant=minbase "${foreign[@]}" \
    "$SUITE" "$root" ${MIRROR:+"$MIRROR"} >"$CACHE/debootstrap.log" 2>&1 ||
    die "debootstrap failed: see $CACHE/debootstrap.log"

  # Slim: what Debian's slim images leave out, also for packages installed later in the image.
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
    "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
  cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
  cat >"$root/etc/apt/apt.conf.d/slim" <<'EOF'
APT::Install-Recommends "false";
Binary::apt::APT::Keep-Downloaded-Packages "false";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  [ -z "$APT_PROXY" ] || echo "Acquire::http::Proxy \"$APT_PROXY\";" >"$root/etc/apt/apt.conf.d/proxy"

  # Node.js and npm where the official node images have them.
  local pkgs
  pkgs=$(mktemp -d "$CACHE/npm-XXXXXX")
  say "node-linux-$NODE_ARCH@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
  (cd "$pkgs" && npm pack --silent "node-linux-$NODE_ARCH@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$pkgs/node-linux-$NODE_ARCH-$NODE_VERSION.tgz" -C "$pkgs" package/bin/node
  install -m 0755 "$pkgs/package/bin/node" "$root/usr/local/bin/node"
  rm -rf "$pkgs/package"
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$pkgs/npm-$NPM_VERSION.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  rm -rf "$pkgs"

  if [ -n "$CAFILE" ]; then
    mkdir -p "$root/usr/local/share/nodebgp-build"
    cp "$CAFILE" "$root/usr/local/share/nodebgp-build/npm-ca.pem"
  fi
}

make_base() {
  if base_is_current; then
    say "local base $BASE is current"
    return
  fi
  if [ ! -s "$BASE_TAR" ]; then
    ROOTFS=$(mktemp -d "$CACHE/rootfs-XXXXXX")
    # debootstrap mounts /proc and /sys inside while it works; an interrupted run must not leave them.
    trap 'umount -R "$ROOTFS/proc" "$ROOTFS/sys" 2>/dev/null || true; rm -rf --one-file-system "$ROOTFS" "$BASE_TAR.part"' EXIT
    make_rootfs "$ROOTFS"
    tar --numeric-owner -C "$ROOTFS" -cf "$BASE_TAR.part" .
    mv "$BASE_TAR.part" "$BASE_TAR"
    rm -rf --one-file-system "$ROOTFS"
    trap - EXIT
  else
    say "importing the cached rootfs $BASE_TAR"
  fi
  local changes=(
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    --change "CMD [\"node\"]"
    --change "LABEL io.nodebgp.base=\"$BASE_KEY\""
  )
  if [ -n "$CAFILE" ]; then
    changes+=(
      --change "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/nodebgp-build/npm-ca.pem"
      --change "ENV npm_config_cafile=/usr/local/share/nodebgp-build/npm-ca.pem"
    )
  fi
  podman import --quiet --arch "$ARCH" "${changes[@]}" "$BASE_TAR" "$BASE" >/dev/null
  base_is_current || die "podman import did not produce $BASE with label $BASE_KEY"
  say "local base $BASE imported"
}

make_base
if [ "$MODE" = base ]; then
  echo "$BASE"
  exit 0
fi

say "podman build $TAG on $BASE"
podman build --isolation chroot --pull=never --network host --arch "$ARCH" \
  --build-arg "NODE_IMAGE=$BASE" \
  --ignorefile deploy/Dockerfile.dockerignore \
  -f deploy/Dockerfile -t "$TAG" . >&2
# Every change of the sources leaves the previous build's untagged stage images behind (the layer cache). Keep
# a day of them, so repeated builds stay warm and the image store stays bounded.
podman image prune --force --filter until=24h >/dev/null || true
echo "$TAG"
