"""Reads the node devices through python3-libvirt's device API (the calls
virsh does not make): lookups, parents, capabilities, the old list calls and
the refusals of calls that would change the host.

Usage: nodedev.py URI
Prints JSON.
"""
import json
import sys

import libvirt


def error_of(call):
    try:
        call()
    except libvirt.libvirtError as e:
        return {"code": e.get_error_code(), "domain": e.get_error_domain(),
                "message": e.get_error_message()}
    return None


def main():
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open(sys.argv[1])
    out = {}
    out["all"] = sorted(d.name() for d in conn.listAllDevices(0))
    out["net"] = sorted(d.name() for d in conn.listAllDevices(
        libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET))
    out["old_net"] = sorted(conn.listDevices("net", 0))
    out["num_net"] = conn.numOfDevices("net", 0)
    out["num_all"] = conn.numOfDevices(None, 0)
    lo = [n for n in out["net"] if n.startswith("net_lo_")][0]
    dev = conn.nodeDeviceLookupByName(lo)
    out["lo"] = {"name": dev.name(), "parent": dev.parent(), "caps": dev.listCaps(),
                 "num_caps": dev.numOfCaps(), "active": dev.isActive(),
                 "persistent": dev.isPersistent()}
    out["missing"] = error_of(lambda: conn.nodeDeviceLookupByName("pci_nope"))
    out["detach"] = error_of(dev.dettach)
    out["reset"] = error_of(dev.reset)
    out["create"] = error_of(lambda: conn.nodeDeviceCreateXML("<device/>", 0))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
