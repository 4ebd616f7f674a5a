"""A stand-in for polkitd on a private bus, for the polkit tests.

Usage: mock_polkit_authority.py BUS_ADDRESS RECORD_FILE ALLOW CHALLENGE

It owns org.freedesktop.PolicyKit1 and answers CheckAuthorization: an
action id listed in ALLOW (comma separated) is authorized, one listed in
CHALLENGE answers "needs interactive authentication", anything else is
denied. Every request is appended to RECORD_FILE as one JSON line, with the
D-Bus type of each subject field, so tests can check what the daemon sent.
Prints "ready" once the name is owned.
"""

import json
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

AUTHORITY_IFACE = "org.freedesktop.PolicyKit1.Authority"


class Authority(dbus.service.Object):
    def __init__(self, bus, record, allow, challenge):
        super().__init__(bus, "/org/freedesktop/PolicyKit1/Authority")
        self.record = record
        self.allow = allow
        self.challenge = challenge

    @dbus.service.method(
        AUTHORITY_IFACE,
        in_signature="(sa{sv})sa{ss}us",
        out_signature="(bba{ss})",
    )
    def CheckAuthorization(self, subject, action_id, details, flags, cancellation):
        kind, fields = subject
        entry = {
            "subject_kind": str(kind),
            "fields": {str(k): int(v) for k, v in fields.items()},
            "field_types": {str(k): type(v).__name__ for k, v in fields.items()},
            "action_id": str(action_id),
            "details": {str(k): str(v) for k, v in details.items()},
            "flags": int(flags),
            "cancellation_id": str(cancellation),
        }
        with open(self.record, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry, sort_keys=True) + "\n")
        if action_id in self.allow:
            return (True, False, {})
        if action_id in self.challenge:
            return (False, True, {})
        return (False, False, {})


def main():
    address, record, allow, challenge = sys.argv[1:5]
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(address)
    name = dbus.service.BusName("org.freedesktop.PolicyKit1", bus)
    authority = Authority(
        bus,
        record,
        set(filter(None, allow.split(","))),
        set(filter(None, challenge.split(","))),
    )
    print("ready", flush=True)
    GLib.MainLoop().run()
    del name, authority


if __name__ == "__main__":
    main()
