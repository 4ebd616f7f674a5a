"""Exercises the common python3-libvirt calls and prints what they return.

Usage: basics.py URI DOMAIN_XML_FILE [all|ro]
With "ro" only the read-only part runs (for the read-only socket).
Prints one JSON object; values that depend on the wall clock are left out.
"""
import json
import sys

import libvirt


def error_of(exc):
    return {
        "code": exc.get_error_code(),
        "domain": exc.get_error_domain(),
        "message": exc.get_error_message(),
    }


def describe(dom):
    state, max_mem, memory, vcpus, _cpu_time = dom.info()
    return {
        "name": dom.name(),
        "id": dom.ID(),
        "uuid": dom.UUIDString(),
        "info": [state, max_mem, memory, vcpus],
        "state": dom.state(),
        "active": dom.isActive(),
        "persistent": dom.isPersistent(),
        "autostart": dom.autostart(),
        "os_type": dom.OSType(),
        "xml": dom.XMLDesc(0),
    }


def read_write(uri, xml):
    conn = libvirt.open(uri)
    out = {
        "type": conn.getType(),
        "version": conn.getVersion(),
        "lib_version": conn.getLibVersion(),
        "hostname": conn.getHostname(),
        "capabilities": conn.getCapabilities(),
        "node_info": conn.getInfo(),
        "domains": sorted(d.name() for d in conn.listAllDomains(0)),
        "active_ids": sorted(conn.listDomainsID()),
        "defined": sorted(conn.listDefinedDomains()),
        "test": describe(conn.lookupByName("test")),
        "test_by_id": conn.lookupByID(1).name(),
        "test_by_uuid": conn.lookupByUUIDString("6695eb01-f6a4-8304-79aa-97f2502e193f").name(),
        "alive": conn.isAlive(),
    }
    try:
        conn.lookupByName("no-such-domain")
        out["missing"] = None
    except libvirt.libvirtError as exc:
        out["missing"] = error_of(exc)

    dom = conn.defineXML(xml)
    steps = [["defined", describe(dom)]]
    for name, action in [
        ("create", dom.create),
        ("suspend", dom.suspend),
        ("resume", dom.resume),
        ("destroy", dom.destroy),
        ("destroy again", dom.destroy),
        ("set autostart", lambda: dom.setAutostart(1)),
        ("undefine", dom.undefine),
    ]:
        try:
            action()
            steps.append([name, "ok"])
        except libvirt.libvirtError as exc:
            steps.append([name, error_of(exc)])
        if name != "undefine":
            steps.append([name + " -> state", describe(dom)])
    out["lifecycle"] = steps
    out["domains_after"] = sorted(d.name() for d in conn.listAllDomains(0))
    conn.close()
    return out


def read_only(uri, xml):
    conn = libvirt.openReadOnly(uri)
    out = {
        "domains": sorted(d.name() for d in conn.listAllDomains(0)),
        "test": describe(conn.lookupByName("test")),
    }
    dom = conn.lookupByName("test")
    for name, action in [
        ("destroy", dom.destroy),
        ("set autostart", lambda: dom.setAutostart(1)),
        ("define", lambda: conn.defineXML(xml)),
    ]:
        try:
            action()
            out[name] = "ok"
        except libvirt.libvirtError as exc:
            out[name] = error_of(exc)
    conn.close()
    return out


def main():
    uri, xml_file = sys.argv[1], sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "all"
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    with open(xml_file) as f:
        xml = f.read()
    out = {"ro": read_only(uri, xml)}
    if mode == "all":
        out["rw"] = read_write(uri, xml)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
