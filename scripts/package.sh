#!/usr/bin/env bash
# Packages the Wohnungserhalt Hub for city IT, into target/package/:
#   wohnungserhalt-hub_<version>-1_<arch>.deb  cargo-deb 3, configured in hub/Cargo.toml [package.metadata.deb]
#   wohnungserhalt-hub.oci.tar                 OCI archive: the release binary, the shared libraries it links and
#                                              the dynamic loader; no base image, no network (buildah, vfs, as root)
#
# Usage:
#   scripts/package.sh                          cargo build, .deb, image, image checks
#   scripts/package.sh --image-only [--binary PATH]
#                                               only the image (and its checks) from PATH (default
#                                               target/release/hub); runs no cargo at all. A stand-in such as
#                                               /usr/bin/env tests the pipeline without compiling.
# Environment: HUB_BINARY=PATH is the same as --binary; CARGO_TARGET_DIR is honoured. PODMAN_RUN_OPTS adds options
# to the `podman run` check, e.g. in a container without cgroup v2 and with a low descriptor limit:
#   PODMAN_RUN_OPTS="--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
# SKIP_IMAGE_RUN=1 skips that check (the chroot check of the image's files still runs).
# Needs: cargo (not with --image-only), dpkg-deb, ldd, buildah; skopeo and podman for the checks, if installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET_DIR/package"
IMAGE_ARCHIVE="$OUT/wohnungserhalt-hub.oci.tar"
IMAGE_NAME="localhost/wohnungserhalt-hub"
# The non-root user of the image (the "nonroot" id of distroless images): never uid 0, never a host user.
IMAGE_UID=65532

die() { echo "package.sh: error: $*" >&2; exit 1; }
step() { echo "==> $*"; }
need() { command -v "$1" >/dev/null || die "$1 not found: $2"; }

