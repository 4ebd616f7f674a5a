//! Helpers for the tests that run real scripts: a hooks directory in a
//! temporary directory, scripts written into it, and files they leave behind.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A temporary hooks directory plus a scratch directory the scripts write to.
pub struct HookDir {
    root: TempDir,
}

impl HookDir {
    pub fn new() -> HookDir {
        let root = tempfile::Builder::new()
            .prefix("hooks-test-")
            .tempdir()
            .expect("create a temporary directory");
        fs::create_dir(root.path().join("hooks")).expect("create hooks/");
        fs::create_dir(root.path().join("out")).expect("create out/");
        HookDir { root }
    }

    /// The hooks directory (what `Hooks::discover` gets).
    pub fn hooks(&self) -> PathBuf {
        self.root.path().join("hooks")
    }

    /// A file in the scratch directory.
    pub fn out(&self, name: &str) -> PathBuf {
        self.root.path().join("out").join(name)
    }

    /// Writes an executable `/bin/sh` script at `relative` under the hooks
    /// directory (creating `<driver>.d/` as needed). `OUT` in `body` stands
    /// for the scratch directory.
    pub fn script(&self, relative: &str, body: &str) -> PathBuf {
        self.script_with_mode(relative, body, 0o755)
    }

    pub fn script_with_mode(&self, relative: &str, body: &str, mode: u32) -> PathBuf {
        let path = self.hooks().join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create script directory");
        }
        let out = self.root.path().join("out");
        let text = format!(
            "#!/bin/sh\n{}\n",
            body.replace("OUT", &out.display().to_string())
        );
        fs::write(&path, text).expect("write script");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod script");
        path
    }

    /// The contents of a scratch file, empty when it does not exist.
    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.out(name)).unwrap_or_default()
    }

    pub fn exists(&self, name: &str) -> bool {
        self.out(name).exists()
    }
}

/// Polls `condition` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Whether `pid` is gone or only a zombie waiting for its reaper.
pub fn process_is_dead(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

/// Reads a pid a script wrote into a scratch file, waiting for it to appear.
pub fn read_pid(dir: &HookDir, name: &str) -> i32 {
    let mut pid = None;
    let written = wait_until(Duration::from_secs(10), || {
        pid = dir.read(name).trim().parse().ok();
        pid.is_some()
    });
    assert!(written, "the script never wrote {name}");
    pid.unwrap_or_default()
}

/// Kills a process a test left running on purpose.
pub fn kill(pid: i32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// The lines of a record file.
pub fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}
