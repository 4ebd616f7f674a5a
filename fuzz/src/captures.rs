//! Reads the recorded traffic in `shared/protocol/captures/` (text files:
//! one `[conn] #k ... C->S|S->C len=...` line per message, its length word
//! and header as seven hex words, then its body as a hex dump). Bodies cut
//! short in the recording (`... (N more bytes not shown)`) are dropped.

use std::path::{Path, PathBuf};

/// One recorded message.
pub struct Recorded {
    /// The connection label, e.g. `rw-1`, unique within its file.
    pub connection: String,
    pub from_client: bool,
    pub wire: Vec<u8>,
}

/// The capture directory next to the workspace, when present.
pub fn captures_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocol/captures");
    dir.is_dir().then_some(dir)
}

fn hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

fn is_dump_line(line: &str) -> bool {
    let b = line.as_bytes();
    line.len() >= 14
        && line.starts_with("      ")
        && b[6..12].iter().all(u8::is_ascii_hexdigit)
        && &line[12..14] == "  "
}

/// The complete messages of one capture file, in recorded order.
pub fn parse(text: &str) -> Vec<Recorded> {
    let mut out = Vec::new();
    let mut current: Option<(Recorded, bool)> = None;
    let mut label = (String::new(), false);
    let flush = |current: &mut Option<(Recorded, bool)>, out: &mut Vec<Recorded>| {
        if let Some((m, complete)) = current.take() {
            let len = m
                .wire
                .get(..4)
                .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
            if complete && len == Some(m.wire.len() as u32) {
                out.push(m);
            }
        }
    };
    for line in text.lines() {
        if line.starts_with('[') && line.contains(" len=") {
            let connection = line[1..line.find(']').unwrap_or(1)].to_string();
            label = (connection, line.contains(" C->S "));
        } else if let Some(words) = line.strip_prefix("    length+header hex: ") {
            flush(&mut current, &mut out);
            if let Some(wire) = hex(words).filter(|w| w.len() == 28) {
                let m = Recorded {
                    connection: label.0.clone(),
                    from_client: label.1,
                    wire,
                };
                current = Some((m, true));
            }
        } else if is_dump_line(line) {
            if let Some((m, _)) = current.as_mut() {
                let end = line.len().min(14 + 35);
                match hex(&line[14..end]) {
                    Some(bytes) => m.wire.extend(bytes),
                    None => current = None,
                }
            }
        } else if line.contains("more bytes not shown") {
            if let Some((_, complete)) = current.as_mut() {
                *complete = false;
            }
        }
    }
    flush(&mut current, &mut out);
    out
}

/// Every capture file's messages, by file name order.
pub fn load_all() -> Vec<(String, Vec<Recorded>)> {
    let Some(dir) = captures_dir() else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.retain(|p| p.extension().is_some_and(|e| e == "txt"));
    names.sort();
    names
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some((name, parse(&text)))
        })
        .collect()
}
