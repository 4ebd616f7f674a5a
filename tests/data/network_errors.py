"""Prints code, domain and message of the errors the network API gives for bad
calls, one line each, through python3-libvirt (argv[1]: the qemu URI, argv[2]:
the test driver URI)."""
import sys

import libvirt

libvirt.registerErrorHandler(lambda *_: None, None)


def attempt(label, call):
    try:
        call()
        print(f"{label} ok")
    except libvirt.libvirtError as e:
        print(f"{label} {e.get_error_code()} {e.get_error_domain()} {e.get_error_message()}")


conn = libvirt.open(sys.argv[1])
default = conn.networkLookupByName("default")
attempt("lookup", lambda: conn.networkLookupByName("nosuch"))
attempt("uuid", lambda: conn.networkLookupByUUIDString("c7a5fdbd-cdaf-9455-926a-d65c16db1809"))
attempt("destroy-inactive", default.destroy)
attempt(
    "dup-bridge",
    lambda: conn.networkDefineXML("<network><name>d2</name><bridge name='virbr0'/></network>"),
)
attempt(
    "update-missing",
    lambda: default.update(
        libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE,
        libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST,
        -1,
        "<host mac='52:54:00:00:00:09' ip='192.168.122.9'/>",
        libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG,
    ),
)
print("active", sorted(n.name() for n in conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_INACTIVE)))
test = libvirt.open(sys.argv[2])
attempt("test-driver", lambda: test.listAllNetworks(0))
