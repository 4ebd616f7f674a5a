#!/usr/bin/env bash
# Builds the Debian package from already built binaries: stages `make
# install` with Debian's paths, adds the package's own files (configuration
# templates, default network, documentation, maintainer scripts), strips the
# binaries, and runs dpkg-deb. Called by `make deb`; see the Makefile.
#
# Usage: build-deb.sh OUTDIR BIN GUESTS_BIN LXC_BIN
# Writes OUTDIR/libvirtd-rs_<version>_<arch>.deb and prints its path.
set -euo pipefail
out="$1" bin="$2" guests_bin="$3" lxc_bin="$4"
here="$(cd "$(dirname "$0")" && pwd)"
workspace="$(cd "$here/.." && pwd)"
for tool in dpkg-deb dpkg-shlibdeps strip gzip; do
    command -v "$tool" >/dev/null || { echo "missing $tool (Debian packages dpkg-dev, binutils, gzip)" >&2; exit 1; }
done

name=libvirtd-rs
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$workspace/Cargo.toml" | head -n 1)"
arch="$(dpkg --print-architecture)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage"

make -s -C "$workspace" install DESTDIR="$stage" PREFIX=/usr \
    UNITDIR=/lib/systemd/system DOCDIR=/usr/share/doc/$name \
    BIN="$bin" GUESTS_BIN="$guests_bin" LXC_BIN="$lxc_bin" \
    UNIT_BUILD="$out/units" >/dev/null

# Configuration files the package owns (conffiles).
install -m 0644 "$here/conf/qemu.conf" "$stage/etc/libvirt/qemu.conf"
install -m 0644 "$here/conf/lxc.conf" "$stage/etc/libvirt/lxc.conf"
install -m 0644 "$here/conf/secret.conf" "$stage/etc/libvirt/secret.conf"
install -d "$stage/etc/default"
install -m 0644 "$here/conf/libvirt-guests" "$stage/etc/default/libvirt-guests"
# The default network's template, copied to /etc by postinst (as Debian's
# libvirt-daemon-config-network does).
install -d "$stage/usr/share/libvirt/networks"
install -m 0644 "$here/conf/default.xml" "$stage/usr/share/libvirt/networks/default.xml"

# Debian policy: stripped binaries, compressed manual pages and changelog,
# a copyright file, lintian overrides.
for f in "$stage/usr/sbin/libvirtd" "$stage/usr/lib/libvirt/libvirt-guests" \
         "$stage/usr/lib/libvirt/libvirt_lxc"; do
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$f"
done
find "$stage/usr/share/man" -type f -exec gzip -9n {} +
doc="$stage/usr/share/doc/$name"
install -d "$doc" "$stage/usr/share/lintian/overrides"
install -m 0644 "$here/debian/copyright" "$doc/copyright"
gzip -9n <"$here/debian/changelog" >"$doc/changelog.gz"
install -m 0644 "$here/debian/lintian-overrides" "$stage/usr/share/lintian/overrides/$name"
find "$stage" -type d -exec chmod 0755 {} +

# Control area.
install -d -m 0755 "$stage/DEBIAN"
for script in postinst prerm postrm; do
    install -m 0755 "$here/debian/$script" "$stage/DEBIAN/$script"
done
# Every file the package puts under /etc is a conffile.
(cd "$stage" && find etc -type f | LC_ALL=C sort | sed 's|^|/|') >"$stage/DEBIAN/conffiles"
chmod 0644 "$stage/DEBIAN/conffiles"
shlibs_dir="$(mktemp -d)"
trap 'rm -rf "$shlibs_dir"' EXIT
mkdir -p "$shlibs_dir/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$name" "$name" >"$shlibs_dir/debian/control"
shlibs="$(cd "$shlibs_dir" && dpkg-shlibdeps -O \
    -e"$stage/usr/sbin/libvirtd" -e"$stage/usr/lib/libvirt/libvirt-guests" \
    -e"$stage/usr/lib/libvirt/libvirt_lxc" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
[ -n "$shlibs" ] || { echo "dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" \
    -e "s|@SHLIBS@|$shlibs|" "$here/debian/control.in" >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
    | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

deb="$out/${name}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
