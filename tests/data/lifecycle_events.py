"""Records the lifecycle events one client sees for its own define, start,
suspend, resume, destroy and undefine of tests/data/domain.xml.

Usage: lifecycle_events.py URI DOMAIN_XML_FILE
Prints JSON: {"events": [[event, detail], ...]} for domain 'itest'.
"""
import json
import sys
import threading
import time

import libvirt

EVENT_WAIT_SECONDS = 15


def main():
    uri, xml_file = sys.argv[1], sys.argv[2]
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    libvirt.virEventRegisterDefaultImpl()
    loop = threading.Thread(target=run_event_loop, daemon=True)
    loop.start()

    conn = libvirt.open(uri)
    seen = []
    undefined = threading.Event()

    def on_lifecycle(_conn, dom, event, detail, _opaque):
        if dom.name() != "itest":
            return
        seen.append([event, detail])
        if event == libvirt.VIR_DOMAIN_EVENT_UNDEFINED:
            undefined.set()

    callback = conn.domainEventRegisterAny(
        None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_lifecycle, None
    )
    with open(xml_file) as f:
        dom = conn.defineXML(f.read())
    dom.create()
    dom.suspend()
    dom.resume()
    dom.destroy()
    dom.undefine()
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    while not undefined.is_set() and time.monotonic() < deadline:
        undefined.wait(0.1)
    conn.domainEventDeregisterAny(callback)
    print(json.dumps({"events": seen, "complete": undefined.is_set()}))


def run_event_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


if __name__ == "__main__":
    main()
