//! Event callbacks are bounded per client: a client that registers
//! past the cap gets a libvirt error (not a dropped connection), the
//! cap is per client, and deregistering frees a slot.

use integration_tests::raw::encode;
use integration_tests::{DaemonBuilder, RawClient};
use protocol::programs::remote_proc;
use protocol::remote::{
    ConnectDomainEventCallbackDeregisterAnyArgs, ConnectDomainEventCallbackRegisterAnyArgs,
};

/// The daemon's per-client cap (libvirtd 9.0 has none).
const CAP: usize = 1024;
/// VIR_ERR_OPERATION_FAILED.
const OPERATION_FAILED: i32 = 9;

fn register(client: &mut RawClient, event_id: i32) -> integration_tests::raw::Reply {
    let args = ConnectDomainEventCallbackRegisterAnyArgs {
        event_id,
        dom: None,
    };
    client.remote(
        remote_proc::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
        &encode(&args),
    )
}

fn callback_id(body: &[u8]) -> i32 {
    protocol::xdr::from_bytes_exact::<i32>(body).expect("callback id")
}

#[test]
fn registrations_past_the_cap_are_refused_with_an_error() {
    let daemon = DaemonBuilder::new().start();
    let mut greedy = RawClient::unix(&daemon.rw_socket());
    greedy.open("test:///default", 0);
    let mut ids = Vec::with_capacity(CAP);
    for i in 0..CAP {
        // Every event ID libvirt 9.0 knows, over and over.
        let body = register(&mut greedy, (i % 27) as i32).expect_ok("registration under the cap");
        ids.push(callback_id(&body));
    }
    let err = register(&mut greedy, 0).expect_err("registration past the cap");
    assert_eq!(err.code, OPERATION_FAILED, "{err:?}");
    let message = err.message.clone().unwrap_or_default();
    assert!(
        message.contains("too many event callbacks") && message.contains("1024"),
        "{err:?}"
    );

    // The connection is still served, and a freed slot can be used again.
    greedy
        .remote(remote_proc::CONNECT_GET_LIB_VERSION, &[])
        .expect_ok("the client is still served");
    let args = ConnectDomainEventCallbackDeregisterAnyArgs {
        callback_id: ids[0],
    };
    greedy
        .remote(
            remote_proc::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
            &encode(&args),
        )
        .expect_ok("deregistration");
    register(&mut greedy, 0).expect_ok("registration into the freed slot");
    register(&mut greedy, 0).expect_err("the cap holds again");

    // Another client has its own allowance.
    let mut other = RawClient::unix(&daemon.rw_socket());
    other.open("test:///default", 0);
    register(&mut other, 0).expect_ok("another client registers");
}
