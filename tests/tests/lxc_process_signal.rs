//! `virsh send-process-signal` on a container: as in libvirt 9.0, the signal goes
//! to the container's init (PID 1 inside) and any other PID is refused.

mod lxc_common;

use std::fs;

use integration_tests::{virsh, wait_until, Daemon};
use lxc_common::*;

/// An init that records each SIGUSR1 and exits on SIGTERM.
const TRAPPING_INIT: &str = r#"
n=0
trap 'n=$((n+1)); echo "usr1 $n" > /out/usr1' USR1
trap 'exit 0' TERM
echo ready > /out/ready
while true; do sleep 1 & wait $!; done
"#;

#[test]
fn signals_reach_the_containers_init_only() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("sig");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(TRAPPING_INIT);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 32, "")).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");
    rootfs.wait_report("ready");

    virsh(&uri, &format!("send-process-signal {name} 1 SIGUSR1")).expect_success("signal init");
    let report = rootfs.path().join("out/usr1");
    assert!(
        wait_until(CONTAINER_TIMEOUT, || fs::read_to_string(&report)
            .is_ok_and(|t| t.trim() == "usr1 1")),
        "init never saw SIGUSR1"
    );

    let out = virsh(&uri, &format!("send-process-signal {name} 2 SIGUSR1"));
    assert!(
        !out.success()
            && out
                .stderr
                .contains("argument unsupported: Only the init process may be killed"),
        "{out}"
    );
    let out = virsh(&uri, &format!("send-process-signal {name} 1 65"));
    assert!(!out.success(), "{out}");

    virsh(&uri, &format!("send-process-signal {name} 1 SIGTERM")).expect_success("SIGTERM");
    assert!(
        wait_until(CONTAINER_TIMEOUT, || {
            virsh(&uri, &format!("domstate {name}"))
                .stdout
                .contains("shut off")
        }),
        "the container did not stop after SIGTERM to its init"
    );
    let out = virsh(&uri, &format!("send-process-signal {name} 1 SIGUSR1"));
    assert!(
        !out.success() && out.stderr.contains("domain is not running"),
        "{out}"
    );
}
