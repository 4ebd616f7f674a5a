#!/usr/bin/env python3
"""Live migration benchmark: this project's libvirtd -> libvirtd and the real
libvirtd 9.0 -> libvirtd 9.0 side by side in one run, with the tiny guest at
256 MiB and 1 GiB of RAM; two bare QEMU processes migrating over loopback
give the floor. Prints total migration time (virsh migrate's wall time; for
the floor QMP's total-time) and downtime (ours and the floor: QEMU's
query-migrate "downtime" of the completed migration, which our daemon logs;
libvirtd 9.0: its domjobinfo --completed "Total downtime", measured by
libvirt from the pause on the source to the resume on the destination),
never asserts.

    sudo bench/migration.py [--ours PATH] [--theirs PATH] [--sizes 256,1024] [--runs N]

Needs root, virsh (libvirt-clients), qemu-system-x86_64 (qemu-system-x86),
unshare and hostname (util-linux, hostname), and the tiny guest the qemu tests
build (target/tiny-guest). The real daemons run in private mount and UTS
namespaces (tmpfs over their directories, a hostname and host_uuid each, so
that libvirt does not take the peer for itself); the host's files are never
touched.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.path.join(REPO, "target", "tiny-guest")
QEMU = "/usr/bin/qemu-system-x86_64"


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def virsh(uri, *args, check=True):
    out = subprocess.run(["virsh", "-q", "-c", uri, *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise SystemExit(f"virsh {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def guest_xml(name, mib, serial):
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{mib}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type>
    <kernel>{GUEST}/vmlinuz</kernel><initrd>{GUEST}/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet no_timer_check</cmdline></os>
  <features><acpi/></features>
  <devices><serial type='file'><source path='{serial}'/></serial></devices>
</domain>
"""


class Daemons:
    """Two daemons (source, destination) and their URIs."""

    def __init__(self, work):
        self.work = work
        self.procs = []

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


class Ours(Daemons):
    def __init__(self, work, binary, ports):
        super().__init__(work)
        self.uris = []
        self.logs = []
        for i, (lo, hi) in enumerate(ports):
            root = os.path.join(work, f"ours{i}")
            os.makedirs(os.path.join(root, "etc/libvirt"))
            log = os.path.join(root, "log")
            with open(os.path.join(root, "etc/libvirt/libvirtd.conf"), "w") as f:
                f.write(f'log_level = 2\nlog_outputs = "2:file:{log}"\n')
            with open(os.path.join(root, "etc/libvirt/qemu.conf"), "w") as f:
                f.write(f'migration_address = "127.0.0.1"\nmigration_host = "127.0.0.1"\n'
                        f"migration_port_min = {lo}\nmigration_port_max = {hi}\n")
            env = dict(os.environ, LIBVIRTD_ROOT=root)
            self.procs.append(subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL, start_new_session=True))
            sock = os.path.join(root, "run/libvirt/libvirt-sock")
            wait_for(lambda: os.path.exists(sock), 30, "our daemon")
            self.uris.append(f"qemu+unix:///system?socket={sock}")
            self.logs.append(log)

    def downtime_ms(self, _name):
        with open(self.logs[0]) as f:
            found = re.findall(r"outgoing migration completed: .*downtime (\d+) ms",
                               f.read())
        return float(found[-1]) if found else None


def accounts(d):
    """Bind mounts giving the real daemon the libvirt-qemu user and the kvm group
    it looks up at start, when the host lacks them."""
    binds = ""
    for name, entries in (("passwd", ["libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin"]),
                          ("group", ["libvirt-qemu:x:64055:", "kvm:x:64056:"])):
        with open(f"/etc/{name}") as f:
            text = f.read()
        for entry in entries:
            if not any(line.startswith(entry.split(":")[0] + ":") for line in text.splitlines()):
                text = text.rstrip("\n") + "\n" + entry + "\n"
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        binds += f"mount --bind {d}/{name} /etc/{name} && "
    # Their host names resolve (libvirt looks its own up, and a lookup that goes
    # to DNS and times out would be counted as migration time).
    with open("/etc/hosts") as f:
        hosts = f.read().rstrip("\n") + "\n127.0.0.1 bench-theirs-0 bench-theirs-1\n"
    with open(os.path.join(d, "hosts"), "w") as f:
        f.write(hosts)
    binds += f"mount --bind {d}/hosts /etc/hosts && "
    return binds


