//! Smaller knobs of a running tiny guest: `set-lifecycle-action` (a reset of a
//! guest set live to `on_reboot` destroy stops it), `iothreadset` (polling values
//! QEMU then reports in `domstats --iothread`) and `domdirtyrate-calc` (a
//! measurement `domstats --dirtyrate` then reports), with libvirt's refusals.

mod qemu_support;

use std::fs;
use std::time::Duration;

use integration_tests::wait_until;
use qemu_support::QemuHost;

fn define(host: &QemuHost, name: &str) {
    let xml = host
        .guest_xml(name)
        // A slow TCG boot must not fail the kernel's timer check.
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check")
        .replace("<vcpu>1</vcpu>", "<vcpu>1</vcpu><iothreads>1</iothreads>");
    let file = host.root().join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
}

#[test]
fn lifecycle_actions_iothread_polling_and_dirty_rate() {
    let host = QemuHost::start();
    let name = "kn1";
    define(&host, name);

    // Lifecycle actions in the definition, and the ones libvirt refuses.
    host.virsh_ok(&format!(
        "set-lifecycle-action {name} poweroff preserve --config"
    ));
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(
        inactive.contains("<on_poweroff>preserve</on_poweroff>"),
        "{inactive}"
    );
    let out = host.virsh(&format!(
        "set-lifecycle-action {name} reboot coredump-destroy --config"
    ));
    assert!(
        out.stderr
            .contains("Lifecycle event 'reboot' doesn't support 'coredump-destroy' action"),
        "{out}"
    );
    let out = host.virsh(&format!("domdirtyrate-calc {name} --seconds 1"));
    assert!(out.stderr.contains("domain is not running"), "{out}");

    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);

    // IOThread polling changes in QEMU; the definition keeps no polling values.
    host.virsh_ok(&format!(
        "iothreadset {name} 1 --poll-max-ns 1000 --poll-grow 2 --poll-shrink 3"
    ));
    let stats = host.virsh_ok(&format!("domstats --iothread {name}"));
    for wanted in [
        "iothread.1.poll-max-ns=1000",
        "iothread.1.poll-grow=2",
        "iothread.1.poll-shrink=3",
    ] {
        assert!(stats.contains(wanted), "{wanted} missing:\n{stats}");
    }
    let out = host.virsh(&format!("iothreadset {name} 5 --poll-max-ns 10"));
    assert!(
        out.stderr
            .contains("cannot find IOThread '5' in iothreadids"),
        "{out}"
    );
    let out = host.virsh(&format!("iothreadset {name} 1 --poll-grow 4 --config"));
    assert!(
        out.stderr
            .contains("configuring persistent polling values is not supported"),
        "{out}"
    );

    // A dirty rate measurement that domstats then reports.
    let out = host.virsh(&format!("domdirtyrate-calc {name} --seconds 0"));
    assert!(
        out.stderr
            .contains("seconds=0 is invalid, please choose value within [1, 60]."),
        "{out}"
    );
    let out = host.virsh(&format!(
        "domdirtyrate-calc {name} --seconds 1 --mode dirty-ring"
    ));
    assert!(
        out.stderr
            .contains("dirty-ring calculation mode requires dirty-ring feature enabled."),
        "{out}"
    );
    host.virsh_ok(&format!("domdirtyrate-calc {name} --seconds 1"));
    let mut last = String::new();
    let measured = wait_until(Duration::from_secs(60), || {
        last = host.virsh_ok(&format!("domstats --dirtyrate {name}"));
        last.contains("dirtyrate.calc_status=2")
    });
    assert!(measured, "{last}");
    assert!(
        last.contains("dirtyrate.calc_period=1")
            && last.contains("dirtyrate.megabytes_per_second=")
            && last.contains("dirtyrate.calc_mode=page-sampling"),
        "{last}"
    );

    // on_reboot destroy set live: a reset now stops the guest.
    host.virsh_ok(&format!(
        "set-lifecycle-action {name} reboot destroy --live"
    ));
    let live = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(live.contains("<on_reboot>destroy</on_reboot>"), "{live}");
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(
        inactive.contains("<on_reboot>restart</on_reboot>"),
        "{inactive}"
    );
    host.virsh_ok(&format!("reset {name}"));
    let stopped = wait_until(Duration::from_secs(60), || {
        host.domstate(name).starts_with("shut off")
    });
    assert!(stopped, "still {}", host.domstate(name));
}
