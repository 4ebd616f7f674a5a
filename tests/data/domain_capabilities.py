# getDomainCapabilities and getCPUModelNames as virt-manager calls them.
import sys

import libvirt

conn = libvirt.open(sys.argv[1])
caps = conn.getDomainCapabilities(None, "x86_64", None, "qemu", 0)
print("vcpu" in caps and "<domain>qemu</domain>" in caps)
print(len(conn.getCPUModelNames("x86_64", 0)))
