#!/usr/bin/env bash
# Snapshot and block copy benchmark: this project's libvirtd and the real
# libvirtd 9.0 side by side in one run, through virsh, on the same transient
# TCG guest (the tests' tiny guest, 128 MiB) with a 1 GiB qcow2 disk full of
# data: snapshot-create-as (internal, with the memory state), snapshot-revert
# of the running guest, and blockcopy --wait --finish of the whole disk;
# qemu-img convert of the same image gives the copy's floor. Figures are
# printed, never asserted.
#
#   sudo bench/snapshots.sh [--ours PATH] [--theirs PATH] [--size MIB] [--reps N]
#
# Defaults: ours = target/release/libvirtd (else target/debug/libvirtd),
# theirs = /usr/sbin/libvirtd (skipped with a note when not installed),
# a 1024 MiB disk, 3 snapshots and reverts. The real daemon runs in a private
# mount namespace (tmpfs over /etc/libvirt, /run/libvirt, /var/cache/libvirt,
# /var/lib/libvirt and /var/log/libvirt), so the host's files are never
# touched. Needs root, virsh (libvirt-clients), qemu-img (qemu-utils),
# qemu-system-x86 and unshare (util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."

ours=""
theirs=/usr/sbin/libvirtd
size_mib=1024
reps=3
while [ $# -gt 0 ]; do
    case "$1" in
        --ours) ours=$2; shift 2 ;;
        --theirs) theirs=$2; shift 2 ;;
        --size) size_mib=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        *) echo "usage: $0 [--ours PATH] [--theirs PATH] [--size MIB] [--reps N]" >&2; exit 2 ;;
    esac
done
if [ -z "$ours" ]; then
    ours=target/release/libvirtd
    [ -x "$ours" ] || ours=target/debug/libvirtd
fi
ours=$(realpath "$ours")
for tool in virsh qemu-img qemu-system-x86_64 unshare bc; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
bash tests/data/qemu/build-tiny-guest.sh target/tiny-guest >/dev/null
kernel=$(realpath target/tiny-guest/vmlinuz)
initrd=$(realpath target/tiny-guest/initrd.gz)

work=$(mktemp -d /var/tmp/snapshot-bench.XXXXXX)
pids=()
cleanup() {
    for uri in "${uris[@]:-}"; do
        [ -n "$uri" ] && virsh -q -c "$uri" "destroy bench" >/dev/null 2>&1 || true
    done
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
uris=()
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }

start_ours() {
    mkdir -p "$work/ours/root"
    LIBVIRTD_ROOT="$work/ours/root" "$ours" >"$work/ours/out" 2>&1 &
    pids+=($!)
    disown
    ours_uri="qemu+unix:///system?socket=$work/ours/root/run/libvirt/libvirt-sock"
    uris+=("$ours_uri")
    wait_socket "$work/ours/root/run/libvirt/libvirt-sock"
}

start_theirs() {
    local d="$work/theirs"
    mkdir -p "$d/sock"
    printf 'unix_sock_dir = "%s"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n' "$d/sock" >"$d/libvirtd.conf"
    printf 'user = "root"\ngroup = "root"\nstdio_handler = "file"\n' >"$d/qemu.conf"
    cp /etc/passwd "$d/passwd"; cp /etc/group "$d/group"
    grep -q '^libvirt-qemu:' "$d/passwd" || echo 'libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin' >>"$d/passwd"
    grep -q '^libvirt-qemu:' "$d/group" || echo 'libvirt-qemu:x:64055:' >>"$d/group"
    grep -q '^kvm:' "$d/group" || echo 'kvm:x:64056:' >>"$d/group"
    cat >"$d/run.sh" <<RUN
for m in /etc/libvirt /run/libvirt /var/cache/libvirt /var/lib/libvirt /var/log/libvirt; do
    [ -d \$m ] && mount -t tmpfs -o mode=0755 tmpfs \$m
done
mount --bind $d/passwd /etc/passwd
mount --bind $d/group /etc/group
[ -d /etc/libvirt ] && cp $d/qemu.conf /etc/libvirt/qemu.conf
exec $theirs -f $d/libvirtd.conf -p $d/pid
RUN
    unshare --mount --propagation private -- sh "$d/run.sh" >"$d/out" 2>&1 &
    pids+=($!)
    disown
    theirs_uri="qemu+unix:///system?socket=$d/sock/libvirt-sock"
    uris+=("$theirs_uri")
    wait_socket "$d/sock/libvirt-sock"
}

