//! The statistics calls on `test:///default` print what libvirt's own test driver
//! prints: the fixed figures exactly, the clock-derived counters with their digits
//! masked (they move between the two runs).

use integration_tests::compare::{assert_same_output, normalize_uri};
use integration_tests::tools::{reference_uri, CmdOutput};
use integration_tests::{virsh, Daemon};

/// Long runs of digits (the counters derived from the clock) masked.
fn mask_counters(out: &CmdOutput, uri: &str) -> CmdOutput {
    let mask = |text: &str| {
        let text = normalize_uri(text, uri);
        let mut masked = String::with_capacity(text.len());
        let mut digits = String::new();
        for ch in text.chars().chain(std::iter::once('\n')) {
            if ch.is_ascii_digit() {
                digits.push(ch);
                continue;
            }
            if digits.len() >= 8 {
                masked.push('N');
            } else {
                masked.push_str(&digits);
            }
            digits.clear();
            masked.push(ch);
        }
        masked.pop();
        masked
    };
    CmdOutput {
        status: out.status,
        stdout: mask(&out.stdout),
        stderr: mask(&out.stderr),
    }
}

#[test]
fn statistics_match_libvirts_test_driver() {
    let daemon = Daemon::start();
    let uri = daemon.rw_uri();
    for commands in [
        "domstats",
        "domstats --state --raw test",
        "domstats --enforce --perf test",
        "domblkstat test vda",
        "domblkstat test vdz",
        "domifstat test testnet0",
        "domifstat test nosuch",
        "dommemstat test",
        "domblkinfo test vda",
        "domblkinfo test hda",
        "domblkerror test",
        "cpu-stats test",
        "cpu-stats test --total",
        "nodecpustats",
        "nodememstats",
        "attach-disk test /tmp/x vdb --config",
    ] {
        let reference = mask_counters(&virsh(reference_uri(), commands), reference_uri());
        let ours = mask_counters(&virsh(&uri, commands), &uri);
        assert_same_output(&format!("virsh {commands}"), &reference, &ours);
    }
}
