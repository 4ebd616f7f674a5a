//! `start`: bring back the guests recorded by the last `stop` (when ON_BOOT=start),
//! then forget the list and mark the service started.

use std::thread;

use protocol::remote::NonnullDomain;

use super::config::OnBoot;
use super::connection::Client;
use super::domains::{self, parse_uuid};
use super::state_files::UriGuests;
use super::{say, say_line, target, Guests};

impl Guests {
    pub fn start(&mut self) {
        if !self.files.list_exists() {
            self.mark_started();
            return;
        }
        if self.settings.on_boot != OnBoot::Start {
            say_line("libvirt-guests is configured not to start any guests on boot");
            self.files.remove_list();
            self.mark_started();
            return;
        }
        let entries = match self.files.read_list() {
            Ok(entries) => entries,
            Err(e) => {
                self.failed(e);
                return;
            }
        };
        let mut first = true;
        for entry in entries {
            self.resume_uri(&entry, &mut first);
        }
        self.files.remove_list();
        self.mark_started();
    }

    fn mark_started(&mut self) {
        if let Err(e) = self.files.touch_lock() {
            self.failed(e);
        }
    }

    /// Starts the guests of one URI; `first` tracks whether a guest was started yet,
    /// since START_DELAY goes between starts, not before the first.
    fn resume_uri(&mut self, entry: &UriGuests, first: &mut bool) {
        let uri = &entry.uri;
        if !self.settings.uris.iter().any(|u| u == uri) {
            say_line(&format!("Ignoring guests on {uri} URI"));
            return;
        }
        let Some(mut client) = self.connect(uri) else {
            return;
        };
        say_line(&format!("Resuming guests on {uri} URI..."));
        // `None`: the guest could not be found; reported in its place in the list.
        let mut guests: Vec<Option<NonnullDomain>> = Vec::new();
        for text in &entry.uuids {
            let Some(uuid) = parse_uuid(text) else {
                self.failed(format!(
                    "'{text}' in {} is not a UUID",
                    self.files.list.display()
                ));
                continue;
            };
            match domains::lookup_uuid(&mut client, &uuid) {
                Ok(dom) => guests.push(Some(dom)),
                Err(e) => {
                    self.failed(e);
                    guests.push(None);
                }
            }
        }
        if self.settings.start_delay.is_zero() {
            self.start_all_at_once(&mut client, uri, guests);
            return;
        }
        for dom in guests {
            let Some(dom) = dom else {
                say_line("Resuming guest : ");
                continue;
            };
            say(&format!("Resuming guest {}: ", dom.name));
            if dom.id != -1 {
                say_line("already active");
            } else {
                if !*first {
                    thread::sleep(self.settings.start_delay);
                }
                *first = false;
                let started = domains::start(&mut client, &dom, self.settings.bypass_cache);
                self.report_start(started.map_err(|e| e.to_string()));
            }
            self.sync_clock(&mut client, &dom);
        }
    }

    /// START_DELAY=0: every guest is started at the same time, each over its own
    /// connection (restoring many saved guests one by one can take long). Results are
    /// reported in list order.
    fn start_all_at_once(
        &mut self,
        client: &mut Client,
        uri: &str,
        guests: Vec<Option<NonnullDomain>>,
    ) {
        let target = match target::resolve(uri, &self.paths) {
            Ok(target) => target,
            Err(e) => {
                self.failed(e);
                return;
            }
        };
        let bypass = self.settings.bypass_cache;
        let starts: Vec<_> = guests
            .iter()
            .map(|dom| {
                // Guests not found or already running get no thread.
                let dom = dom.as_ref().filter(|d| d.id == -1)?.clone();
                let target = target.clone();
                Some(thread::spawn(move || -> Result<(), String> {
                    let mut own = Client::open(&target).map_err(|e| e.to_string())?;
                    domains::start(&mut own, &dom, bypass).map_err(|e| e.to_string())
                }))
            })
            .collect();
        for (dom, start) in guests.iter().zip(starts) {
            let Some(dom) = dom else {
                say_line("Resuming guest : ");
                continue;
            };
            say(&format!("Resuming guest {}: ", dom.name));
            match start {
                None => say_line("already active"),
                Some(handle) => {
                    let outcome = handle
                        .join()
                        .unwrap_or_else(|_| Err("the start thread failed".to_string()));
                    self.report_start(outcome);
                }
            }
            self.sync_clock(client, dom);
        }
    }

    fn report_start(&mut self, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => say_line("done"),
            Err(e) => {
                say_line("");
                self.failed(e);
            }
        }
    }

    /// SYNC_TIME: the clock is a nicety, a guest without an agent still counts as
    /// resumed.
    fn sync_clock(&self, client: &mut Client, dom: &NonnullDomain) {
        if self.settings.sync_time {
            if let Err(e) = domains::sync_time(client, dom) {
                eprintln!("error: cannot synchronize the clock of {}: {e}", dom.name);
            }
        }
    }
}
