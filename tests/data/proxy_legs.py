"""Holds a qemu and a secret connection open through virtproxyd, prints
"open", waits until the file FLAG exists (the test kills virtqemud first),
then uses both connections and prints what each call did as JSON.

Usage: proxy_legs.py QEMU_URI SECRET_URI FLAG
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
    qemu_uri, secret_uri, flag = sys.argv[1:4]
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    qemu = libvirt.open(qemu_uri)
    secret = libvirt.open(secret_uri)
    before = {"domains": sorted(d.name() for d in qemu.listAllDomains(0)),
              "secrets": secret.numOfSecrets()}
    print("open", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(flag) and time.monotonic() < deadline:
        time.sleep(0.05)
    # The proxy notices the daemon's end at once; give its message a moment.
    qemu_after = attempt(lambda: [d.name() for d in qemu.listAllDomains(0)])
    deadline = time.monotonic() + 10
    while "ok" in qemu_after and time.monotonic() < deadline:
        time.sleep(0.1)
        qemu_after = attempt(lambda: [d.name() for d in qemu.listAllDomains(0)])
    out = {"before": before, "qemu_after": qemu_after,
           "secret_after": attempt(secret.numOfSecrets)}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
