"""Defines a domain from a file that the daemon must refuse, then checks the
connection still answers.

Usage: define_refused.py URI DOMAIN_XML_FILE
Prints one JSON object: the error of defineXML (or null when it was accepted) and the
names of the domains listed afterwards on the same connection.
"""
import json
import sys

import libvirt

conn = libvirt.open(sys.argv[1])
with open(sys.argv[2]) as f:
    xml = f.read()
error = None
try:
    conn.defineXML(xml)
except libvirt.libvirtError as exc:
    error = {
        "code": exc.get_error_code(),
        "domain": exc.get_error_domain(),
        "message": exc.get_error_message(),
    }
names = sorted(d.name() for d in conn.listAllDomains())
print(json.dumps({"error": error, "domains": names}))
