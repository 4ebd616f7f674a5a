"""On one qemu connection: lists the networks (virtnetworkd is running),
prints "open", waits until the file FLAG exists (the test kills virtnetworkd
first), then tries the networks twice and the domains once, and prints what
each call did as JSON.

Usage: secondary_links.py QEMU_URI FLAG
"""
import json
import os
import sys
import time

import libvirt


def attempt(call):
    try:
        return {"ok": call()}
    except libvirt.libvirtError as e:
        return {"error": e.get_error_message()}


def main():
    uri, flag = sys.argv[1:3]
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open(uri)
    before = sorted(n.name() for n in conn.listAllNetworks(0))
    print("open", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(flag) and time.monotonic() < deadline:
        time.sleep(0.05)
    networks = lambda: sorted(n.name() for n in conn.listAllNetworks(0))
    out = {
        "before": before,
        "networks_first": attempt(networks),
        "networks_again": attempt(networks),
        "domains": attempt(lambda: sorted(d.name() for d in conn.listAllDomains(0))),
        "hostname": attempt(conn.getHostname),
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
