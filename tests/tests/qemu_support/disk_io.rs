//! Disk I/O inside the tiny guest: a raw "mailbox" disk whose first sector the
//! guest polls (`tinyguest.mailbox=<dev>` on its kernel command line) for a shell
//! command, answered on the serial console.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::wait_until;

use super::BOOT_TIMEOUT;

pub struct Mailbox {
    image: PathBuf,
    serial: PathBuf,
    seq: u32,
}

impl Mailbox {
    /// A zeroed 1 MiB raw image in `dir`, answered on the console logged to `serial`.
    pub fn create(dir: &Path, serial: PathBuf) -> Mailbox {
        let image = dir.join("mailbox.img");
        let file = fs::File::create(&image).expect("create mailbox image");
        file.set_len(1 << 20).expect("size mailbox image");
        Mailbox {
            image,
            serial,
            seq: 0,
        }
    }

    /// Adds the mailbox disk and the kernel parameter to a guest definition. The
    /// guest names its disks in PCI order: the mailbox goes last, so it is `dev`
    /// when the definition has the disks before it as `vda`, `vdb`, ...
    /// `no_timer_check` too: under TCG on a loaded host the kernel's check of the
    /// IO-APIC timer can fail and panic the boot.
    pub fn attach(&self, xml: &str, dev: &str) -> String {
        xml.replace(
            "console=ttyS0 quiet",
            &format!("console=ttyS0 quiet no_timer_check tinyguest.mailbox={dev}"),
        )
        .replace(
            "</devices>",
            &format!(
                "  <disk type='file' device='disk'><driver name='qemu' type='raw'/>\
                 <source file='{}'/><target dev='{dev}' bus='virtio'/></disk>\n  </devices>",
                self.image.display()
            ),
        )
    }

    /// Runs `command` in the guest; returns its output (on one line).
    pub fn run(&mut self, command: &str) -> String {
        self.seq += 1;
        let line = format!("{} {command}\n", self.seq);
        assert!(line.len() < 512, "mailbox command too long: {command}");
        let mut sector = line.into_bytes();
        sector.resize(512, 0);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .open(&self.image)
            .expect("open mailbox");
        file.seek(SeekFrom::Start(0)).expect("seek mailbox");
        file.write_all(&sector).expect("write mailbox");
        file.sync_data().expect("sync mailbox");
        let prefix = format!("TINY-GUEST-MAILBOX {} ", self.seq);
        let mut answer = None;
        let answered = wait_until(BOOT_TIMEOUT, || {
            let log = fs::read_to_string(&self.serial).unwrap_or_default();
            answer = log
                .lines()
                .find_map(|l| l.strip_prefix(&prefix).map(|a| a.trim().to_string()));
            answer.is_some()
        });
        assert!(
            answered,
            "the guest did not answer '{command}'; console:\n{}",
            fs::read_to_string(&self.serial).unwrap_or_default()
        );
        answer.unwrap_or_default()
    }

    /// The 16 bytes at `offset` of the guest's `dev`, read past its page cache.
    pub fn read16(&mut self, dev: &str, offset: u64) -> String {
        assert_eq!(offset % 512, 0);
        self.run(&format!(
            "dd if=/dev/{dev} bs=512 skip={} count=1 iflag=direct 2>/dev/null | head -c 16",
            offset / 512
        ))
    }

    /// Writes `text` (at most one sector) at `offset` of the guest's `dev` and
    /// flushes the device.
    pub fn write(&mut self, dev: &str, offset: u64, text: &str) {
        assert_eq!(offset % 512, 0);
        let out = self.run(&format!(
            "printf {text} | dd of=/dev/{dev} bs=512 seek={} count=1 conv=sync,fsync oflag=direct 2>/dev/null && echo written",
            offset / 512
        ));
        assert_eq!(out, "written", "guest write to {dev} failed");
    }
}

/// `qemu-io` read of 16 bytes of an image (shared with a running QEMU), as text.
pub fn image_bytes(image: &Path, format: &str, offset: u64) -> String {
    let out = Command::new("qemu-io")
        .args([
            "-U",
            "-r",
            "-f",
            format,
            "-c",
            &format!("read -v {offset} 16"),
        ])
        .arg(image)
        .output()
        .expect("run qemu-io (Debian package qemu-utils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A 16 MiB qcow2 image with `text` at 1 MiB (converted from a raw file).
pub fn qcow2_with(dir: &Path, name: &str, text: &str) -> PathBuf {
    let raw = dir.join(format!("{name}.raw"));
    let mut data = vec![0u8; 16 << 20];
    data[1 << 20..(1 << 20) + text.len()].copy_from_slice(text.as_bytes());
    fs::write(&raw, data).expect("write raw image");
    let image = dir.join(format!("{name}.qcow2"));
    let made = Command::new("qemu-img")
        .args(["convert", "-q", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&image)
        .status()
        .expect("run qemu-img (Debian package qemu-utils)");
    assert!(made.success());
    fs::remove_file(&raw).expect("remove raw image");
    image
}

/// Whether process `pid` has `path` open.
pub fn has_open(pid: i32, path: &Path) -> bool {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .any(|e| fs::read_link(e.path()).is_ok_and(|l| l == path))
        })
        .unwrap_or(false)
}
