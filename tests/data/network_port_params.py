"""Reads and changes the bandwidth parameters of the one port of network
argv[2] through python3-libvirt (argv[1]: the URI), printing what it sees."""
import sys

import libvirt

libvirt.registerErrorHandler(lambda *_: None, None)


def show(label, params):
    print(label, " ".join(f"{k}={v}" for k, v in sorted(params.items())))


def attempt(label, call):
    try:
        call()
        print(f"{label} ok")
    except libvirt.libvirtError as e:
        print(f"{label} {e.get_error_code()} {e.get_error_domain()} {e.get_error_message()}")


conn = libvirt.open(sys.argv[1])
net = conn.networkLookupByName(sys.argv[2])
(port,) = net.listAllPorts()
show("before", port.parameters())
port.setParameters({"inbound.average": 2000, "inbound.burst": 64, "inbound.peak": 0})
show("after", port.parameters())
attempt("floor", lambda: port.setParameters({"inbound.floor": 100}))
attempt("flags", lambda: port.parameters(1))
show("kept", port.parameters())
