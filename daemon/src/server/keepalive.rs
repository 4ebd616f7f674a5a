//! Keepalive state of one client, kept apart from I/O so its timing rules are testable.
//!
//! libvirtd arms its own keepalive only after the client asked for feature
//! PROGRAM_KEEPALIVE. Once armed it sends a PING whenever the client has been
//! silent for `interval`, and drops the client when `count` PINGs in a row went
//! unanswered: with 5 s and 5 that is PINGs at +5..+25 s and a hang-up at +30 s.
//! Any message from the client counts as a sign of life.

use std::time::{Duration, Instant};

/// What the client loop must do when the keepalive deadline passes.
#[derive(Debug, PartialEq, Eq)]
pub enum KeepaliveAction {
    SendPing,
    Disconnect,
}

#[derive(Debug)]
pub struct Keepalive {
    interval: Option<Duration>,
    count: u32,
    armed: bool,
    last_rx: Instant,
    unanswered: u32,
}

impl Keepalive {
    /// `interval_secs <= 0` disables server-side keepalive, as in libvirtd.conf.
    pub fn new(interval_secs: i64, count: u32, now: Instant) -> Self {
        let interval = (interval_secs > 0).then(|| Duration::from_secs(interval_secs as u64));
        Keepalive {
            interval,
            count,
            armed: false,
            last_rx: now,
            unanswered: 0,
        }
    }

    /// The client asked for PROGRAM_KEEPALIVE: from now on we probe it.
    pub fn arm(&mut self, now: Instant) {
        if self.interval.is_some() {
            self.armed = true;
            self.last_rx = now;
            self.unanswered = 0;
        }
    }

    /// Settings changed on SIGHUP: applies to the next deadline.
    pub fn reconfigure(&mut self, interval_secs: i64, count: u32) {
        self.interval = (interval_secs > 0).then(|| Duration::from_secs(interval_secs as u64));
        self.count = count;
        if self.interval.is_none() {
            self.armed = false;
        }
    }

    /// Anything arrived from the client.
    pub fn received(&mut self, now: Instant) {
        self.last_rx = now;
        self.unanswered = 0;
    }

    /// When the loop must next call [`Keepalive::on_deadline`]; `None` when not armed.
    pub fn deadline(&self) -> Option<Instant> {
        let interval = self.interval.filter(|_| self.armed)?;
        Some(self.last_rx + interval * (self.unanswered + 1))
    }

    pub fn on_deadline(&mut self, now: Instant) -> Option<KeepaliveAction> {
        let deadline = self.deadline()?;
        if now < deadline {
            return None;
        }
        if self.unanswered >= self.count {
            return Some(KeepaliveAction::Disconnect);
        }
        self.unanswered += 1;
        Some(KeepaliveAction::SendPing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_armed_means_no_deadline() {
        let t0 = Instant::now();
        let ka = Keepalive::new(5, 5, t0);
        assert_eq!(ka.deadline(), None);
    }

    #[test]
    fn disabled_interval_never_arms() {
        let t0 = Instant::now();
        let mut ka = Keepalive::new(-1, 5, t0);
        ka.arm(t0);
        assert_eq!(ka.deadline(), None);
    }

    #[test]
    fn pings_every_interval_then_disconnects_after_count() {
        let t0 = Instant::now();
        let mut ka = Keepalive::new(5, 5, t0);
        ka.arm(t0);
        let mut actions = Vec::new();
        while let Some(deadline) = ka.deadline() {
            let action = ka.on_deadline(deadline).expect("deadline reached");
            actions.push((deadline - t0, action));
            if actions.last().map(|a| &a.1) == Some(&KeepaliveAction::Disconnect) {
                break;
            }
        }
        let secs: Vec<u64> = actions.iter().map(|(d, _)| d.as_secs()).collect();
        assert_eq!(secs, vec![5, 10, 15, 20, 25, 30]);
        assert_eq!(actions[4].1, KeepaliveAction::SendPing);
        assert_eq!(actions[5].1, KeepaliveAction::Disconnect);
    }

    #[test]
    fn traffic_resets_the_count() {
        let t0 = Instant::now();
        let mut ka = Keepalive::new(5, 2, t0);
        ka.arm(t0);
        let d1 = ka.deadline().unwrap();
        assert_eq!(ka.on_deadline(d1), Some(KeepaliveAction::SendPing));
        ka.received(d1 + Duration::from_secs(1));
        assert_eq!(ka.deadline(), Some(d1 + Duration::from_secs(6)));
        assert_eq!(ka.on_deadline(d1 + Duration::from_secs(2)), None);
    }
}
