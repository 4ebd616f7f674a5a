#!/usr/bin/env bash
# Builds (once) the minimal Debian 12 tree the real-systemd tests boot with
# systemd-nspawn: systemd as PID 1, dbus, virsh, QEMU and the tools the
# scenario scripts use, from Debian's packages (mmdebstrap, no recommends).
#
# Usage: build-root.sh OUT.tar
# Does nothing when OUT.tar exists and was built from the same package list.
# MIRROR (default: the first deb.debian.org-style URI in this machine's apt
# sources, else http://deb.debian.org/debian) picks the archive.
set -euo pipefail
out="$1"
packages="systemd,systemd-sysv,dbus,libvirt-clients,qemu-system-x86,qemu-utils,procps,iproute2,busybox-static,polkitd,adduser"
stamp="$out.packages"
mkdir -p "$(dirname "$out")"
# Tests running at once build it once.
exec 9>"$out.lock"
flock 9
if [ -s "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$packages" ]; then
    exit 0
fi
command -v mmdebstrap >/dev/null || { echo "missing mmdebstrap (Debian package mmdebstrap)" >&2; exit 1; }
if [ -z "${MIRROR:-}" ]; then
    MIRROR="$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | awk '{print $2}' | head -n 1 || true)"
    MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi
log="$out.log"
if ! mmdebstrap --variant=apt --format=tar --include="$packages" bookworm "$out.tmp" \
        "deb $MIRROR bookworm main" >"$log" 2>&1; then
    rm -f "$out.tmp"
    echo "mmdebstrap could not build the Debian 12 root from $MIRROR (is the mirror reachable? set MIRROR=...); log:" >&2
    tail -n 20 "$log" >&2
    exit 1
fi
mv "$out.tmp" "$out"
echo "$packages" >"$stamp"
