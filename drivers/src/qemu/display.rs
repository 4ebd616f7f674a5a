//! The guest's display: screenshots through QMP `screendump` (a PPM image QEMU writes
//! into the driver's run directory, streamed to the caller and removed), and key
//! presses through QMP `send-key` with keycodes translated to QEMU's numbers.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use serde_json::json;

use super::error::QemuError;
use super::lifecycle::check_flags;
use super::Inner;
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult};

/// The most bytes of a screenshot read back (a 8192x8192 PPM is 192 MiB).
const MAX_SCREENSHOT_BYTES: u64 = 256 * 1024 * 1024;

fn invalid(code: i32, message: String) -> DriverError {
    DriverError::new(code, domains::QEMU, message)
}

impl Inner {
    pub(super) fn screenshot(
        &self,
        dom: &DomainRef,
        screen: u32,
        flags: u32,
    ) -> DriverResult<(String, UnixStream)> {
        check_flags(flags, 0, "qemuDomainScreenshot")?;
        let (name, heads) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            let heads: u32 = obj
                .def
                .devices
                .iter()
                .filter(|d| d.name == "video")
                .filter(|d| d.child("model").and_then(|m| m.attr("type")) != Some("none"))
                .map(|d| {
                    d.child("model")
                        .and_then(|m| m.attr("heads"))
                        .and_then(|h| h.parse().ok())
                        .unwrap_or(1)
                })
                .sum();
            (obj.def.name.clone(), heads)
        };
        let (monitor, _, _) = self.running_parts(dom)?;
        if heads == 0 {
            return Err(invalid(
                codes::OPERATION_INVALID,
                "no screens to take screenshot from".into(),
            ));
        }
        if screen >= heads {
            return Err(invalid(
                codes::INVALID_ARG,
                format!("no screen with index {screen}"),
            ));
        }
        let path = self.paths.run_dir.join(format!("{name}.screendump"));
        let _ = std::fs::remove_file(&path);
        let result = monitor.execute(
            "screendump",
            Some(json!({ "filename": path.display().to_string() })),
        );
        let read = result.map_err(QemuError::from).and_then(|_| {
            let mut data = Vec::new();
            std::fs::File::open(&path)
                .and_then(|f| f.take(MAX_SCREENSHOT_BYTES).read_to_end(&mut data))
                .map_err(|e| QemuError::io("unable to open screenshot file", &path, e))?;
            Ok(data)
        });
        let _ = std::fs::remove_file(&path);
        let data = read?;
        let (ours, theirs) = UnixStream::pair().map_err(|e| {
            invalid(
                codes::SYSTEM_ERROR,
                format!("cannot create a socket pair: {e}"),
            )
        })?;
        std::thread::spawn(move || {
            let mut ours = ours;
            let _ = ours.write_all(&data);
        });
        Ok(("image/x-portable-pixmap".to_string(), theirs))
    }

    pub(super) fn send_key(
        &self,
        dom: &DomainRef,
        codeset: u32,
        holdtime: u32,
        keycodes: &[u32],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainSendKey")?;
        let keys = keycodes
            .iter()
            .map(|code| {
                to_qnum(codeset, *code)
                    .map(|n| json!({ "type": "number", "data": n }))
                    .ok_or_else(|| {
                        invalid(
                            codes::INTERNAL_ERROR,
                            format!(
                                "cannot translate keycode {code} of {} codeset to qnum keycode",
                                codeset_name(codeset)
                            ),
                        )
                    })
            })
            .collect::<DriverResult<Vec<_>>>()?;
        let (monitor, _, _) = self.running_parts(dom)?;
        let mut arguments = json!({ "keys": keys });
        if holdtime > 0 {
            arguments["hold-time"] = json!(holdtime);
        }
        monitor
            .execute("send-key", Some(arguments))
            .map_err(QemuError::from)?;
        Ok(())
    }
}

/// `virKeycodeSet` names.
fn codeset_name(codeset: u32) -> &'static str {
    match codeset {
        0 => "linux",
        1 => "xt",
        2 => "atset1",
        3 => "atset2",
        4 => "atset3",
        5 => "osx",
        6 => "xt_kbd",
        7 => "usb",
        8 => "win32",
        9 => "qnum",
        _ => "unknown",
    }
}

/// Linux input keycodes past the range where they equal the XT scancode, with QEMU's
/// number (extended scancodes have 0x80 set).
const LINUX_EXTENDED: &[(u32, u32)] = &[
    (86, 0x56),
    (87, 0x57),
    (88, 0x58),
    (96, 0x9c),
    (97, 0x9d),
    (98, 0xb5),
    (99, 0x54),
    (100, 0xb8),
    (102, 0xc7),
    (103, 0xc8),
    (104, 0xc9),
    (105, 0xcb),
    (106, 0xcd),
    (107, 0xcf),
    (108, 0xd0),
    (109, 0xd1),
    (110, 0xd2),
    (111, 0xd3),
    (113, 0xa0),
    (114, 0xae),
    (115, 0xb0),
    (116, 0xde),
    (117, 0x59),
    (119, 0xc6),
    (125, 0xdb),
    (126, 0xdc),
    (127, 0xdd),
];

/// A keycode of `codeset` as QEMU's "qnum" number, for the codesets whose mapping is
/// a plain table: linux, xt, atset1 (the same as XT for these keys), xt_kbd and qnum.
fn to_qnum(codeset: u32, code: u32) -> Option<u32> {
    match codeset {
        0 if (1..=83).contains(&code) => Some(code),
        0 => LINUX_EXTENDED
            .iter()
            .find(|(linux, _)| *linux == code)
            .map(|(_, qnum)| *qnum),
        1 | 2 | 6 if (1..=0x7f).contains(&code) => Some(code),
        // Extended XT scancodes (0xe0 prefix) become 0x80 | code in qnum.
        2 | 6 if (0xe001..=0xe07f).contains(&code) => Some(0x80 | (code & 0x7f)),
        9 if code > 0 && code < 0x100 => Some(code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_keycodes_map_to_qnum() {
        assert_eq!(to_qnum(0, 30), Some(30)); // KEY_A
        assert_eq!(to_qnum(0, 28), Some(28)); // KEY_ENTER
        assert_eq!(to_qnum(0, 103), Some(0xc8)); // KEY_UP
        assert_eq!(to_qnum(0, 500), None);
        assert_eq!(to_qnum(9, 0x1e), Some(0x1e));
        assert_eq!(to_qnum(7, 4), None);
    }
}
