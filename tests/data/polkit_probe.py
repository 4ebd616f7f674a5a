"""Opens URI (argv[1]) and reports who asked and what came back.

Prints "pid START_TIME" (START_TIME is field 22 of /proc/self/stat, as
polkit identifies processes), then either "OK" or
"ERR CODE DOMAIN MESSAGE".
"""

import os
import sys

import libvirt

stat = open("/proc/self/stat", encoding="ascii").read()
start_time = int(stat[stat.rindex(")") + 1:].split()[19])
print(os.getpid(), start_time, flush=True)
libvirt.registerErrorHandler(lambda ctx, err: None, None)
try:
    conn = libvirt.open(sys.argv[1])
    conn.getLibVersion()
    print("OK")
except libvirt.libvirtError as e:
    print("ERR", e.get_error_code(), e.get_error_domain(), e.get_error_message())
