//! `virsh qemu-monitor-event`: QMP events passed to the clients that registered
//! for them, filtered by domain and event name (exact, case-blind or a regular
//! expression), as libvirt's QEMU driver does.

use std::sync::Mutex;

use drivers::api::{DomainHandle, Uuid};
use protocol::header::{Header, MessageType};
use protocol::programs::{qemu_proc, PROTOCOL_VERSION, QEMU_PROGRAM};
use protocol::qemu::QemuDomainMonitorEventMsg;
use protocol::remote::NonnullDomain;
use protocol::xdr::Xdr;

use crate::events::{TooManyCallbacks, MAX_CALLBACKS_PER_CLIENT};
use crate::server::client::{Outgoing, OutgoingSender};

/// `VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX`.
pub const FLAG_REGEX: u32 = 1;
/// `VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE`.
pub const FLAG_NOCASE: u32 = 2;

/// The compiled form of a pattern may use at most this much memory, so a
/// client cannot make the daemon build a huge automaton.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Which events a registration lets through.
pub enum Filter {
    All,
    Name { name: String, nocase: bool },
    Pattern(regex::Regex),
}

impl Filter {
    /// The filter libvirt builds from the optional event name and the flags;
    /// `Err` carries the text of a pattern that does not compile.
    pub fn new(event: Option<&str>, flags: u32) -> Result<Filter, String> {
        let Some(event) = event else {
            return Ok(Filter::All);
        };
        let nocase = flags & FLAG_NOCASE != 0;
        if flags & FLAG_REGEX == 0 {
            return Ok(Filter::Name {
                name: event.to_string(),
                nocase,
            });
        }
        regex::RegexBuilder::new(event)
            .case_insensitive(nocase)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(Filter::Pattern)
            .map_err(|e| e.to_string())
    }

    pub fn matches(&self, event: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Name { name, nocase: true } => name.eq_ignore_ascii_case(event),
            Filter::Name {
                name,
                nocase: false,
            } => name == event,
            Filter::Pattern(re) => re.is_match(event),
        }
    }
}

struct Registration {
    callback_id: i32,
    client_id: u64,
    domain: Option<Uuid>,
    filter: Filter,
    sender: OutgoingSender,
}

/// The registrations of every client; messages go through each client's
/// bounded outgoing queue like the other events.
#[derive(Default)]
pub struct MonitorEventHub {
    next_id: std::sync::atomic::AtomicI32,
    registrations: Mutex<Vec<Registration>>,
}

/// One QMP event of one guest.
pub struct MonitorEvent<'a> {
    pub domain: &'a DomainHandle,
    pub event: &'a str,
    pub seconds: i64,
    pub micros: u32,
    pub details: Option<&'a str>,
}

impl MonitorEventHub {
    pub fn register(
        &self,
        client_id: u64,
        domain: Option<Uuid>,
        filter: Filter,
        sender: OutgoingSender,
    ) -> Result<i32, TooManyCallbacks> {
        let mut regs = self.lock();
        if regs.iter().filter(|r| r.client_id == client_id).count() >= MAX_CALLBACKS_PER_CLIENT {
            return Err(TooManyCallbacks);
        }
        let callback_id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        regs.push(Registration {
            callback_id,
            client_id,
            domain,
            filter,
            sender,
        });
        Ok(callback_id)
    }

    /// False when the client holds no registration with that ID.
    pub fn deregister(&self, client_id: u64, callback_id: i32) -> bool {
        let mut regs = self.lock();
        let before = regs.len();
        regs.retain(|r| !(r.client_id == client_id && r.callback_id == callback_id));
        regs.len() != before
    }

    pub fn forget_client(&self, client_id: u64) {
        self.lock().retain(|r| r.client_id != client_id);
    }

    pub fn publish(&self, ev: &MonitorEvent<'_>) {
        for reg in self.lock().iter() {
            if reg.domain.is_some_and(|uuid| uuid != ev.domain.uuid)
                || !reg.filter.matches(ev.event)
            {
                continue;
            }
            let _ = reg
                .sender
                .send(Outgoing::Message(encode(reg.callback_id, ev)));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Registration>> {
        self.registrations.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn encode(callback_id: i32, ev: &MonitorEvent<'_>) -> Vec<u8> {
    let mut body = Vec::with_capacity(128);
    QemuDomainMonitorEventMsg {
        callback_id,
        dom: NonnullDomain {
            name: ev.domain.name.clone(),
            uuid: ev.domain.uuid,
            id: ev.domain.id,
        },
        event: ev.event.to_string(),
        seconds: ev.seconds,
        micros: ev.micros,
        details: ev.details.map(str::to_string),
    }
    .encode(&mut body);
    let header = Header {
        prog: QEMU_PROGRAM,
        vers: PROTOCOL_VERSION,
        proc_: qemu_proc::DOMAIN_MONITOR_EVENT,
        mtype: MessageType::Message as u32,
        serial: 1,
        status: 0,
    };
    protocol::frame::encode_message(&header, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_follow_libvirts_flags() {
        assert!(Filter::new(None, FLAG_REGEX).unwrap().matches("STOP"));
        let exact = Filter::new(Some("STOP"), 0).unwrap();
        assert!(exact.matches("STOP") && !exact.matches("stop") && !exact.matches("STOPPED"));
        let blind = Filter::new(Some("stop"), FLAG_NOCASE).unwrap();
        assert!(blind.matches("STOP") && !blind.matches("RESUME"));
        let pattern = Filter::new(Some("^(STOP|RESUME)$"), FLAG_REGEX).unwrap();
        assert!(pattern.matches("RESUME") && !pattern.matches("resume"));
        let search = Filter::new(Some("vnc_"), FLAG_REGEX | FLAG_NOCASE).unwrap();
        assert!(search.matches("VNC_CONNECTED"), "unanchored, case-blind");
        assert!(Filter::new(Some("(unclosed"), FLAG_REGEX).is_err());
    }

    #[test]
    fn messages_reach_matching_registrations_only() {
        let hub = MonitorEventHub::default();
        let id = hub
            .register(1, Some([2; 16]), Filter::All, OutgoingSender::detached())
            .expect("registered");
        assert!(!hub.deregister(2, id), "another client's id");
        assert!(hub.deregister(1, id));
        assert!(!hub.deregister(1, id));
        let domain = DomainHandle {
            name: "d".into(),
            uuid: [2; 16],
            id: 4,
        };
        let message = encode(
            9,
            &MonitorEvent {
                domain: &domain,
                event: "STOP",
                seconds: 5,
                micros: 6,
                details: None,
            },
        );
        let raw: &[u8; 24] = message[4..28].try_into().expect("header");
        let header = Header::decode(raw);
        assert_eq!(
            (header.prog, header.proc_),
            (QEMU_PROGRAM, qemu_proc::DOMAIN_MONITOR_EVENT)
        );
    }
}