IMAGE_ONLY=0
BINARY="${HUB_BINARY:-}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --image-only) IMAGE_ONLY=1 ;;
        --binary) [[ $# -ge 2 ]] || die "--binary needs a path"; BINARY="$2"; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
[[ -n "$BINARY" && $IMAGE_ONLY -eq 0 ]] && die "--binary/HUB_BINARY only goes with --image-only (the .deb always packages the release build)"
BINARY="${BINARY:-$TARGET_DIR/release/hub}"

# The workspace version ([workspace.package] version), for the image tag and label.
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)"
[[ -n "$VERSION" ]] || die "no version = \"...\" found in $ROOT/Cargo.toml"
mkdir -p "$OUT"
cd "$ROOT"

# ---------------------------------------------------------------------------------------------------------------
# 1. Release build and Debian package
# ---------------------------------------------------------------------------------------------------------------
if [[ $IMAGE_ONLY -eq 0 ]]; then
    need cargo "install the Rust toolchain (rustup)"
    need dpkg-deb "apt-get install dpkg"
    step "cargo build --release --locked -p hub -p hubctl (the test kit and hub-demo are not part of it)"
    cargo build --release --locked -p hub -p hubctl || die "cargo build failed"

    # cargo-deb 3: the `[package.metadata.deb]` keys used in hub/Cargo.toml are documented for 3.x.
    if ! cargo deb --version 2>/dev/null | grep -q ' 3\.'; then
        step "installing cargo-deb 3 (cargo install cargo-deb --locked --version ^3)"
        cargo install cargo-deb --locked --version '^3' || die "cargo install cargo-deb failed"
    fi
    # --no-build: package exactly the binaries built above; --locked: cargo metadata must not touch Cargo.lock.
    # --strip: the release profile keeps line tables for `perf`; the package does not need them.
    step "cargo deb -p hub --no-build --locked --strip --output $OUT/"
    deb_out="$(cargo deb -p hub --no-build --locked --strip --output "$OUT/")" || die "cargo deb failed"
    DEB="$(printf '%s\n' "$deb_out" | grep '\.deb$' | tail -n1)"
    [[ -n "$DEB" && -f "$DEB" ]] || die "cargo deb printed no .deb path (output: $deb_out)"
    echo "Debian package: $DEB"
    step "dpkg-deb --info"
    dpkg-deb --info "$DEB" || die "dpkg-deb --info failed on $DEB"
    step "dpkg-deb --contents"
    dpkg-deb --contents "$DEB" || die "dpkg-deb --contents failed on $DEB"
fi

# ---------------------------------------------------------------------------------------------------------------
# 2. OCI image from the binary, without a base image
# ---------------------------------------------------------------------------------------------------------------
[[ -f "$BINARY" && -x "$BINARY" ]] || die "no executable binary at $BINARY (build first, or pass --image-only --binary PATH)"
need ldd "apt-get install libc-bin"
need buildah "apt-get install buildah (as root; vfs storage, no daemon needed)"
[[ $EUID -eq 0 ]] || die "buildah here runs as root with vfs storage; run as root (or in a root container)"

WORK="$(mktemp -d)"
# Own storage under $WORK: nothing is left in the host's /var/lib/containers, and no daemon is needed.
BUILDAH=(buildah --root "$WORK/storage" --runroot "$WORK/run" --storage-driver vfs)
PODMAN=(podman --root "$WORK/storage-podman" --runroot "$WORK/run-podman" --storage-driver vfs)
CTR=""
cleanup() {
    [[ -n "$CTR" ]] && "${BUILDAH[@]}" rm "$CTR" >/dev/null 2>&1 || true
    # vfs layers can contain read-only directories; make them removable first.
    chmod -R u+w "$WORK" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

step "staging the image's file system from $BINARY"
FS="$WORK/rootfs"
install -d -m 0755 "$FS/usr/bin" "$FS/etc"
install -m 0755 "$BINARY" "$FS/usr/bin/hub"
# The release profile keeps line tables for `perf` (docs/benchmarks.md); the image does not need them.
if command -v strip >/dev/null; then strip --strip-debug "$FS/usr/bin/hub" 2>/dev/null || true; fi
# The shared libraries (glibc, libgcc_s, ...) and the loader, at the paths ldd resolves them to; -L copies the files
# behind symlinks. A static binary has none (glibc's ldd: "statically linked" or "not a dynamic executable").
ldd_rc=0
ldd_out="$(ldd "$BINARY" 2>&1)" || ldd_rc=$?
if printf '%s' "$ldd_out" | grep -q 'statically linked\|not a dynamic executable'; then
    echo "    static binary: no shared libraries"
elif [[ $ldd_rc -ne 0 ]]; then
    die "ldd $BINARY failed: $ldd_out"
else
    libs="$(printf '%s\n' "$ldd_out" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u)"
    [[ -n "$libs" ]] || die "ldd listed no libraries for $BINARY: $ldd_out"
    for lib in $libs; do
        [[ -e "$lib" ]] || die "ldd names $lib, which does not exist"
        install -d -m 0755 "$FS$(dirname "$lib")"
        cp -L "$lib" "$FS$lib"
        echo "    $lib"
    done
fi
# Names for the numeric user (logs, `id`); /data is the volume for the database, PKI and keys.
printf 'root:x:0:0:root:/root:/sbin/nologin\nhub:x:%s:%s:Wohnungserhalt Hub:/data:/sbin/nologin\n' \
    "$IMAGE_UID" "$IMAGE_UID" >"$FS/etc/passwd"
printf 'root:x:0:\nhub:x:%s:\n' "$IMAGE_UID" >"$FS/etc/group"
install -d -m 0750 -o "$IMAGE_UID" -g "$IMAGE_UID" "$FS/data"
# Libraries may want a temporary directory.
install -d -m 1777 "$FS/tmp"

step "buildah: from scratch, copy, config, commit"
CTR="$("${BUILDAH[@]}" from scratch)" || die "buildah from scratch failed"
# As root with vfs, mount is a plain directory: cp -a keeps the modes and the owner of /data exactly.
MNT="$("${BUILDAH[@]}" mount "$CTR")" || die "buildah mount failed"
cp -a "$FS/." "$MNT/" || die "copying the staged files into the container failed"
step "chroot check: /usr/bin/hub --version on the image's files alone, as uid $IMAGE_UID"
# The image's files alone must run the binary (libraries and loader complete), as the image's user: checked here
# with chroot, which needs no container runtime.
chroot --userspec="$IMAGE_UID:$IMAGE_UID" "$MNT" /usr/bin/hub --version \
    || die "the binary does not run inside the image's file system (missing library or loader?)"
"${BUILDAH[@]}" umount "$CTR" >/dev/null
# Inside a container the hub must listen on all addresses to be reachable through published ports (its defaults
# are 127.0.0.1). The user is numeric so that runtimes can check "not root" without reading /etc/passwd.
"${BUILDAH[@]}" config \
    --entrypoint '["/usr/bin/hub"]' --cmd serve \
    --env HUB_DATA_DIR=/data --env HUB_LOG_FORMAT=json \
    --env HUB_LISTEN=0.0.0.0:50051 --env HUB_DASHBOARD_LISTEN=0.0.0.0:8444 \
    --created-by "scripts/package.sh (binary, its shared libraries and loader; no base image)" \
    --user "$IMAGE_UID:$IMAGE_UID" --workingdir /data --volume /data \
    --port 50051/tcp --port 8444/tcp --port 8443/tcp \
    --label org.opencontainers.image.title=wohnungserhalt-hub \
    --label org.opencontainers.image.version="$VERSION" \
    --label org.opencontainers.image.licenses=EUPL-1.2 \
    --label org.opencontainers.image.description="Wohnungserhalt Hub: consent-based referral and messaging hub" \
    "$CTR" || die "buildah config failed"
"${BUILDAH[@]}" commit --format oci --quiet "$CTR" "$IMAGE_NAME:$VERSION" >/dev/null || die "buildah commit failed"
rm -f "$IMAGE_ARCHIVE"
"${BUILDAH[@]}" push --quiet "$IMAGE_NAME:$VERSION" "oci-archive:$IMAGE_ARCHIVE:$IMAGE_NAME:$VERSION" \
    || die "buildah push to oci-archive:$IMAGE_ARCHIVE failed"
echo "OCI image: $IMAGE_ARCHIVE ($IMAGE_NAME:$VERSION, $(du -h "$IMAGE_ARCHIVE" | cut -f1))"

# ---------------------------------------------------------------------------------------------------------------
# 3. Checks of the archive: skopeo reads it, podman loads and runs it (`hub --version`, no network)
# ---------------------------------------------------------------------------------------------------------------
if command -v skopeo >/dev/null; then
    step "skopeo inspect oci-archive:$IMAGE_ARCHIVE"
    skopeo inspect --config "oci-archive:$IMAGE_ARCHIVE" || die "skopeo cannot read $IMAGE_ARCHIVE"
else
    echo "    (skopeo not installed: archive not inspected)"
fi
if command -v podman >/dev/null; then
    step "podman load -i $IMAGE_ARCHIVE"
    loaded="$("${PODMAN[@]}" load -i "$IMAGE_ARCHIVE")" || die "podman cannot load $IMAGE_ARCHIVE"
    echo "$loaded"
    if [[ "${SKIP_IMAGE_RUN:-}" == 1 ]]; then
        echo "    (SKIP_IMAGE_RUN=1: not started)"
    else
        # PODMAN_RUN_OPTS: extra options for hosts whose defaults fail (see the header).
        read -r -a run_opts <<<"${PODMAN_RUN_OPTS:-}"
        step "podman run --rm --network=none --read-only ${run_opts[*]} $IMAGE_NAME:$VERSION --version"
        "${PODMAN[@]}" run --rm --network=none --read-only "${run_opts[@]}" "$IMAGE_NAME:$VERSION" --version \
            || die "the image does not start under podman (see above); PODMAN_RUN_OPTS adds options, SKIP_IMAGE_RUN=1 skips this check"
    fi
    "${PODMAN[@]}" rmi -a -f >/dev/null 2>&1 || true
else
    echo "    (podman not installed: archive not loaded or run)"
fi
step "done: artefacts in $OUT"
