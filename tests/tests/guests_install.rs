//! `make install` puts the libvirt-guests program and its man page in place, and the
//! installed unit runs that program.

mod guests_support;

use std::process::Command;
use std::time::Duration;

use guests_support::guests_bin;
use integration_tests::{libvirtd_bin, run_with_deadline};

#[test]
fn make_install_ships_the_program_unit_and_man_page() {
    let scratch = tempfile::tempdir().expect("scratch directory");
    let dest = scratch.path().join("dest");
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace directory")
        .to_path_buf();
    let mut make = Command::new("make");
    make.arg("-C")
        .arg(&workspace)
        .arg("install")
        .arg(format!("BIN={}", libvirtd_bin().display()))
        .arg(format!(
            "UNIT_BUILD={}",
            scratch.path().join("units").display()
        ))
        .arg(format!("DESTDIR={}", dest.display()));
    run_with_deadline(&mut make, Duration::from_secs(120)).expect_success("make install");

    let installed = dest.join("usr/lib/libvirt/libvirt-guests");
    let built = std::fs::read(guests_bin()).expect("built program");
    assert_eq!(
        std::fs::read(&installed).expect("installed program"),
        built,
        "{} is not the built program",
        installed.display()
    );
    let unit = std::fs::read_to_string(dest.join("usr/lib/systemd/system/libvirt-guests.service"))
        .expect("installed unit");
    assert!(
        unit.lines()
            .any(|l| l == "ExecStart=/usr/lib/libvirt/libvirt-guests start"),
        "{unit}"
    );
    assert!(
        unit.lines()
            .any(|l| l == "ExecStop=/usr/lib/libvirt/libvirt-guests stop"),
        "{unit}"
    );
    assert!(unit.lines().any(|l| l == "RemainAfterExit=yes"), "{unit}");
    assert!(dest.join("usr/share/man/man8/libvirt-guests.8").is_file());
}
