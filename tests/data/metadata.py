# setMetadata/metadata through python3-libvirt, with metadata-change events.
import sys
import threading
import time

import libvirt

libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
dom = conn.lookupByName(sys.argv[2])
seen = []


def on_change(_conn, _dom, kind, nsuri, _opaque):
    seen.append((kind, nsuri))


conn.domainEventRegisterAny(
    dom, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, on_change, None
)


def loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=loop, daemon=True).start()
dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, '<k v="1"/>', "x", "urn:x", 0)
print(dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "urn:x", 0))
dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, "hello", None, None, 0)
print(dom.metadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, None, 0))
try:
    dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "urn:none", 0)
except libvirt.libvirtError as e:
    print("no-metadata", e.get_error_code())
deadline = time.time() + 20
while len(seen) < 2 and time.time() < deadline:
    time.sleep(0.05)
print("events", seen)
