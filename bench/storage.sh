#!/usr/bin/env bash
# Storage benchmark: this project's libvirtd and the real libvirtd 9.0 side by
# side in one run, through virsh: vol-create-as qcow2, vol-upload and
# vol-download of a sparse and a dense image, and pool-refresh of a pool
# holding many volumes; cp and qemu-img convert on the same disk give the
# physical floor. Figures are printed, never asserted.
#
#   sudo bench/storage.sh [--ours PATH] [--theirs PATH] [--size MIB] [--volumes N]
#
# Defaults: ours = target/release/libvirtd (else target/debug/libvirtd),
# theirs = /usr/sbin/libvirtd (skipped with a note when not installed),
# 1024 MiB images, 1000 volumes. The real daemon runs in a private mount
# namespace (tmpfs over /etc/libvirt, /run/libvirt, /var/cache/libvirt and
# /var/lib/libvirt), so the host's files are never touched. Needs root,
# virsh (libvirt-clients), qemu-img (qemu-utils) and unshare (util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."

ours=""
theirs=/usr/sbin/libvirtd
size_mib=1024
volumes=1000
while [ $# -gt 0 ]; do
    case "$1" in
        --ours) ours=$2; shift 2 ;;
        --theirs) theirs=$2; shift 2 ;;
        --size) size_mib=$2; shift 2 ;;
        --volumes) volumes=$2; shift 2 ;;
        *) echo "usage: $0 [--ours PATH] [--theirs PATH] [--size MIB] [--volumes N]" >&2; exit 2 ;;
    esac
done
if [ -z "$ours" ]; then
    ours=target/release/libvirtd
    [ -x "$ours" ] || ours=target/debug/libvirtd
fi
ours=$(realpath "$ours")
for tool in virsh qemu-img unshare; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d /var/tmp/storage-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }

start_ours() {
    mkdir -p "$work/ours/root"
    LIBVIRTD_ROOT="$work/ours/root" "$ours" >"$work/ours/out" 2>&1 &
    pids+=($!)
    disown
    ours_uri="qemu+unix:///system?socket=$work/ours/root/run/libvirt/libvirt-sock"
    wait_socket "$work/ours/root/run/libvirt/libvirt-sock"
}

start_theirs() {
    local d="$work/theirs"
    mkdir -p "$d/sock" "$d/lib" "$d/log"
    printf 'unix_sock_dir = "%s"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n' "$d/sock" >"$d/libvirtd.conf"
    printf 'user = "root"\ngroup = "root"\n' >"$d/qemu.conf"
    cp /etc/passwd "$d/passwd"; cp /etc/group "$d/group"
    grep -q '^libvirt-qemu:' "$d/passwd" || echo 'libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin' >>"$d/passwd"
    grep -q '^libvirt-qemu:' "$d/group" || echo 'libvirt-qemu:x:64055:' >>"$d/group"
    grep -q '^kvm:' "$d/group" || echo 'kvm:x:64056:' >>"$d/group"
    cat >"$d/run.sh" <<EOF
for m in /etc/libvirt /run/libvirt /var/cache/libvirt /var/lib/libvirt /var/log/libvirt; do
    [ -d \$m ] && mount -t tmpfs -o mode=0755 tmpfs \$m
done
mount --bind $d/passwd /etc/passwd
mount --bind $d/group /etc/group
[ -d /etc/libvirt ] && cp $d/qemu.conf /etc/libvirt/qemu.conf
exec $theirs -f $d/libvirtd.conf -p $d/pid
EOF
    unshare --mount --propagation private -- sh "$d/run.sh" >"$d/out" 2>&1 &
    pids+=($!)
    disown
    theirs_uri="qemu+unix:///system?socket=$d/sock/libvirt-sock"
    wait_socket "$d/sock/libvirt-sock"
}

wait_socket() {
    for _ in $(seq 600); do [ -S "$1" ] && return 0; sleep 0.1; done
    echo "no daemon socket at $1" >&2
    exit 1
}

# The images: a sparse one (4 data extents of 16 MiB) and a dense one.
size=$((size_mib * 1024 * 1024))
truncate -s "$size" "$work/sparse.img"
for i in 0 1 2 3; do
    dd if=/dev/urandom of="$work/sparse.img" bs=1M count=16 seek=$((i * size_mib / 4)) conv=notrunc status=none
done
dd if=/dev/urandom of="$work/dense.img" bs=1M count="$size_mib" status=none

# One daemon's figures, tab separated: name value.
measure() {
    local uri=$1 tag=$2 pool="$work/$2-pool" t
    virsh -q -c "$uri" "pool-create-as bench dir --target $pool --build" >/dev/null
    t=$(now)
    for i in $(seq 20); do
        virsh -q -c "$uri" "vol-create-as bench q$i.qcow2 10G --format qcow2" >/dev/null
    done
    echo "vol-create-as qcow2 (ms per volume)	$(echo "$(elapsed "$t") * 1000 / 20" | bc -l)"
    for kind in sparse dense; do
        local flag=""
        [ "$kind" = sparse ] && flag=--sparse
        virsh -q -c "$uri" "vol-create-as bench $kind.raw ${size_mib}M --allocation 0" >/dev/null
        t=$(now)
        virsh -q -c "$uri" "vol-upload --pool bench $kind.raw $work/$kind.img $flag" >/dev/null
        echo "vol-upload $kind (MiB/s)	$(echo "$size_mib / $(elapsed "$t")" | bc -l)"
        t=$(now)
        virsh -q -c "$uri" "vol-download --pool bench $kind.raw $work/$tag-$kind.out $flag" >/dev/null
        echo "vol-download $kind (MiB/s)	$(echo "$size_mib / $(elapsed "$t")" | bc -l)"
        cmp "$work/$kind.img" "$work/$tag-$kind.out" || echo "vol-download $kind: CONTENT DIFFERS" >&2
        rm -f "$work/$tag-$kind.out"
        virsh -q -c "$uri" "vol-delete --pool bench $kind.raw" >/dev/null
    done
    for i in $(seq "$volumes"); do : >"$pool/v$i.raw"; done
    t=$(now)
    virsh -q -c "$uri" "pool-refresh bench" >/dev/null
    echo "pool-refresh $volumes volumes (ms)	$(echo "$(elapsed "$t") * 1000" | bc -l)"
    virsh -q -c "$uri" "pool-destroy bench" >/dev/null
    rm -rf "$pool"
}

floor() {
    local t
    for kind in sparse dense; do
        t=$(now); cp --sparse=always "$work/$kind.img" "$work/floor.img"; sync "$work/floor.img"
        echo "cp $kind (MiB/s)	$(echo "$size_mib / $(elapsed "$t")" | bc -l)"
        rm -f "$work/floor.img"
        t=$(now); qemu-img convert -f raw -O raw "$work/$kind.img" "$work/floor.img"
        echo "qemu-img convert $kind (MiB/s)	$(echo "$size_mib / $(elapsed "$t")" | bc -l)"
        rm -f "$work/floor.img"
    done
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