wait_socket() {
    for _ in $(seq 600); do [ -S "$1" ] && return 0; sleep 0.1; done
    echo "no daemon socket at $1" >&2
    exit 1
}

# The disk: every cluster holds data, so a copy moves the whole size.
dd if=/dev/urandom of="$work/data.raw" bs=1M count="$size_mib" status=none
qemu-img convert -q -f raw -O qcow2 "$work/data.raw" "$work/data.qcow2"
rm -f "$work/data.raw"

# One daemon's figures, tab separated: name value.
measure() {
    local uri=$1 tag=$2 t
    local dir="$work/$tag-guest"
    mkdir -p "$dir"
    cp "$work/data.qcow2" "$dir/disk.qcow2"
    # Written back now: otherwise the first savevm's flush pays for the copy.
    sync "$dir/disk.qcow2"
    cat >"$dir/guest.xml" <<XML
<domain type='qemu'>
  <name>bench</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$kernel</kernel><initrd>$initrd</initrd>
    <cmdline>console=ttyS0 quiet</cmdline></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='$dir/disk.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <serial type='file'><source path='$dir/serial.log'/></serial>
  </devices>
</domain>
XML
    virsh -q -c "$uri" "create $dir/guest.xml" >/dev/null
    for _ in $(seq 900); do grep -q TINY-GUEST-BOOTED "$dir/serial.log" 2>/dev/null && break; sleep 0.1; done
    t=$(now)
    for i in $(seq "$reps"); do virsh -q -c "$uri" "snapshot-create-as bench s$i" >/dev/null; done
    echo "snapshot-create-as, internal with memory (ms)	$(echo "$(elapsed "$t") * 1000 / $reps" | bc -l)"
    t=$(now)
    for i in $(seq "$reps"); do virsh -q -c "$uri" "snapshot-revert bench s$i" >/dev/null; done
    echo "snapshot-revert of the running guest (ms)	$(echo "$(elapsed "$t") * 1000 / $reps" | bc -l)"
    for i in $(seq "$reps"); do virsh -q -c "$uri" "snapshot-delete bench s$i" >/dev/null; done
    t=$(now)
    virsh -q -c "$uri" "blockcopy bench vda $dir/copy.qcow2 --wait --finish" >/dev/null
    echo "blockcopy --wait --finish (MiB/s)	$(echo "$size_mib / $(elapsed "$t")" | bc -l)"
    virsh -q -c "$uri" "destroy bench" >/dev/null
    rm -rf "$dir"
}

floor() {
    local t
    t=$(now)
    qemu-img convert -f qcow2 -O qcow2 "$work/data.qcow2" "$work/floor.qcow2"
    sync "$work/floor.qcow2"
    echo "qemu-img convert qcow2 to qcow2 (MiB/s)	$(echo "$size_mib / $(elapsed "$t")" | bc -l)"
    rm -f "$work/floor.qcow2"
}

start_ours
measure "$ours_uri" ours >"$work/ours.tsv"
if [ -x "$theirs" ]; then
    start_theirs
    measure "$theirs_uri" theirs >"$work/theirs.tsv"
else
    note="libvirtd 9.0 not run: $theirs is missing (Debian package libvirt-daemon)"
    : >"$work/theirs.tsv"
fi
floor >"$work/floor.tsv"

echo "| figure | ours | libvirtd 9.0 | ours / theirs |"
echo "|---|---:|---:|---:|"
while IFS=$'\t' read -r name value; do
    other=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$work/theirs.tsv")
    if [ -n "$other" ]; then
        printf '| %s | %.1f | %.1f | %.2f |\n' "$name" "$value" "$other" "$(echo "$value / $other" | bc -l)"
    else
        printf '| %s | %.1f | - | - |\n' "$name" "$value"
    fi
done <"$work/ours.tsv"
while IFS=$'\t' read -r name value; do
    printf '| %s (floor) | %.1f | | |\n' "$name" "$value"
done <"$work/floor.tsv"
[ -n "${note:-}" ] && echo && echo "$note"
exit 0
