#!/usr/bin/env bash
# Builds the tiny bootable guest the qemu tests boot under TCG: a Debian cloud kernel
# and a busybox-static initramfs whose /init prints a boot marker on the serial console,
# powers off when the ACPI power button is pressed, loads the virtio block and balloon
# drivers and prints a line on the serial console for every block device that appears
# or goes (hot plug tests); a virtio NIC, when present, is configured by busybox udhcpc
# (the lease and a ping of the router go to the console). Debian's qemu-guest-agent
# (qemu-ga, with the shared libraries it links) answers on the virtio-serial port
# org.qemu.guest_agent.0 when the guest has one; ext4 disks present at boot are
# mounted under /mnt so the agent has filesystems to report, freeze and thaw.
# With tinyguest.mailbox=<dev>
# on the kernel command line the guest polls the first sector of that disk (direct
# reads): a first line "<seq> <command>" with a new seq runs the shell command and
# prints "TINY-GUEST-MAILBOX <seq> <output on one line>" on the console (disk I/O tests).
# With tinyguest.counter it prints "TINY-GUEST-COUNTER n" every half second (migration tests).
#
# Usage: build-tiny-guest.sh [OUTDIR]   (default: target/tiny-guest)
# Produces OUTDIR/vmlinuz and OUTDIR/initrd.gz; does nothing when both exist.
# Needs: apt-get (to download linux-image-*-cloud-amd64 and qemu-guest-agent), dpkg-deb,
# ldd and the agent's libraries on the host (libglib2.0-0, libnuma1, liburing2, libudev1), busybox-static, cpio, gzip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../../target/tiny-guest}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
# Bumped whenever the guest's /init changes, so a cached older build is redone.
version=11
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
mkdir agent
(cd agent && apt-get download qemu-guest-agent >/dev/null && dpkg-deb -x ./*.deb pkgroot)

root="$work/initramfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,modules,etc,mnt,run,tmp,var/run}
cp "$busybox_bin" "$root/bin/busybox"
# The agent and every shared library it loads (the guest's libraries are the host's:
# both are Debian 12 amd64).
cp agent/pkgroot/usr/sbin/qemu-ga "$root/usr/sbin/qemu-ga"
if ldd agent/pkgroot/usr/sbin/qemu-ga | grep -q "not found"; then
    ldd agent/pkgroot/usr/sbin/qemu-ga >&2
    echo "qemu-ga needs libraries the host lacks (install libglib2.0-0 libnuma1 liburing2 libudev1)" >&2
    exit 1
fi
for lib in $(ldd agent/pkgroot/usr/sbin/qemu-ga | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'NAME="Tiny Guest"\nID=tinyguest\nPRETTY_NAME="Tiny Guest 5"\nVERSION_ID="5"\nVERSION="5"\n' >"$root/etc/os-release"
# qemu-ga shuts the guest down or reboots it with /sbin/shutdown -h -P|-r +0 and
# waits for that to return, so the power-off happens just after.
cat >"$root/sbin/shutdown" <<'SHUTDOWN'
#!/bin/busybox sh
action=poweroff
for arg in "$@"; do
    [ "$arg" = "-r" ] && action=reboot
done
echo "TINY-GUEST-AGENT-$action" >/dev/ttyS0
( sleep 0.3; sync; $action -f ) >/dev/null 2>&1 &
exit 0
SHUTDOWN
chmod +x "$root/sbin/shutdown"
# guest-set-user-password pipes "user:password" lines to chpasswd (-e: already
# hashed), which busybox-static lacks.
cat >"$root/usr/sbin/chpasswd" <<'CHPASSWD'
#!/bin/busybox sh
crypted=0
[ "$1" = "-e" ] && crypted=1
while IFS= read -r line; do
    user="${line%%:*}"
    hash="${line#*:}"
    [ "$crypted" = 1 ] || hash="$(mkpasswd -m sha512 "$hash")"
    case "$user$hash" in *"|"*|*"&"*|*"\\"*) exit 1 ;; esac
    grep -q "^$user:" /etc/shadow || exit 1
    sed -i "s|^$user:[^:]*:|$user:$hash:|" /etc/shadow
done
CHPASSWD
chmod +x "$root/usr/sbin/chpasswd"
# The agent's freeze hook: one serial line per freeze and thaw.
mkdir -p "$root/etc/qemu"
cat >"$root/etc/qemu/fsfreeze-hook" <<'HOOK'
#!/bin/busybox sh
echo "TINY-GUEST-FSFREEZE $1" >/dev/ttyS0
exit 0
HOOK
chmod +x "$root/etc/qemu/fsfreeze-hook"
# guest-set-time calls /sbin/hwclock by that path.
ln -s /bin/busybox "$root/sbin/hwclock"
for m in kernel/drivers/input/evdev.ko kernel/drivers/acpi/button.ko \
         kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko \
         kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko \
         kernel/drivers/virtio/virtio_pci.ko kernel/net/core/failover.ko \
         kernel/drivers/net/net_failover.ko kernel/drivers/net/virtio_net.ko \
         kernel/drivers/block/virtio_blk.ko kernel/drivers/virtio/virtio_balloon.ko \
         kernel/drivers/char/virtio_console.ko; do
    src="$moddir/$m"
    if [ -f "$src.xz" ]; then xz -dc "$src.xz" >"$root/modules/$(basename "$m")";
    elif [ -f "$src" ]; then cp "$src" "$root/modules/";
    fi
done
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in evdev button virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
         virtio_pci virtio_blk virtio_balloon failover net_failover virtio_net virtio_console; do
    [ -f /modules/$m.ko ] && insmod /modules/$m.ko
done
hostname tiny-guest
ip link set lo up
# ext4 disks present at boot, mounted for the guest agent's filesystem commands.
for d in $(ls /sys/block); do
    mkdir -p /mnt/$d
    mount -t ext4 /dev/$d /mnt/$d 2>/dev/null || rmdir /mnt/$d
done
# The guest agent, when the domain has its channel (virtio_console makes the port's
# name appear under /sys a moment after the module loads) and the kernel command
# line does not say tiny_guest_no_agent.
grep -qw tiny_guest_no_agent /proc/cmdline || (
    for i in $(seq 50); do
        for port in /sys/class/virtio-ports/*; do
            [ "$(cat $port/name 2>/dev/null)" = "org.qemu.guest_agent.0" ] || continue
            /usr/sbin/qemu-ga -m virtio-serial -p /dev/$(basename $port) -t /run \
                -F/etc/qemu/fsfreeze-hook >/dev/null 2>&1 &
            exit 0
        done
        sleep 0.1
    done
) &
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
# Commands from the host through the first sector of a disk (see the header).
mailbox="$(sed -n 's/.*tinyguest\.mailbox=\([a-z0-9]*\).*/\1/p' /proc/cmdline)"
if [ -n "$mailbox" ]; then
    (
        last=""
        while true; do
            line="$(dd if=/dev/$mailbox bs=512 count=1 iflag=direct 2>/dev/null | tr -d '\000' | head -n 1)"
            seq="${line%% *}"
            if [ -n "$line" ] && [ "$seq" != "$last" ]; then
                last="$seq"
                out="$(sh -c "${line#* }" 2>&1 | tr '\n' ' ')"
                echo "TINY-GUEST-MAILBOX $seq $out" >/dev/ttyS0
            fi
            sleep 0.2
        done
    ) &
fi
# With tinyguest.counter on the kernel command line, a line "TINY-GUEST-COUNTER n"
# every half second, n counting from 1 since boot: a migrated guest's count goes on
# where it was, a restarted one begins again at 1.
if grep -qw tinyguest.counter /proc/cmdline; then
    ( c=0; while true; do c=$((c + 1)); echo "TINY-GUEST-COUNTER $c" >/dev/ttyS0; sleep 0.5; done ) &
fi
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
