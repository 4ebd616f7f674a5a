//! `stop` (and `shutdown`): record the running guests of every URI, then save them
//! (managed save) or ask them to shut down, one by one or several at a time.

use std::collections::VecDeque;
use std::thread;
use std::time::Duration;

use protocol::remote::NonnullDomain;

use super::config::OnShutdown;
use super::connection::Client;
use super::domains::{self, format_uuid, list_filter, parse_uuid};
use super::state_files::UriGuests;
use super::{say, say_line, Guests, EXIT_NOT_CONFIGURED};

/// Interval between checks on a guest that is saving or shutting down.
const POLL: Duration = Duration::from_secs(1);
/// Progress is printed every this many checks.
const REPORT_EVERY: i64 = 5;

impl Guests {
    /// Returns the exit status so far.
    pub fn stop(&mut self) -> i32 {
        // The last stop was not followed by a start: those guests are still recorded.
        if self.files.list_exists() {
            return self.retval;
        }
        let suspending = self.settings.on_shutdown == OnShutdown::Suspend;
        if !suspending && self.settings.shutdown_timeout < 0 {
            say_line("SHUTDOWN_TIMEOUT must be equal or greater than 0");
            self.retval = EXIT_NOT_CONFIGURED;
            return self.retval;
        }
        if let Err(e) = self.files.create_list() {
            self.failed(e);
            return self.retval;
        }
        for uri in self.settings.uris.clone() {
            let Some(mut client) = self.connect(&uri) else {
                continue;
            };
            match self.record_uri(&mut client, &uri, suspending) {
                Ok(Some(entry)) => {
                    if let Err(e) = self.files.append(&entry) {
                        self.failed(e);
                    }
                }
                Ok(None) => {}
                Err(()) => return self.retval,
            }
        }

        if self.files.list_is_empty() {
            self.files.remove_list();
        } else {
            match self.files.read_list() {
                Ok(entries) => {
                    for entry in entries {
                        self.handle_uri(&entry, suspending);
                    }
                }
                Err(e) => self.failed(e),
            }
        }
        self.files.remove_lock();
        self.retval
    }

    /// Lists the running guests of one URI and returns those to handle. `Err` means
    /// the listing failed so that stopping cannot go on safely.
    fn record_uri(
        &mut self,
        client: &mut Client,
        uri: &str,
        suspending: bool,
    ) -> Result<Option<UriGuests>, ()> {
        say(&format!("Running guests on {uri} URI: "));
        let mut list = match domains::list_running(client, 0) {
            Ok(list) => list,
            Err(e) => {
                say_line("");
                self.failed(e);
                Vec::new()
            }
        };
        let names: Vec<&str> = list.iter().map(|d| d.name.as_str()).collect();
        if names.is_empty() {
            say_line("no running guests.");
        } else {
            say_line(&names.join(", "));
        }

        if suspending {
            match domains::list_running(client, list_filter::TRANSIENT) {
                Ok(transient) if !transient.is_empty() => {
                    let names: Vec<&str> = transient.iter().map(|d| d.name.as_str()).collect();
                    say_line(&format!(
                        "Not suspending transient guests on URI: {uri}: {}",
                        names.join(", ")
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    say_line("Failed to list transient guests");
                    self.failed(e);
                    return Err(());
                }
            }
            list = match domains::list_running(client, list_filter::PERSISTENT) {
                Ok(list) => list,
                Err(e) => {
                    say_line(&format!("Failed to list persistent guests on {uri}"));
                    self.failed(e);
                    return Err(());
                }
            };
        }
        if list.is_empty() {
            return Ok(None);
        }
        Ok(Some(UriGuests {
            uri: uri.to_string(),
            uuids: list.iter().map(|d| format_uuid(&d.uuid)).collect(),
        }))
    }

    fn handle_uri(&mut self, entry: &UriGuests, suspending: bool) {
        let uri = &entry.uri;
        if suspending {
            say_line(&format!("Suspending guests on {uri} URI..."));
        } else {
            say_line(&format!("Shutting down guests on {uri} URI..."));
        }
        let Some(client) = self.connect(uri) else {
            self.retval = 1;
            return;
        };
        let uuids: Vec<[u8; 16]> = entry.uuids.iter().filter_map(|u| parse_uuid(u)).collect();
        if !suspending && self.settings.parallel_shutdown > 1 {
            self.shutdown_parallel(client, uuids);
            return;
        }
        let mut client = Some(client);
        for uuid in uuids {
            let Some(current) = client.take() else {
                return;
            };
            client = if suspending {
                self.suspend_guest(current, uri, &uuid)
            } else {
                let mut current = current;
                self.shutdown_guest(&mut current, &uuid);
                Some(current)
            };
        }
    }

    /// Managed-saves one guest, printing progress every few seconds while it runs.
    /// The save runs on its own thread with the connection; progress questions go over
    /// a second connection. Returns the connection for the next guest.
    fn suspend_guest(&mut self, mut client: Client, uri: &str, uuid: &[u8; 16]) -> Option<Client> {
        let dom = match domains::lookup_uuid(&mut client, uuid) {
            Ok(dom) => dom,
            Err(e) => {
                say_line("Suspending : ...");
                self.failed(e);
                return Some(client);
            }
        };
        let label = format!("Suspending {}: ", dom.name);
        say_line(&format!("{label}..."));
        let bypass = self.settings.bypass_cache;
        let saved_dom = dom.clone();
        let worker = thread::spawn(move || {
            let result = domains::managed_save(&mut client, &saved_dom, bypass);
            (client, result)
        });
        let mut progress_client: Option<Client> = None;
        let mut waited = 0i64;
        while !worker.is_finished() {
            thread::sleep(POLL.min(Duration::from_millis(100)));
            if worker.is_finished() {
                break;
            }
            waited += 1;
            // Ten short naps make one second of the script's cadence.
            if waited % (10 * REPORT_EVERY) == 0 {
                say_line(&format!(
                    "{label}{}",
                    self.progress(&mut progress_client, uri, &dom)
                ));
            }
        }
        match worker.join() {
            Ok((client, Ok(()))) => {
                say_line(&format!("{label}done"));
                Some(client)
            }
            Ok((client, Err(e))) => {
                self.failed(e);
                Some(client)
            }
            Err(_) => {
                self.failed("the managed save thread failed");
                None
            }
        }
    }

    /// How much of the save is done, or `...` when the daemon cannot tell.
    fn progress(&self, client: &mut Option<Client>, uri: &str, dom: &NonnullDomain) -> String {
        if client.is_none() {
            *client = super::target::resolve(uri, &self.paths)
                .ok()
                .and_then(|t| Client::open(&t).ok());
        }
        let Some(conn) = client.as_mut() else {
            return "...".to_string();
        };
        match domains::job_info(conn, dom) {
            Ok(info) if info.type_ != 0 => domains::pretty_size(info.data_processed),
            _ => "...".to_string(),
        }
    }

    /// Asks one guest to shut down and waits for it, up to SHUTDOWN_TIMEOUT seconds.
    fn shutdown_guest(&mut self, client: &mut Client, uuid: &[u8; 16]) {
        let name = domains::name_of(client, uuid);
        say_line(&format!("Starting shutdown on guest: {name}"));
        let dom = NonnullDomain {
            name: name.clone(),
            uuid: *uuid,
            id: -1,
        };
        if let Err(e) = domains::shutdown(client, &dom) {
            self.failed(e);
            return;
        }
        let timeout = self.settings.shutdown_timeout;
        let mut left = timeout;
        let mut waited = 0i64;
        loop {
            match domains::is_running(client, uuid) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    self.failed(e);
                    return;
                }
            }
            if timeout > 0 && left <= 0 {
                break;
            }
            thread::sleep(POLL);
            if timeout > 0 {
                if left % REPORT_EVERY == 0 {
                    say_line(&format!(
                        "Waiting for guest {name} to shut down, {left} seconds left"
                    ));
                }
                left -= 1;
            } else {
                waited += 1;
                if waited % REPORT_EVERY == 0 {
                    say_line(&format!("Waiting for guest {name} to shut down"));
                }
            }
        }
        match domains::is_running(client, uuid) {
            Ok(true) => say_line(&format!(
                "Shutdown of guest {name} failed to complete in time."
            )),
            Ok(false) => say_line(&format!("Shutdown of guest {name} complete.")),
            Err(e) => self.failed(e),
        }
    }

