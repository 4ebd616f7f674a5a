#!/usr/bin/env bash
# Installs this tree's daemon, libvirt-guests and units into an unpacked
# Debian root (see build-root.sh) and sets up one of the two documented ways
# of running it. The test then adds the scenario (boot-scenario, see
# systemd_support::install_scenario) and boots it twice under systemd-nspawn:
#
#   boot 1: a tiny QEMU guest is defined and started, then `systemctl
#           poweroff`; libvirt-guests stop must save it (ON_SHUTDOWN=suspend)
#   boot 2: libvirt-guests start restores it; the scenario records its state
#
# Usage: prepare-boot.sh ROOT MODE BIN_DIR GUEST_DIR
#   MODE      socket       the shipped units, sockets enabled (Debian's default)
#             traditional  sockets masked, LIBVIRTD_ARGS="", libvirtd.service
#                          enabled and libvirt-guests.service copied to
#                          /etc/systemd/system with After=libvirtd.service, as
#                          libvirtd(8) tells administrators
#   BIN_DIR   directory with libvirtd, libvirt-guests and libvirt_lxc
#   GUEST_DIR directory with the tiny guest's vmlinuz and initrd.gz
set -euo pipefail
root="$1" mode="$2" bin_dir="$3" guest_dir="$4"
here="$(cd "$(dirname "$0")" && pwd)"
workspace="$(cd "$here/../../.." && pwd)"

make -s -C "$workspace" install DESTDIR="$root" UNITDIR=/lib/systemd/system \
    BIN="$bin_dir/libvirtd" UNIT_BUILD="$root/../units" >/dev/null

mkdir -p "$root/var/lib/libvirt/images"
cp "$guest_dir/vmlinuz" "$guest_dir/initrd.gz" "$here/g1.xml" "$root/var/lib/libvirt/images/"
cat >"$root/etc/default/libvirt-guests" <<'CONF'
ON_BOOT=start
ON_SHUTDOWN=suspend
CONF

wants() { # TARGET UNIT: what `systemctl enable` does, done offline
    mkdir -p "$root/etc/systemd/system/$1.wants"
    ln -sf "/lib/systemd/system/$2" "$root/etc/systemd/system/$1.wants/$2"
}
wants multi-user.target libvirt-guests.service
case "$mode" in
socket)
    wants multi-user.target libvirtd.service
    for s in libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket; do
        wants sockets.target "$s"
    done
    ;;
traditional)
    wants multi-user.target libvirtd.service
    for s in libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket \
             libvirtd-tcp.socket libvirtd-tls.socket; do
        ln -sf /dev/null "$root/etc/systemd/system/$s"
    done
    echo 'LIBVIRTD_ARGS=""' >"$root/etc/default/libvirtd"
    # The override libvirtd(8) documents for this mode.
    sed 's/^After=virt-guest-shutdown.target$/&\nAfter=libvirtd.service/' \
        "$root/lib/systemd/system/libvirt-guests.service" \
        >"$root/etc/systemd/system/libvirt-guests.service"
    grep -qx 'After=libvirtd.service' "$root/etc/systemd/system/libvirt-guests.service"
    ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac
