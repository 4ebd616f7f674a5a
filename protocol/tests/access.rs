//! The read-only policy of the procedure table, one test per access class,
//! checked against libvirt 9.0's public API functions (their read-only
//! checks in `src/libvirt-*.c`).

use protocol::programs::{lxc_proc, qemu_proc, remote_proc as p};
use protocol::remote::{DomainGetVcpusFlagsArgs, DomainGetXmlDescArgs, NonnullDomain};
use protocol::table::{Access, Refusal, Test};
use protocol::xdr::to_bytes;

fn access(proc_: i32) -> Access {
    p::info(proc_).expect("row").access
}

fn verdict(proc_: i32, body: &[u8]) -> Result<(), Refusal> {
    p::Call::decode(proc_, body)
        .expect("decodes")
        .read_only_verdict()
}

fn dom() -> NonnullDomain {
    NonnullDomain {
        name: "d".into(),
        uuid: [7; 16],
        id: -1,
    }
}

#[test]
fn readers_are_allowed() {
    for proc_ in [
        p::CONNECT_OPEN,
        p::CONNECT_GET_HOSTNAME,
        p::NODE_GET_INFO,
        p::DOMAIN_LOOKUP_BY_NAME,
        p::DOMAIN_GET_INFO,
        p::CONNECT_LIST_ALL_DOMAINS,
        p::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
        // libvirt lets read-only clients watch jobs.
        p::DOMAIN_GET_JOB_INFO,
        p::DOMAIN_GET_JOB_STATS,
        p::DOMAIN_MEMORY_STATS,
        p::CONNECT_BASELINE_CPU,
        p::NETWORK_GET_DHCP_LEASES,
    ] {
        assert_eq!(access(proc_), Access::Allow, "{:?}", p::name(proc_));
    }
    assert_eq!(verdict(p::CONNECT_GET_HOSTNAME, &[]), Ok(()));
}

#[test]
fn writers_and_secret_readers_are_denied() {
    for proc_ in [
        p::DOMAIN_DESTROY,
        p::DOMAIN_DEFINE_XML,
        p::DOMAIN_SET_AUTOSTART,
        p::NETWORK_DEFINE_XML,
        p::SECRET_GET_VALUE,
        p::DOMAIN_GET_TIME,
        p::DOMAIN_GET_HOSTNAME,
        p::DOMAIN_SAVE_IMAGE_GET_XML_DESC,
        // Getters that libvirt nevertheless refuses read-only.
        p::CONNECT_GET_DOMAIN_CAPABILITIES,
        p::DOMAIN_MIGRATE_GET_MAX_SPEED,
        p::DOMAIN_BLOCK_PEEK,
        p::DOMAIN_SCREENSHOT,
    ] {
        assert_eq!(access(proc_), Access::Deny, "{:?}", p::name(proc_));
    }
    let destroy = to_bytes(&dom());
    assert_eq!(verdict(p::DOMAIN_DESTROY, &destroy), Err(Refusal::ReadOnly));
    // An unserved, untyped procedure is refused before "not supported", as
    // libvirt checks read-only access before it looks for a driver.
    assert_eq!(
        verdict(p::DOMAIN_MIGRATE_PREPARE, &[]),
        Err(Refusal::ReadOnly)
    );
    for (prog_access, what) in [
        (qemu_proc::info(qemu_proc::DOMAIN_MONITOR_COMMAND), "qemu"),
        (lxc_proc::info(lxc_proc::DOMAIN_OPEN_NAMESPACE), "lxc"),
    ] {
        assert_eq!(prog_access.unwrap().access, Access::Deny, "{what}");
    }
}

#[test]
fn flag_dependent_rules_read_the_call() {
    let xml = |flags| to_bytes(&DomainGetXmlDescArgs { dom: dom(), flags });
    // VIR_DOMAIN_XML_SECURE (1) and VIR_DOMAIN_XML_MIGRATABLE (8).
    assert_eq!(verdict(p::DOMAIN_GET_XML_DESC, &xml(0)), Ok(()));
    assert_eq!(verdict(p::DOMAIN_GET_XML_DESC, &xml(2)), Ok(()));
    assert_eq!(
        verdict(p::DOMAIN_GET_XML_DESC, &xml(1)),
        Err(Refusal::SecureFlag)
    );
    assert_eq!(
        verdict(p::DOMAIN_GET_XML_DESC, &xml(8)),
        Err(Refusal::SecureFlag)
    );

    let vcpus = |flags| to_bytes(&DomainGetVcpusFlagsArgs { dom: dom(), flags });
    // VIR_DOMAIN_VCPU_GUEST (8) asks the guest agent.
    assert_eq!(verdict(p::DOMAIN_GET_VCPUS_FLAGS, &vcpus(0)), Ok(()));
    assert_eq!(verdict(p::DOMAIN_GET_VCPUS_FLAGS, &vcpus(1)), Ok(()));
    assert_eq!(
        verdict(p::DOMAIN_GET_VCPUS_FLAGS, &vcpus(8)),
        Err(Refusal::ReadOnly)
    );

    for (proc_, test, refusal) in [
        (
            p::DOMAIN_SNAPSHOT_GET_XML_DESC,
            Test::AnyBit(1),
            Refusal::SecureFlag,
        ),
        (
            p::DOMAIN_MANAGED_SAVE_GET_XML_DESC,
            Test::AnyBit(1),
            Refusal::SecureFlag,
        ),
        (
            p::DOMAIN_CHECKPOINT_GET_XML_DESC,
            Test::AnyBit(1),
            Refusal::SecureFlag,
        ),
        // VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT in the `source` argument.
        (
            p::DOMAIN_INTERFACE_ADDRESSES,
            Test::Equals(1),
            Refusal::ReadOnly,
        ),
    ] {
        match access(proc_) {
            Access::DenyIf {
                test: t,
                refusal: r,
                ..
            } => assert_eq!((t, r), (test, refusal), "{:?}", p::name(proc_)),
            other => panic!("{:?}: {other:?}", p::name(proc_)),
        }
    }
}
