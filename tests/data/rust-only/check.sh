#!/usr/bin/env bash
# Shows that ./run-tests needs nothing on a Debian 12 machine but Rust: in a
# minimal Debian 12 root (mmdebstrap --variant=apt: apt and dpkg, no compiler,
# no libvirt, no QEMU) with this machine's Rust toolchain bind-mounted
# read-only and a copy of the source tree, ./run-tests installs the Debian
# packages of .ci/packages by itself (apt inside the root, from the Debian
# mirror), fetches the stock configuration files, builds, and runs the tests
# named by the arguments (default: -p integration-tests --test lifecycle,
# which starts the daemon and drives it with virsh).
#
# Usage (as root): check.sh [cargo test arguments]
#   check.sh                      # the short proof CI runs
#   check.sh --workspace          # everything (long: the whole suite)
#
# Network: only apt inside the root reaches the Debian mirror; cargo runs
# offline from the bind-mounted ~/.cargo. The mounts live in a private mount
# namespace and go with it. The root is built once and kept, as are the build
# directory and the stock configuration files, under target/rust-only/ (or
# RUST_ONLY_DIR). RUST_ONLY_TARGET names another build directory to use in the
# root (CI passes the tree's own target/, whose dependencies are then not
# compiled twice). MIRROR picks the Debian mirror as in build-root.sh.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
work="${RUST_ONLY_DIR:-$repo/target/rust-only}"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
[ $# -gt 0 ] || set -- -p integration-tests --test lifecycle

fail() {
    echo "rust-only: $*" >&2
    exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (chroot, mounts)"
command -v mmdebstrap >/dev/null || fail "missing mmdebstrap (Debian package mmdebstrap)"
command -v unshare >/dev/null || fail "missing unshare (Debian package util-linux)"
[ -x "$cargo_home/bin/cargo" ] || fail "no Rust toolchain in $cargo_home (rustup)"
[ -d "$rustup_home/toolchains" ] || fail "no rustup toolchains in $rustup_home"
build_dir="${RUST_ONLY_TARGET:-$work/target}"
mkdir -p "$work" "$build_dir"

# The minimal root, built once.
base="$work/debian12-apt.tar"
exec 9>"$base.lock"
flock 9
if [ ! -s "$base" ]; then
    if [ -z "${MIRROR:-}" ]; then
        MIRROR="$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
            awk '{print $2}' | head -n 1 || true)"
        MIRROR="${MIRROR:-http://deb.debian.org/debian}"
    fi
    mmdebstrap --variant=apt --format=tar bookworm "$base.tmp" "deb $MIRROR bookworm main" \
        >"$base.log" 2>&1 || { tail -n 20 "$base.log" >&2; fail "mmdebstrap failed (mirror $MIRROR)"; }
    mv "$base.tmp" "$base"
fi

root="$(mktemp -d "$work/root.XXXXXX")"
trap 'rm -rf --one-file-system "$root"' EXIT
tar -xf "$base" -C "$root"
for tool in cc make virsh qemu-system-x86_64; do
    if chroot "$root" /bin/sh -c "command -v $tool" >/dev/null; then
        fail "the fresh root already has $tool: not a Rust-only machine"
    fi
done

# The source tree as git knows it (tracked files of the working tree), no build output,
# at the same path as here: the root's build artefacts are then those of this tree
# (cargo names a workspace member's artefacts by its path relative to the workspace),
# never a copy's that a later build here could take for its own.
# Extracted with fresh modification times (-m): the kept build directory must not
# take a changed file for one older than its last build.
mkdir -p "$root$repo/target" "$root/root/.cargo" "$root/root/.rustup"
git -C "$repo" ls-files -z --cached --others --exclude-standard |
    (cd "$repo" && tar --null --no-recursion -T - -cf -) | tar -m -xf - -C "$root$repo"
cp /etc/resolv.conf "$root/etc/resolv.conf"

unshare --mount --propagation private /bin/bash -euo pipefail -s -- "$root" "$repo" "$build_dir" \
    "$cargo_home" "$rustup_home" "$@" <<'INNER'
root="$1" repo="$2" target="$3" cargo_home="$4" rustup_home="$5"
shift 5
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind -o ro /sys "$root/sys" 2>/dev/null || mount --rbind /sys "$root/sys"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
mount --bind "$target" "$root$repo/target"
mount --bind "$cargo_home" "$root/root/.cargo"
mount -o remount,bind,ro "$root/root/.cargo"
mount --bind "$rustup_home" "$root/root/.rustup"
mount -o remount,bind,ro "$root/root/.rustup"
exec env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CARGO_HOME=/root/.cargo RUSTUP_HOME=/root/.rustup CARGO_NET_OFFLINE=true \
    chroot "$root" /bin/bash -c 'cd "$0" && ./run-tests "$@"' "$repo" "$@"
INNER
echo "rust-only: ./run-tests $* passed in a Debian 12 root that had only Rust"