    /// Keeps up to PARALLEL_SHUTDOWN guests shutting down at once; SHUTDOWN_TIMEOUT
    /// bounds the whole URI. Running out of time is a failure (exit status 1).
    fn shutdown_parallel(&mut self, mut client: Client, uuids: Vec<[u8; 16]>) {
        let limit = self.settings.parallel_shutdown as usize;
        let timeout = self.settings.shutdown_timeout;
        let mut pending: VecDeque<[u8; 16]> = uuids.into();
        // Names are kept from the start: a transient guest is gone once it stops.
        let mut in_flight: Vec<([u8; 16], String)> = Vec::new();
        let mut left = timeout;
        let mut waited = 0i64;
        while !in_flight.is_empty() || !pending.is_empty() {
            while in_flight.len() < limit {
                let Some(uuid) = pending.pop_front() else {
                    break;
                };
                let name = domains::name_of(&mut client, &uuid);
                if in_flight.iter().any(|(u, _)| *u == uuid) || name.is_empty() {
                    continue;
                }
                say_line(&format!("Starting shutdown on guest: {name}"));
                let dom = NonnullDomain {
                    name: name.clone(),
                    uuid,
                    id: -1,
                };
                if let Err(e) = domains::shutdown(&mut client, &dom) {
                    self.failed(e);
                }
                in_flight.push((uuid, name));
            }
            thread::sleep(POLL);

            // Progress and the deadline come before the check, in libvirt's order.
            let count = in_flight.len() + pending.len();
            if timeout > 0 {
                if left % REPORT_EVERY == 0 {
                    say_line(&format!(
                        "Waiting for {count} guests to shut down, {left} seconds left"
                    ));
                }
                left -= 1;
                if left <= 0 {
                    say_line("Timeout expired while shutting down domains");
                    self.retval = 1;
                    return;
                }
            } else {
                waited += 1;
                if waited % REPORT_EVERY == 0 {
                    say_line(&format!("Waiting for {count} guests to shut down"));
                }
            }

            let before = std::mem::take(&mut in_flight);
            for (uuid, name) in before {
                match domains::is_running(&mut client, &uuid) {
                    Ok(true) => in_flight.push((uuid, name)),
                    Ok(false) => say_line(&format!("Shutdown of guest {name} complete.")),
                    Err(_) => say_line(&format!(
                        "Failed to determine state of guest: {}. Not tracking it anymore.",
                        format_uuid(&uuid)
                    )),
                }
            }
        }
    }
}
