#!/usr/bin/env bash
# Builds the tiny bootable guest the qemu tests boot under TCG: a Debian cloud kernel
# and a busybox-static initramfs whose /init prints a boot marker on the serial console
# and a busybox-static initramfs whose /init prints a boot marker on the serial console,
# powers off when the ACPI power button is pressed, loads the virtio block and balloon
# drivers and prints a line on the serial console for every block device that appears
# or goes (hot plug tests); a virtio NIC, when present, is configured by busybox udhcpc
# (the lease and a ping of the router go to the console).
#
# Usage: build-tiny-guest.sh [OUTDIR]   (default: target/tiny-guest)
# Produces OUTDIR/vmlinuz and OUTDIR/initrd.gz; does nothing when both exist.
# Needs: apt-get (to download linux-image-*-cloud-amd64), dpkg-deb, busybox-static, cpio, gzip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../../target/tiny-guest}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
# Bumped whenever the guest's /init changes, so a cached older build is redone.
version=5
if [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.gz" ] && [ "$(cat "$out/version" 2>/dev/null)" = "$version" ]; then
    exit 0
fi
for tool in busybox cpio gzip dpkg-deb apt-get; do
    command -v "$tool" >/dev/null || { echo "missing $tool (install busybox-static, cpio)" >&2; exit 1; }
done
busybox_bin="$(command -v busybox)"
if ! file -L "$busybox_bin" 2>/dev/null | grep -q "statically linked"; then
    [ -x /bin/busybox ] && busybox_bin=/bin/busybox
fi

work="$(mktemp -d "$out/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"

# Newest cloud kernel package the archive offers.
pkg="$(apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-cloud-amd64$' | awk '{print $1}' | sort -V | tail -n 1)"
[ -n "$pkg" ] || { echo "no linux-image-*-cloud-amd64 package found (apt-get update?)" >&2; exit 1; }
apt-get download "$pkg" >/dev/null
dpkg-deb -x ./*.deb pkgroot
kernel="$(ls pkgroot/boot/vmlinuz-* | head -n 1)"
moddir="$(ls -d pkgroot/lib/modules/* | head -n 1)"

root="$work/initramfs"
mkdir -p "$root"/{bin,dev,proc,sys,modules}
cp "$busybox_bin" "$root/bin/busybox"
for m in kernel/drivers/input/evdev.ko kernel/drivers/acpi/button.ko \
         kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko \
         kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko \
         kernel/drivers/virtio/virtio_pci.ko kernel/net/core/failover.ko \
         kernel/drivers/net/net_failover.ko kernel/drivers/net/virtio_net.ko \
         kernel/drivers/block/virtio_blk.ko kernel/drivers/virtio/virtio_balloon.ko; do
    src="$moddir/$m"
    if [ -f "$src.xz" ]; then xz -dc "$src.xz" >"$root/modules/$(basename "$m")";
    elif [ -f "$src" ]; then cp "$src" "$root/modules/";
    fi
done
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in evdev button virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
         virtio_pci virtio_blk virtio_balloon failover net_failover virtio_net; do
    [ -f /modules/$m.ko ] && insmod /modules/$m.ko
done
# Block devices present at boot, then one serial line per device added or removed.
# Each virtio disk's first 32 bytes (letters, digits and dashes only) are printed
# once, so tests can check what the guest reads from a disk.
disk_data() {
    case "$1" in vd*) echo "TINY-GUEST-DISK-DATA $1 $(head -c 32 /dev/$1 | tr -cd 'A-Za-z0-9-')" >/dev/ttyS0 ;; esac
}
ls /sys/block >/blocks.seen
for d in $(cat /blocks.seen); do disk_data "$d"; done
(
    while true; do
        ls /sys/block >/blocks.now
        for d in $(cat /blocks.now); do
            grep -qx "$d" /blocks.seen || { echo "TINY-GUEST-DISK-ADDED $d" >/dev/ttyS0; disk_data "$d"; }
        done
        for d in $(cat /blocks.seen); do
            grep -qx "$d" /blocks.now || echo "TINY-GUEST-DISK-REMOVED $d" >/dev/ttyS0
        done
        mv /blocks.now /blocks.seen
        sleep 0.2
    done
) &
# Each listener holds its event device open before the boot marker is printed, so
# a power button pressed as soon as the marker is seen is never lost.
n=0
for ev in /dev/input/event*; do
    n=$((n + 1))
    ( : >/listening.$n; dd bs=96 count=1 >/dev/null 2>&1; echo "TINY-GUEST-POWEROFF" >/dev/ttyS0; poweroff -f ) <"$ev" &
done
i=0
while [ "$i" -lt "$n" ]; do
    i=$((i + 1))
    while [ ! -e /listening.$i ]; do sleep 0.05; done
done
echo "TINY-GUEST-BOOTED" >/dev/ttyS0
if [ -e /sys/class/net/eth0 ]; then
    ip link set lo up
    ip link set eth0 up
    ( udhcpc -i eth0 -s /bin/dhcp-event -q -t 30 -T 2 -A 2 >/dev/null 2>&1 ) &
fi
while true; do sleep 3600; done
INIT
chmod +x "$root/init"
cat >"$root/bin/dhcp-event" <<'EVENT'
#!/bin/busybox sh
case "$1" in
bound|renew)
    ip addr add "$ip/${mask:-24}" dev "$interface"
    echo "TINY-GUEST-DHCP $ip" >/dev/ttyS0
    if ping -c 3 -W 2 "$router" >/dev/null 2>&1; then
        echo "TINY-GUEST-PING-OK $router" >/dev/ttyS0
    fi
    ;;
esac
exit 0
EVENT
chmod +x "$root/bin/dhcp-event"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"
cp "$kernel" "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$work/initrd.gz" "$out/initrd.gz"
echo "$version" >"$out/version"
echo "tiny guest ready in $out"