class Theirs(Daemons):
    def __init__(self, work, binary, ports):
        super().__init__(work)
        self.uris = []
        for i, (lo, hi) in enumerate(ports):
            d = os.path.join(work, f"theirs{i}")
            for sub in ("sock", "lib", "log"):
                os.makedirs(os.path.join(d, sub))
            with open(os.path.join(d, "libvirtd.conf"), "w") as f:
                f.write(f'unix_sock_dir = "{d}/sock"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n'
                        f'host_uuid = "5b1f6a2e-9a3c-4d0e-8f5e-2c7d9b1a0e4{i}"\n'
                        f'log_outputs = "3:file:{d}/libvirtd.log"\n')
            with open(os.path.join(d, "qemu.conf"), "w") as f:
                # (libvirt refuses loopback in migration_host and
                # migration_address: the URI of each migration names 127.0.0.1
                # instead, for both kinds of daemon.)
                f.write('user = "root"\ngroup = "root"\nstdio_handler = "file"\n'
                        f"migration_port_min = {lo}\nmigration_port_max = {hi}\n")
            binds = accounts(d)
            script = (
                f"hostname bench-theirs-{i} && {binds}"
                "for m in /run/libvirt /var/cache/libvirt /etc/libvirt /run/lock; do "
                "[ -d $m ] && mount -t tmpfs -o mode=0755 tmpfs $m; done; "
                f"mount --bind {d}/lib /var/lib/libvirt && mount --bind {d}/log /var/log/libvirt && "
                f"cp {d}/qemu.conf /etc/libvirt/qemu.conf && "
                f"exec {binary} -f {d}/libvirtd.conf -p {d}/pid"
            )
            self.procs.append(subprocess.Popen(
                ["unshare", "--mount", "--uts", "--propagation", "private", "--", "sh", "-c", script],
                stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "err"), "w"),
                start_new_session=True))
            sock = os.path.join(d, "sock/libvirt-sock")
            wait_for(lambda: os.path.exists(sock), 180, "libvirtd 9.0")
            # It binds its socket before its drivers are up: wait for an answer.
            wait_for(lambda: subprocess.run(["virsh", "-q", "-c", f"qemu+unix:///system?socket={sock}",
                                             "uri"], capture_output=True).returncode == 0,
                     180, "libvirtd 9.0's qemu driver")
            self.uris.append(f"qemu+unix:///system?socket={sock}")

    def downtime_ms(self, name):
        out = virsh(self.uris[0], "domjobinfo", "--completed", name, check=False)
        m = re.search(r"Total downtime:\s+(\d+)", out)
        return float(m.group(1)) if m else None


