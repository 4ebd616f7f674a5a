"""Opens URI, prints "open", waits until the file FLAG exists, then makes one
call (numOfSecrets) and prints {"ok": n} or {"error": message} as JSON.

Usage: hold_then_call.py URI FLAG
"""
import json
import os
import sys
import time

import libvirt


def main():
    uri, flag = sys.argv[1:3]
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open(uri)
    print("open", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(flag) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        out = {"ok": conn.numOfSecrets()}
    except libvirt.libvirtError as e:
        out = {"error": e.get_error_message()}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
