"""Prints one line per guest agent lifecycle event of the daemon at argv[1]:
'agent-lifecycle NAME state=S reason=R'; 'registered' once the callback is in place."""
import sys

import libvirt

libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])


def on_agent(_conn, dom, state, reason, _opaque):
    print("agent-lifecycle %s state=%d reason=%d" % (dom.name(), state, reason), flush=True)


conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE, on_agent, None)
print("registered", flush=True)
while True:
    libvirt.virEventRunDefaultImpl()
