//! File descriptors passed with calls (CALL_WITH_FDS): each one travels on
//! its own carrier byte after the message, as libvirt sends them. The daemon
//! closes every descriptor no call takes, and hangs up, as libvirtd does, on
//! a descriptor count it cannot honour: more than 32, more than the client
//! sent, or any on a TCP connection.

use std::fs;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use integration_tests::{Daemon, RawClient};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use protocol::frame::encode_message;
use protocol::header::{Header, MessageType};
use protocol::programs::{remote_proc, REMOTE_PROGRAM};

const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

fn open_fds(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits until the daemon holds at most `baseline` descriptors; returns the
/// last count.
fn wait_fds_at_most(pid: i32, baseline: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = open_fds(pid);
        if now <= baseline || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// CONNECT_GET_TYPE as CALL_WITH_FDS announcing `count` descriptors.
fn get_type_with_fds(serial: u32, count: u32) -> Vec<u8> {
    let header = Header::new(
        REMOTE_PROGRAM,
        remote_proc::CONNECT_GET_TYPE,
        MessageType::CallWithFds,
        serial,
    );
    encode_message(&header, &count.to_be_bytes())
}

/// Sends `fd` on its own 0x00 carrier byte.
fn send_fd(sock: RawFd, fd: RawFd) {
    let rights = [fd];
    sendmsg::<()>(
        sock,
        &[IoSlice::new(&[0])],
        &[ControlMessage::ScmRights(&rights)],
        MsgFlags::empty(),
        None,
    )
    .expect("sendmsg with a descriptor");
}

fn opened_unix(daemon: &Daemon) -> RawClient {
    let mut client = RawClient::unix(&daemon.rw_socket());
    client.open("test:///default", 0);
    client
}

#[test]
fn passed_descriptors_are_taken_in_step_and_never_kept() {
    let mut daemon = Daemon::builder().tcp().start();
    let pid = daemon.pid();
    let spare = fs::File::open("/dev/null").expect("open /dev/null");
    let mut client = opened_unix(&daemon);
    let baseline = open_fds(pid);

    // Many calls, each with descriptors no procedure takes: every call is
    // answered in turn (the carrier bytes are not read as messages) and the
    // daemon closes them all.
    for serial in 1000..1200u32 {
        let count = serial % 4;
        client
            .send_bytes(&get_type_with_fds(serial, count))
            .expect("send call");
        let sock = client.client().stream().as_raw_fd();
        for _ in 0..count {
            send_fd(sock, spare.as_raw_fd());
        }
        let reply = client
            .wait_reply(serial)
            .unwrap_or_else(|e| panic!("call {serial}: {e}"));
        let body = reply.expect_ok("CONNECT_GET_TYPE with descriptors");
        assert_eq!(&body[4..8], b"TEST", "serial {serial}");
    }
    let after = wait_fds_at_most(pid, baseline);
    assert!(
        after <= baseline,
        "the daemon kept passed descriptors: {baseline} before, {after} after"
    );

    // Announcing two descriptors and sending one: the next message's first
    // byte comes without a descriptor and libvirtd hangs up.
    let mut short = opened_unix(&daemon);
    short.send_bytes(&get_type_with_fds(7, 2)).expect("send");
    send_fd(short.client().stream().as_raw_fd(), spare.as_raw_fd());
    short
        .send_call(REMOTE_PROGRAM, remote_proc::CONNECT_GET_TYPE, &[])
        .expect("send");
    let got = short.wait_for_close(CLOSE_TIMEOUT).expect("hung up");
    assert!(
        got.is_empty(),
        "replies to a short descriptor count: {got:?}"
    );

    // More than libvirt's 32 descriptors per message.
    let mut many = opened_unix(&daemon);
    many.send_bytes(&get_type_with_fds(8, 33)).expect("send");
    let got = many.wait_for_close(CLOSE_TIMEOUT).expect("hung up");
    assert!(got.is_empty(), "replies to 33 descriptors: {got:?}");

    // TCP cannot carry descriptors: a count of 0 is fine, any other hangs up.
    let mut tcp = RawClient::tcp(daemon.tcp_port());
    tcp.open("test:///default", 0);
    tcp.send_bytes(&get_type_with_fds(9, 0)).expect("send");
    let body = tcp
        .wait_reply(9)
        .expect("reply")
        .expect_ok("no descriptors over TCP");
    assert_eq!(&body[4..8], b"TEST");
    tcp.send_bytes(&get_type_with_fds(10, 1)).expect("send");
    tcp.send_bytes(&[0]).expect("send a carrier byte");
    let got = tcp.wait_for_close(CLOSE_TIMEOUT).expect("hung up");
    assert!(got.is_empty(), "replies to descriptors over TCP: {got:?}");

    drop(client);
    let after = wait_fds_at_most(pid, baseline);
    assert!(
        after <= baseline,
        "descriptors left after the hang-ups: {baseline} before, {after} after"
    );
    assert!(daemon.is_running(), "libvirtd died");
}
