//! Host-level answers of the fake test hypervisor.

use super::Harness;
use crate::api::{feature, Driver};

#[test]
fn identity() {
    let h = Harness::new();
    assert_eq!(h.driver.scheme(), "test");
    assert_eq!(h.conn.uri(), "test:///default");
    assert_eq!(h.conn.hv_type(), "TEST");
    assert_eq!(h.conn.hv_version().expect("version"), 2);
    assert_eq!(
        h.conn.hostname().expect("hostname"),
        crate::host::hostname()
    );
    assert!(h.conn.is_secure());
    assert!(!h.conn.is_encrypted());
}

#[test]
fn node_info_and_memory() {
    let h = Harness::new();
    let info = h.conn.node_info().expect("node info");
    assert_eq!(info.model, "i686");
    assert_eq!(
        (
            info.memory_kib,
            info.cpus,
            info.mhz,
            info.nodes,
            info.sockets,
            info.cores,
            info.threads
        ),
        (3145728, 16, 1400, 2, 2, 2, 2)
    );
    assert_eq!(h.conn.node_free_memory().expect("free"), 3145728);
    assert_eq!(
        h.conn.node_cells_free_memory(0, 5).expect("cells"),
        [2097152, 4194304]
    );
    assert_eq!(
        h.conn.node_cells_free_memory(1, 5).expect("cells"),
        [4194304]
    );
    assert_eq!(
        h.conn.node_cells_free_memory(0, 1).expect("cells"),
        [2097152]
    );
    let err = h.conn.node_cells_free_memory(5, 2).expect_err("range");
    assert_eq!((err.code, err.domain), (8, 12));
    assert_eq!(
        err.message,
        "invalid argument: Range exceeds available cells"
    );
    assert_eq!(h.conn.max_vcpus(None).expect("max"), 32);
    assert_eq!(h.conn.max_vcpus(Some("kvm")).expect("max"), 32);
}

#[test]
fn capabilities_and_sysinfo_match_libvirt() {
    let h = Harness::new();
    assert_eq!(
        h.conn.capabilities().expect("caps"),
        include_str!("../../../tests/data/test-capabilities.xml")
    );
    assert_eq!(
        h.conn.sysinfo(0).expect("sysinfo"),
        include_str!("../../../tests/data/test-sysinfo.xml")
    );
    let err = h.conn.sysinfo(1).expect_err("flags");
    assert_eq!(
        err.message,
        "unsupported flags (0x1) in function testConnectGetSysinfo"
    );
}

#[test]
fn security_model() {
    let h = Harness::new();
    let model = h.conn.node_security_model().expect("model");
    assert_eq!(
        (model.model.as_str(), model.doi.as_str()),
        ("testSecurity", "")
    );
}

#[test]
fn features() {
    let h = Harness::new();
    assert!(h.conn.supports_feature(feature::TYPED_PARAM_STRING));
    assert!(h
        .conn
        .supports_feature(feature::NETWORK_UPDATE_HAS_CORRECT_ORDER));
    assert!(!h.conn.supports_feature(feature::PROGRAM_KEEPALIVE));
    assert!(!h.conn.supports_feature(feature::MIGRATION_V3));
    assert!(!h.conn.supports_feature(999));
}

#[test]
fn domain_capabilities_unsupported_like_libvirt() {
    let h = Harness::new();
    let err = h
        .conn
        .domain_capabilities(None, None, None, None, 0)
        .expect_err("unsupported");
    assert_eq!((err.code, err.domain), (3, 20));
    assert_eq!(
        err.message,
        "this function is not supported by the connection driver: virConnectGetDomainCapabilities"
    );
}

#[test]
fn open_refuses_other_paths() {
    let h = Harness::new();
    for uri in ["test:///", "test://"] {
        let err = h.driver.open(uri, false).err().expect("no path");
        assert_eq!((err.code, err.domain), (8, 12));
        assert_eq!(
            err.message,
            "invalid argument: testOpen: supply a path or use test:///default"
        );
    }
    let err = h
        .driver
        .open("test:///tmp/node.xml", false)
        .err()
        .expect("file");
    assert_eq!(err.code, 5);
    assert!(err.message.contains("/tmp/node.xml"), "{}", err.message);
    assert!(h.driver.open("test://localhost/default", false).is_ok());
    assert!(h.driver.open("test:///default?mode=x", true).is_ok());
}