def serial_text(serial):
    try:
        with open(serial, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def boot(start, stop, serial, attempts=3):
    """Starts the guest until it prints its boot marker: under TCG on a loaded
    machine its kernel sometimes panics on its timer check; that boot is redone."""
    for _ in range(attempts):
        if os.path.exists(serial):
            os.unlink(serial)
        start()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            text = serial_text(serial)
            if "TINY-GUEST-BOOTED" in text:
                return
            if "Kernel panic" in text:
                break
            time.sleep(0.1)
        stop()
    raise SystemExit("the guest did not boot")


def boot_and_migrate(daemons, name, mib):
    serial = os.path.join(daemons.work, f"{name}.serial")
    xml = os.path.join(daemons.work, f"{name}.xml")
    with open(xml, "w") as f:
        f.write(guest_xml(name, mib, serial))
    src, dst = daemons.uris
    virsh(src, "define", xml)
    boot(lambda: virsh(src, "start", name), lambda: virsh(src, "destroy", name, check=False),
         serial)
    t = time.monotonic()
    virsh(src, "migrate", "--live", name, dst, "--migrateuri", "tcp:127.0.0.1")
    total = (time.monotonic() - t) * 1000
    downtime = daemons.downtime_ms(name)
    virsh(dst, "destroy", name, check=False)
    virsh(src, "undefine", name, check=False)
    return total, downtime


class Qmp:
    def __init__(self, path):
        wait_for(lambda: os.path.exists(path), 30, "QEMU's monitor")
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")
        self.file.readline()
        self.cmd("qmp_capabilities")

    def cmd(self, name, args=None):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply or "error" in reply:
                return reply


def floor(work, mib, port):
    """Two bare QEMUs with the guest's command line, migrating over loopback."""
    base = [QEMU, "-machine", "pc,accel=tcg", "-m", str(mib), "-nodefaults", "-no-user-config",
            "-display", "none", "-kernel", f"{GUEST}/vmlinuz", "-initrd", f"{GUEST}/initrd.gz",
            "-append", "console=ttyS0 quiet no_timer_check"]
    serial = os.path.join(work, f"floor{mib}.serial")
    procs = []

    def spawn(role):
        extra = ["-incoming", f"tcp:127.0.0.1:{port}"] if role == "dst" else []
        qmp = os.path.join(work, f"floor{mib}-{role}.qmp")
        if os.path.exists(qmp):
            os.unlink(qmp)
        procs.append(subprocess.Popen(
            base + ["-serial", f"file:{serial}" if role == "src" else "null",
                    "-qmp", f"unix:{qmp},server=on,wait=off"] + extra,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def kill_source():
        procs[-1].kill()
        procs[-1].wait()
        procs.pop()

    try:
        spawn("dst")
        boot(lambda: spawn("src"), kill_source, serial)
        src = Qmp(os.path.join(work, f"floor{mib}-src.qmp"))
        src.cmd("migrate", {"uri": f"tcp:127.0.0.1:{port}"})
        while True:
            status = src.cmd("query-migrate")["return"]
            if status.get("status") in ("completed", "failed"):
                return float(status.get("total-time", 0)), float(status.get("downtime", 0))
            time.sleep(0.01)
    finally:
        for p in procs:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", default=None)
    ap.add_argument("--theirs", default="/usr/sbin/libvirtd")
    ap.add_argument("--sizes", default="256,1024")
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    ours = a.ours or next((p for p in (os.path.join(REPO, "target/release/libvirtd"),
                                       os.path.join(REPO, "target/debug/libvirtd"))
                           if os.path.exists(p)), None)
    if not ours:
        raise SystemExit("build the daemon first (cargo build --release -p daemon)")
    for tool in ("virsh", "unshare", QEMU):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed")
    if not os.path.exists(f"{GUEST}/vmlinuz"):
        raise SystemExit("no tiny guest in target/tiny-guest (run a qemu test once)")
    sizes = [int(s) for s in a.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="migration-bench-", dir="/var/tmp") as work:
        results = {}
        kinds = [("ours", Ours, ours, [(49611, 49620), (49621, 49630)])]
        if os.path.exists(a.theirs):
            kinds.append(("theirs", Theirs, a.theirs, [(49631, 49640), (49641, 49650)]))
        for tag, cls, binary, ports in kinds:
            sub = os.path.join(work, tag)
            os.makedirs(sub)
            d = cls(sub, binary, ports)
            try:
                for mib in sizes:
                    for run in range(a.runs):
                        print(f"{tag}: {mib} MiB run {run + 1}", file=sys.stderr)
                        results.setdefault((tag, mib), []).append(
                            boot_and_migrate(d, f"bench{mib}x{run}", mib))
            finally:
                d.stop()
        for mib in sizes:
            print(f"floor: {mib} MiB", file=sys.stderr)
            results[("floor", mib)] = [floor(work, mib, 49660)]

    def best(tag, mib, i):
        vals = [r[i] for r in results.get((tag, mib), []) if r[i] is not None]
        return min(vals) if vals else None

    fmt = lambda v: "-" if v is None else f"{v:.0f}"
    print("Downtime: ours and the floor as QEMU's query-migrate reports it; libvirtd 9.0's is its\n"
          "own 'Total downtime' (source paused until the destination resumed, domjobinfo\n"
          "--completed), a longer span: the downtime ratio is left out.\n")
    print("| guest RAM | figure | ours | libvirtd 9.0 | ours / theirs | QEMU alone (floor) |")
    print("|---|---|---:|---:|---:|---:|")
    for mib in sizes:
        for i, figure in enumerate(("total time (ms)", "downtime (ms)")):
            o, t, f = best("ours", mib, i), best("theirs", mib, i), best("floor", mib, i)
            ratio = f"{o / t:.2f}" if o and t and i == 0 else "-"
            print(f"| {mib} MiB | {figure} | {fmt(o)} | {fmt(t)} | {ratio} | {fmt(f)} |")
    if not os.path.exists(a.theirs):
        print(f"\nlibvirtd 9.0 not run: {a.theirs} is missing (Debian package libvirt-daemon)")


if __name__ == "__main__":
    main()
