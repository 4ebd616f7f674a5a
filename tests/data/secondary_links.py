"""On one qemu connection: lists the networks from eight threads at once as
the connection's first calls (they wait together for the link to
virtnetworkd), lists them again, prints "open", waits until the file FLAG exists (the test kills virtnetworkd
first), then tries the networks twice and the domains once, and prints what
each call did as JSON.

Usage: secondary_links.py QEMU_URI FLAG
"""
import json
import os
import sys
import threading
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
    networks = lambda: sorted(n.name() for n in conn.listAllNetworks(0))
    together = [None] * 8

    def list_into(i):
        together[i] = attempt(networks).get("ok")

    threads = [threading.Thread(target=list_into, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    before = networks()
    print("open", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(flag) and time.monotonic() < deadline:
        time.sleep(0.05)
    out = {
        "together": together,
        "before": before,
        "networks_first": attempt(networks),
        "networks_again": attempt(networks),
        "domains": attempt(lambda: sorted(d.name() for d in conn.listAllDomains(0))),
        "hostname": attempt(conn.getHostname),
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
