"""Statistics and hot plug through python3-libvirt on a running guest.

Usage: domain_stats.py URI DOMAIN DISK_IMAGE
Prints one JSON object: the keys of getAllDomainStats and domainListGetStats, the
blockStats and memoryStats answers, the interfaceStats error for a NIC without a
host device, and the inactive XML after attachDeviceFlags with AFFECT_CONFIG.
"""
import json
import sys

import libvirt


def main():
    uri, name, image = sys.argv[1:4]
    conn = libvirt.open(uri)
    dom = conn.lookupByName(name)
    out = {}
    records = conn.getAllDomainStats(0, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
    out["all"] = {d.name(): sorted(stats.keys()) for d, stats in records}
    listed = conn.domainListGetStats([dom], libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_BLOCK)
    out["listed"] = sorted(listed[0][1].keys())
    out["state"] = listed[0][1]["state.state"]
    out["blockStats"] = list(dom.blockStats("vda"))
    out["blockStatsFlags"] = sorted(dom.blockStatsFlags("vda", 0).keys())
    out["memoryStats"] = sorted(dom.memoryStats().keys())
    try:
        dom.interfaceStats("52:54:00:aa:bb:01")
        out["interfaceStats"] = "no error"
    except libvirt.libvirtError as e:
        out["interfaceStats"] = e.get_error_message()
    dom.attachDeviceFlags(
        "<disk type='file' device='disk'><source file='%s'/>"
        "<target dev='vdd' bus='virtio'/></disk>" % image,
        libvirt.VIR_DOMAIN_AFFECT_CONFIG,
    )
    out["config_has_vdd"] = "dev='vdd'" in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    out["live_has_vdd"] = "dev='vdd'" in dom.XMLDesc(0)
    print(json.dumps(out))


main()
