"""Opens the VNC server of guest argv[2] on the daemon at argv[1] the two ways that
pass file descriptors, and prints what the display server sent first:
'fd: GREETING' (virDomainOpenGraphicsFD), 'handed: GREETING' (virDomainOpenGraphics),
then 'index 1: ERROR' and, after argv[3] more openGraphicsFD calls whose sockets
are read and closed, 'repeated: N'."""
import os
import socket
import sys

import libvirt


def greeting(sock):
    sock.settimeout(30)
    data = b""
    while not data.endswith(b"\n") and len(data) < 64:
        chunk = sock.recv(64)
        if not chunk:
            break
        data += chunk
    return data.decode("ascii", "replace").strip()


conn = libvirt.open(sys.argv[1])
dom = conn.lookupByName(sys.argv[2])

fd = dom.openGraphicsFD(0)
with socket.socket(fileno=fd) as sock:
    print("fd: %s" % greeting(sock), flush=True)

ours, theirs = socket.socketpair()
dom.openGraphics(0, theirs.fileno())
theirs.close()
with ours:
    print("handed: %s" % greeting(ours), flush=True)

try:
    dom.openGraphicsFD(1)
    print("index 1: accepted", flush=True)
except libvirt.libvirtError as e:
    print("index 1: %s" % e.get_error_message(), flush=True)

count = 0
for _ in range(int(sys.argv[3])):
    fd = dom.openGraphicsFD(0)
    with socket.socket(fileno=fd) as sock:
        if greeting(sock).startswith("RFB "):
            count += 1
print("repeated: %d" % count, flush=True)
conn.close()
