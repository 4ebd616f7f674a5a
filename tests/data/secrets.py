"""Drives the secret API of python3-libvirt against one URI: events seen by a
second connection, values, usage lookups, list filters and the errors for a
private secret and a secret without a value.

Usage: secrets.py URI
Prints JSON describing everything observed.
"""
import json
import sys
import threading
import time

import libvirt

EVENT_WAIT_SECONDS = 15
UUID = "5d3c1a8e-4f2b-4c6d-9e7f-0a1b2c3d4e5f"
XML = """<secret ephemeral='no' private='no'>
  <uuid>%s</uuid>
  <usage type='iscsi'><target>iqn.2026-01.test:disk</target></usage>
</secret>""" % UUID
PRIVATE_XML = """<secret ephemeral='yes' private='yes'>
  <usage type='tls'><name>tls-key</name></usage>
</secret>"""


def error_of(call):
    try:
        call()
    except libvirt.libvirtError as e:
        return {"code": e.get_error_code(), "domain": e.get_error_domain(),
                "message": e.get_error_message()}
    return None


def run_event_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


def main():
    uri = sys.argv[1]
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    libvirt.virEventRegisterDefaultImpl()
    threading.Thread(target=run_event_loop, daemon=True).start()

    watcher = libvirt.open(uri)
    seen = []
    done = threading.Event()

    def on_lifecycle(_conn, secret, event, detail, _opaque):
        seen.append(["lifecycle", secret.UUIDString(), event, detail])
        if event == libvirt.VIR_SECRET_EVENT_UNDEFINED:
            done.set()

    def on_value(_conn, secret, _opaque):
        seen.append(["value", secret.UUIDString(), secret.usageID()])

    ids = [
        watcher.secretEventRegisterAny(
            None, libvirt.VIR_SECRET_EVENT_ID_LIFECYCLE, on_lifecycle, None),
        watcher.secretEventRegisterAny(
            None, libvirt.VIR_SECRET_EVENT_ID_VALUE_CHANGED, on_value, None),
    ]

    conn = libvirt.open(uri)
    out = {}
    secret = conn.secretDefineXML(XML)
    secret.setValue(b"\x00binary\xffvalue")
    out["value"] = list(conn.secretLookupByUUIDString(UUID).value())
    by_usage = conn.secretLookupByUsage(
        libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, "iqn.2026-01.test:disk")
    out["by_usage"] = [by_usage.UUIDString(), by_usage.usageType(), by_usage.usageID()]
    private = conn.secretDefineXML(PRIVATE_XML)
    out["private_value"] = error_of(private.value)
    out["all"] = sorted(s.UUIDString() for s in conn.listAllSecrets(0))
    out["ephemeral"] = [s.usageID() for s in conn.listAllSecrets(
        libvirt.VIR_CONNECT_LIST_SECRETS_EPHEMERAL)]
    out["no_private"] = [s.usageID() for s in conn.listAllSecrets(
        libvirt.VIR_CONNECT_LIST_SECRETS_NO_PRIVATE)]
    out["num"] = conn.numOfSecrets()
    out["uuids"] = sorted(conn.listSecrets())
    out["bad_flags"] = error_of(lambda: conn.listAllSecrets(1 << 7))
    out["no_usage"] = error_of(lambda: conn.secretLookupByUsage(
        libvirt.VIR_SECRET_USAGE_TYPE_CEPH, "nothing"))
    private.undefine()
    secret.undefine()
    out["missing"] = error_of(lambda: conn.secretLookupByUUIDString(UUID))
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    while not (done.is_set() and len(seen) >= 5) and time.monotonic() < deadline:
        time.sleep(0.05)
    for callback in ids:
        watcher.secretEventDeregisterAny(callback)
    out["events"] = [e for e in seen if e[1] == UUID]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
