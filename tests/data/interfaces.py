"""Reads the host interfaces through python3-libvirt's interface API, the
way virt-manager's host details and other tools call it: every list call,
lookups, XML, activity, and the refusals of calls that would change the
host's configuration.

Usage: interfaces.py URI [NAME...]
Prints JSON; NAMEs are the interfaces whose XML and activity are read.
"""
import json
import sys

import libvirt


def attempt(call):
    try:
        return {"ok": call()}
    except libvirt.libvirtError as e:
        return {"code": e.get_error_code(), "domain": e.get_error_domain(),
                "message": e.get_error_message()}


def refs(ifaces):
    return [[i.name(), i.MACString()] for i in ifaces]


def main():
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open(sys.argv[1])
    out = {
        "all": refs(conn.listAllInterfaces(0)),
        "active": refs(conn.listAllInterfaces(
            libvirt.VIR_CONNECT_LIST_INTERFACES_ACTIVE)),
        "inactive": refs(conn.listAllInterfaces(
            libvirt.VIR_CONNECT_LIST_INTERFACES_INACTIVE)),
        "num": conn.numOfInterfaces(),
        "names": conn.listInterfaces(),
        "num_defined": conn.numOfDefinedInterfaces(),
        "defined": conn.listDefinedInterfaces(),
        "bad_list_flags": attempt(lambda: conn.listAllInterfaces(4)),
        "missing": attempt(lambda: conn.interfaceLookupByName("nosuch0").name()),
        "any_mac": attempt(lambda: conn.interfaceLookupByMACString("*").name()),
        "mac_pattern": attempt(lambda: [
            (i.name(), i.MACString())
            for i in [conn.interfaceLookupByMACString("52:54:00:aa:00:0?")]]),
        "define": attempt(lambda: conn.interfaceDefineXML(
            "<interface type='ethernet' name='eth9'/>", 0).name()),
        "change_begin": attempt(lambda: conn.changeBegin(0)),
        "change_commit": attempt(lambda: conn.changeCommit(0)),
        "change_rollback": attempt(lambda: conn.changeRollback(0)),
    }
    for name in sys.argv[2:]:
        found = attempt(lambda: conn.interfaceLookupByName(name))
        if "ok" not in found:
            out[name] = found
            continue
        iface = found["ok"]
        mac = iface.MACString()
        out[name] = {
            "mac": mac,
            "by_mac": attempt(lambda: conn.interfaceLookupByMACString(mac).name()),
            "active": attempt(iface.isActive),
            "xml": attempt(lambda: iface.XMLDesc(0)),
            "xml_inactive": attempt(
                lambda: iface.XMLDesc(libvirt.VIR_INTERFACE_XML_INACTIVE)),
            "bad_xml_flags": attempt(lambda: iface.XMLDesc(2)),
            "create": attempt(lambda: iface.create(0)),
            "destroy": attempt(lambda: iface.destroy(0)),
            "undefine": attempt(iface.undefine),
        }
    print(json.dumps(out, indent=1, sort_keys=True))


main()
