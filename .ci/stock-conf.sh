#!/bin/sh
# Fetch Debian 12's stock libvirtd.conf, qemu.conf and lxc.conf into DIR for the
# config_stock tests (daemon/tests/config_stock.rs), which read them from
# $LIBVIRT_STOCK_CONF_DIR. The files stay out of the repository.
#
# usage: .ci/stock-conf.sh DIR
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
mkdir -p "$1"
dest=$(cd "$1" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt drops privileges to _apt for downloads; let it write here.
chmod 0777 "$work"

cd "$work"
apt-get download -q \
    libvirt-daemon-system \
    libvirt-daemon-driver-qemu \
    libvirt-daemon-driver-lxc
for deb in ./*.deb; do
    dpkg -x "$deb" extracted
done

for name in libvirtd.conf qemu.conf lxc.conf; do
    cp "extracted/etc/libvirt/$name" "$dest/$name"
done
echo "stock configuration files in $dest: libvirtd.conf qemu.conf lxc.conf"
