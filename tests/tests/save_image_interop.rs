//! Save images are interchangeable with libvirtd 9.0: one guest is saved by our daemon
//! and restored by the real libvirtd 9.0 (its qemu driver, in a private mount
//! namespace), saved there and restored by ours, and so on, running and paused at
//! save in both directions, then as managed save images handed from one daemon's
//! save directory to the other's. The guest keeps running through every hop without
//! booting again, and a guest paused at save comes back paused.
//!
//! Each restore passes the image's own XML (read with `save-image-dumpxml` from the
//! daemon about to restore it) with only the serial log moved to a fresh file: libvirt
//! truncates the log it opens, and a fresh file per hop shows that no hop booted.

mod qemu_reference;
mod qemu_support;

use std::fs;
use std::path::{Path, PathBuf};

use integration_tests::{virsh, wait_until, CmdOutput};
use qemu_reference::{GuestReaper, ReferenceDaemon};
use qemu_support::{QemuHost, BOOT_TIMEOUT, STATE_TIMEOUT};

/// Guests of the reference run without confinement, cgroups or ownership tracking:
/// nothing of the host's is needed or touched.
const REFERENCE_QEMU_CONF: &str = "security_driver = \"none\"\nnamespaces = []\n\
                                   cgroup_controllers = []\nremember_owner = 0\n";

/// One side of the exchange: a daemon's URI and how to describe it in failures.
struct Side<'a> {
    name: &'static str,
    uri: String,
    diagnostics: Box<dyn Fn() -> String + 'a>,
}

impl Side<'_> {
    fn run(&self, commands: &str) -> CmdOutput {
        virsh(&self.uri, commands)
    }

    fn ok(&self, commands: &str) -> String {
        let out = self.run(commands);
        assert!(
            out.success(),
            "{}: virsh {commands} failed: {out}\n{}",
            self.name,
            (self.diagnostics)()
        );
        out.stdout.trim().to_string()
    }

    fn domstate(&self, guest: &str) -> String {
        self.run(&format!("domstate --reason {guest}"))
            .stdout
            .trim()
            .to_string()
    }

    /// Restores `image` with its own XML, the serial log moved from `from` to `to`.
    fn restore(&self, image: &Path, from: &Path, to: &Path, work: &Path) {
        let xml = self.ok(&format!("save-image-dumpxml {}", image.display()));
        assert!(
            xml.contains(&from.display().to_string()),
            "{}: the image's XML does not name the serial log {}:\n{xml}",
            self.name,
            from.display()
        );
        let edited = work.join(format!(
            "{}.xml",
            image.display().to_string().replace('/', "_")
        ));
        fs::write(
            &edited,
            xml.replace(&from.display().to_string(), &to.display().to_string()),
        )
        .expect("write restore xml");
        self.ok(&format!(
            "restore {} --xml {}",
            image.display(),
            edited.display()
        ));
    }
}

fn boots(serial: &Path) -> usize {
    fs::read_to_string(serial)
        .map(|t| t.matches("TINY-GUEST-BOOTED").count())
        .unwrap_or(0)
}

#[test]
fn save_images_move_between_our_daemon_and_libvirtd_9_0() {
    let host = QemuHost::start();
    let reference = ReferenceDaemon::start(REFERENCE_QEMU_CONF);
    let guest = format!("xchg{}", std::process::id());
    let _reaper = GuestReaper(guest.clone());
    let work = host.root().to_path_buf();
    let ours = Side {
        name: "our daemon",
        uri: host.uri(),
        diagnostics: Box::new(|| host.diagnostics()),
    };
    let theirs = Side {
        name: "libvirtd 9.0",
        uri: reference.uri(),
        diagnostics: Box::new(|| reference.diagnostics()),
    };
    let serial = |hop: usize| -> PathBuf { work.join(format!("{guest}.hop{hop}.serial")) };

    // Hop 0, ours: boot, then save running.
    let xml = host.guest_xml(&guest).replace(
        &host.serial_log(&guest).display().to_string(),
        &serial(0).display().to_string(),
    );
    let file = work.join(format!("{guest}.xml"));
    fs::write(&file, xml).expect("write guest xml");
    ours.ok(&format!("define {}", file.display()));
    ours.ok(&format!("start {guest}"));
    let booted = wait_until(BOOT_TIMEOUT, || boots(&serial(0)) == 1);
    assert!(booted, "the guest did not boot\n{}", host.diagnostics());
    let image = |hop: usize| work.join(format!("{guest}.hop{hop}.img"));
    ours.ok(&format!("save {guest} {}", image(1).display()));

    // Hop 1, libvirtd 9.0: restores our running image running; saves it paused.
    theirs.restore(&image(1), &serial(0), &serial(1), &work);
    assert_eq!(theirs.domstate(&guest), "running (restored)");
    theirs.ok(&format!("suspend {guest}"));
    theirs.ok(&format!("save {guest} {}", image(2).display()));

    // Hop 2, ours: libvirt's paused image comes back paused; resumed, paused, saved.
    ours.restore(&image(2), &serial(1), &serial(2), &work);
    assert_eq!(ours.domstate(&guest), "paused (migrating)");
    ours.ok(&format!("resume {guest}"));
    assert_eq!(ours.domstate(&guest), "running (unpaused)");
    ours.ok(&format!("suspend {guest}"));
    ours.ok(&format!("save {guest} {}", image(3).display()));

    // Hop 3, libvirtd 9.0: our paused image comes back paused; resumed and saved running.
    theirs.restore(&image(3), &serial(2), &serial(3), &work);
    assert_eq!(theirs.domstate(&guest), "paused (migrating)");
    theirs.ok(&format!("resume {guest}"));
    theirs.ok(&format!("save {guest} {}", image(4).display()));

    // Hop 4, ours: running again.
    ours.restore(&image(4), &serial(3), &serial(4), &work);
    assert_eq!(ours.domstate(&guest), "running (restored)");

    // Hops 5 and 6: managed save images, moved between the daemons' save
    // directories, are what `start` restores on the other side.
    let our_image = work.join(format!("var/lib/libvirt/qemu/save/{guest}.save"));
    let their_image = reference
        .state_dir()
        .join(format!("qemu/save/{guest}.save"));
    let definition = work.join(format!("{guest}.defined.xml"));
    fs::write(&definition, ours.ok(&format!("dumpxml --inactive {guest}")))
        .expect("write definition");
    theirs.ok(&format!("define {}", definition.display()));
    ours.ok(&format!("managedsave {guest}"));
    fs::copy(&our_image, &their_image).expect("hand our managed save image over");
    theirs.ok(&format!("start {guest}"));
    assert_eq!(theirs.domstate(&guest), "running (restored)");
    theirs.ok(&format!("managedsave {guest}"));
    fs::copy(&their_image, &our_image).expect("hand libvirt's managed save image over");
    ours.ok(&format!("start {guest}"));
    assert_eq!(ours.domstate(&guest), "running (restored)");

    // The guest answers the power button, never rebooted.
    ours.ok(&format!("shutdown {guest}"));
    let off = wait_until(STATE_TIMEOUT, || {
        ours.domstate(&guest).starts_with("shut off")
    });
    assert!(off, "the guest did not power off\n{}", host.diagnostics());
    let last = fs::read_to_string(serial(4)).unwrap_or_default();
    assert!(
        last.contains("TINY-GUEST-POWEROFF"),
        "the restored guest did not run its power-off path:\n{last}"
    );
    assert_eq!(boots(&serial(0)), 1);
    for hop in 1..=4 {
        assert_eq!(
            boots(&serial(hop)),
            0,
            "the guest booted again at hop {hop}"
        );
    }
}
