//! Reads the recorded traffic in `shared/protocol/captures/`.
//!
//! Each recorded message appears as a `length+header hex:` line with seven
//! words, a `body: N bytes (...)` line and hex dump lines whose hex area
//! occupies fixed columns. Long bodies are cut short in the recording
//! (`... (N more bytes not shown)`); such messages are marked incomplete.

#![allow(dead_code)]

pub mod rng;

use std::path::PathBuf;

/// One message as recorded.
pub struct Captured {
    /// The recording's own summary line, for failure messages.
    pub label: String,
    /// Length word + header + the body bytes that were recorded.
    pub wire: Vec<u8>,
    /// Whether the whole body was recorded.
    pub complete: bool,
}

/// The capture directory; panics with a clear message when it is missing.
pub fn captures_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocol/captures");
    assert!(
        dir.is_dir(),
        "capture directory {} is missing: the golden tests need shared/protocol/captures \
         next to the workspace",
        dir.display()
    );
    dir
}

/// Names of all capture files, sorted.
pub fn capture_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(captures_dir())
        .expect("capture directory is readable")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    names
}

fn hex_bytes(text: &str) -> Vec<u8> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        digits.len().is_multiple_of(2),
        "odd number of hex digits in {text:?}"
    );
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn is_dump_line(line: &str) -> bool {
    let b = line.as_bytes();
    line.len() >= 14
        && line.starts_with("      ")
        && b[6..12].iter().all(u8::is_ascii_hexdigit)
        && &line[12..14] == "  "
}

/// Parses one capture file.
pub fn load(name: &str) -> Vec<Captured> {
    let path = captures_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out: Vec<Captured> = Vec::new();
    let mut label = String::new();
    for line in text.lines() {
        if line.starts_with('[') && line.contains(" len=") {
            label = format!("{name}: {line}");
        } else if let Some(hex) = line.strip_prefix("    length+header hex: ") {
            let wire = hex_bytes(hex);
            assert_eq!(wire.len(), 28, "{label}: header line");
            out.push(Captured {
                label: label.clone(),
                wire,
                complete: true,
            });
        } else if is_dump_line(line) {
            let cur = out.last_mut().expect("dump line before any header");
            let end = line.len().min(14 + 35);
            cur.wire.extend(hex_bytes(&line[14..end]));
        } else if line.trim_start().starts_with("... (") && line.contains("more bytes not shown") {
            if let Some(cur) = out.last_mut() {
                cur.complete = false;
            }
        }
    }
    out
}
