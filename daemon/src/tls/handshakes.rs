//! TLS handshakes in progress, bounded in total and per source address.
//!
//! A peer that connects and says nothing holds a handshake until its
//! deadline. Rather than stop accepting (which would let 20 silent sockets
//! lock out everyone), a new handshake past a bound closes an older one:
//! the oldest from its own address when that address already has
//! [`MAX_PER_ADDRESS`], otherwise, when [`MAX_HANDSHAKES`] are running, the
//! oldest from the address holding the most. A client that completes its
//! handshake promptly is therefore served unless that many newer
//! connections arrive from its own (or the busiest) address meanwhile.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

/// Handshakes that may run at once on one daemon.
pub const MAX_HANDSHAKES: usize = 64;
/// Handshakes that may run at once from one source address.
pub const MAX_PER_ADDRESS: usize = 16;

struct Entry {
    addr: IpAddr,
    cancel: CancellationToken,
}

/// The running handshakes, in arrival order (keys are increasing).
#[derive(Default)]
pub struct Handshakes {
    inner: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    next: u64,
    running: BTreeMap<u64, Entry>,
}

/// One handshake in progress; it leaves the table when dropped. When a
/// newer handshake pushes it out, [`Slot::evicted`] fires.
pub struct Slot {
    table: Arc<Handshakes>,
    key: u64,
    cancel: CancellationToken,
}

impl Slot {
    /// Completes when a newer handshake has taken this one's place.
    pub async fn evicted(&self) {
        self.cancel.cancelled().await
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.table.lock().running.remove(&self.key);
    }
}

impl Handshakes {
    /// Records a new handshake from `addr`, closing an older one first when
    /// a bound is reached (see the module documentation).
    pub fn begin(self: &Arc<Self>, addr: IpAddr) -> Slot {
        let mut table = self.lock();
        let victim = if table.count_from(addr) >= MAX_PER_ADDRESS {
            table.oldest_from(addr)
        } else if table.running.len() >= MAX_HANDSHAKES {
            table.busiest().and_then(|busy| table.oldest_from(busy))
        } else {
            None
        };
        if let Some(key) = victim {
            if let Some(entry) = table.running.remove(&key) {
                entry.cancel.cancel();
            }
        }
        let key = table.next;
        table.next += 1;
        let cancel = CancellationToken::new();
        table.running.insert(
            key,
            Entry {
                addr,
                cancel: cancel.clone(),
            },
        );
        Slot {
            table: self.clone(),
            key,
            cancel,
        }
    }

    pub fn count(&self) -> usize {
        self.lock().running.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Table {
    fn count_from(&self, addr: IpAddr) -> usize {
        self.running.values().filter(|e| e.addr == addr).count()
    }

    fn oldest_from(&self, addr: IpAddr) -> Option<u64> {
        self.running
            .iter()
            .find(|(_, e)| e.addr == addr)
            .map(|(k, _)| *k)
    }

    /// The address with the most handshakes; ties go to the one whose
    /// oldest handshake is older.
    fn busiest(&self) -> Option<IpAddr> {
        let mut counts: Vec<(IpAddr, usize)> = Vec::new();
        for entry in self.running.values() {
            match counts.iter_mut().find(|(a, _)| *a == entry.addr) {
                Some((_, n)) => *n += 1,
                None => counts.push((entry.addr, 1)),
            }
        }
        // max_by_key keeps the last maximum: iterate newest-first so the
        // address seen first in arrival order wins a tie.
        counts
            .into_iter()
            .rev()
            .max_by_key(|(_, n)| *n)
            .map(|(a, _)| a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    fn is_evicted(slot: &Slot) -> bool {
        slot.cancel.is_cancelled()
    }

    #[test]
    fn one_address_keeps_at_most_its_share_and_newcomers_win() {
        let table = Arc::new(Handshakes::default());
        let silent: Vec<Slot> = (0..40).map(|_| table.begin(ip(1))).collect();
        assert_eq!(table.count(), MAX_PER_ADDRESS);
        let evicted = silent.iter().filter(|s| is_evicted(s)).count();
        assert_eq!(evicted, 40 - MAX_PER_ADDRESS);
        assert!(is_evicted(&silent[0]) && !is_evicted(&silent[39]));
        let good = table.begin(ip(1));
        assert!(
            !is_evicted(&good),
            "the newest handshake is never the victim"
        );
        assert!(is_evicted(&silent[40 - MAX_PER_ADDRESS]), "oldest goes");
        drop(silent);
        assert_eq!(table.count(), 1);
    }

    #[test]
    fn the_total_bound_takes_from_the_busiest_address() {
        let table = Arc::new(Handshakes::default());
        let mut slots = Vec::new();
        // Four addresses: 16 + 16 + 16 + 15 = 63 handshakes.
        for addr in 1..=4u8 {
            let n = if addr == 4 { 15 } else { 16 };
            slots.extend((0..n).map(|_| (addr, table.begin(ip(addr)))));
        }
        slots.push((5, table.begin(ip(5))));
        assert_eq!(table.count(), MAX_HANDSHAKES);
        let newcomer = table.begin(ip(6));
        assert_eq!(table.count(), MAX_HANDSHAKES);
        let evicted: Vec<u8> = slots
            .iter()
            .filter(|(_, s)| is_evicted(s))
            .map(|(a, _)| *a)
            .collect();
        assert_eq!(evicted, vec![1], "the oldest of the first busiest address");
        assert!(!is_evicted(&newcomer));
        assert!(!slots.iter().any(|(a, s)| *a == 5 && is_evicted(s)));
    }
}
