//! A long-running `virsh event --all --loop` whose output lines are read
//! with deadlines, to watch the events a daemon delivers to a real client.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::tools::{virsh, virsh_command};

/// A running `virsh event` process.
pub struct EventListener {
    child: Child,
    lines: Receiver<String>,
    /// Every stdout line received so far, in order.
    pub seen: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl EventListener {
    /// Starts `virsh -c URI event --all --loop`.
    pub fn spawn(uri: &str) -> EventListener {
        let mut command = virsh_command();
        command.args(["-c", uri, "event", "--all", "--loop"]);
        EventListener::spawn_command(command)
    }

    /// Starts any event printer (a python3-libvirt script) that prints one line
    /// per event.
    pub fn spawn_command(mut command: std::process::Command) -> EventListener {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the event listener");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        EventListener {
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Waits for a line satisfying `wanted`; returns it, or `None` after
    /// `timeout` (or when virsh's output ends).
    pub fn wait_for_line(
        &mut self,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return Some(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None
                }
            }
        }
    }

    /// Makes sure the listener's registrations are in place: defines the
    /// `sentinel` domain (tests/data/sentinel.xml) through another client
    /// until the listener reports an event for it.
    pub fn wait_registered(&mut self, uri: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let define = format!("define {}", crate::data_file("sentinel.xml").display());
        while Instant::now() < deadline {
            virsh(uri, &define).expect_success("define the sentinel domain");
            if self
                .wait_for_line(Duration::from_millis(300), |l| {
                    l.contains("domain 'sentinel'")
                })
                .is_some()
            {
                return;
            }
            assert!(
                self.is_alive(),
                "virsh event exited early:\n{}",
                self.finish()
            );
        }
        panic!(
            "virsh event saw no event within {timeout:?}\n{}",
            self.finish()
        );
    }

    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops virsh and returns what it printed (for failure messages).
    pub fn finish(&mut self) -> String {
        let _ = self.child.kill();
        let status = self.child.wait();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        format!(
            "virsh event ({status:?}) stdout:\n{}\nstderr:\n{stderr}",
            self.seen.join("\n")
        )
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
