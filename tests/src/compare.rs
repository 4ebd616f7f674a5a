//! Comparing our daemon's client output with libvirt's reference output.
//!
//! Only what must differ is normalised, and every normalisation says why.

use crate::tools::CmdOutput;

/// Replaces the value of `CPU time:` lines (virsh dominfo). libvirt's test
/// driver derives a domain's CPU time from the wall clock at the moment of
/// the call, so two runs never print the same number.
pub fn normalize_cpu_time(text: &str) -> String {
    map_lines(text, |line| {
        if line.starts_with("CPU time:") {
            "CPU time:       <wall-clock dependent>".to_string()
        } else {
            line.to_string()
        }
    })
}

/// Replaces every occurrence of our URI by the reference URI: commands such
/// as `virsh uri` print the URI the client connected with, which is
/// necessarily different.
pub fn normalize_uri(text: &str, ours: &str) -> String {
    text.replace(ours, crate::tools::reference_uri())
}

fn map_lines(text: &str, f: impl Fn(&str) -> String) -> String {
    text.split('\n').map(f).collect::<Vec<_>>().join("\n")
}

/// Runs `commands` (one virsh invocation, commands separated by `;`) once
/// against the reference driver and once against `uri`, and asserts the
/// same output after masking the connection URI and CPU times. Returns our
/// output for further checks.
pub fn assert_virsh_matches_reference(uri: &str, commands: &str) -> CmdOutput {
    let normalize = |text: &str| normalize_cpu_time(&normalize_uri(text, uri));
    let reference = map_output(
        &crate::tools::virsh(crate::tools::reference_uri(), commands),
        normalize,
    );
    let ours = map_output(&crate::tools::virsh(uri, commands), normalize);
    assert_same_output(&format!("virsh '{commands}'"), &reference, &ours);
    ours
}

/// Asserts that exit status, stdout and stderr are identical, showing the
/// first differing line when they are not.
pub fn assert_same_output(what: &str, reference: &CmdOutput, ours: &CmdOutput) {
    let same = reference.code() == ours.code()
        && reference.stdout == ours.stdout
        && reference.stderr == ours.stderr;
    if same {
        return;
    }
    let mut report = format!("{what}: output differs from the reference\n");
    if reference.code() != ours.code() {
        report.push_str(&format!(
            "exit code: reference {:?}, ours {:?}\n",
            reference.code(),
            ours.code()
        ));
    }
    report.push_str(&first_difference("stdout", &reference.stdout, &ours.stdout));
    report.push_str(&first_difference("stderr", &reference.stderr, &ours.stderr));
    report.push_str(&format!("=== reference:\n{reference}\n=== ours:\n{ours}\n"));
    panic!("{report}");
}

/// A one-line description of where two texts first differ (empty if equal).
pub fn first_difference(what: &str, reference: &str, ours: &str) -> String {
    if reference == ours {
        return String::new();
    }
    let mut ref_lines = reference.split('\n');
    let mut our_lines = ours.split('\n');
    let mut number = 1;
    loop {
        match (ref_lines.next(), our_lines.next()) {
            (Some(a), Some(b)) if a == b => number += 1,
            (a, b) => {
                return format!(
                    "{what} line {number}: reference {:?}, ours {:?}\n",
                    a.unwrap_or("<end>"),
                    b.unwrap_or("<end>")
                )
            }
        }
    }
}

/// Applies `f` to stdout and stderr of an output.
pub fn map_output(output: &CmdOutput, f: impl Fn(&str) -> String) -> CmdOutput {
    CmdOutput {
        status: output.status,
        stdout: f(&output.stdout),
        stderr: f(&output.stderr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_lines_are_masked_and_others_kept() {
        let text = "Name:           test\nCPU time:       1795570879.2s\nCPU(s):         2\n";
        assert_eq!(
            normalize_cpu_time(text),
            "Name:           test\nCPU time:       <wall-clock dependent>\nCPU(s):         2\n"
        );
    }

    #[test]
    fn first_difference_names_the_line() {
        assert_eq!(
            first_difference("x", "a\nb\n", "a\nc\n"),
            "x line 2: reference \"b\", ours \"c\"\n"
        );
        assert_eq!(first_difference("x", "a\n", "a\n"), "");
        assert_eq!(
            first_difference("x", "a", "a\nb"),
            "x line 2: reference \"<end>\", ours \"b\"\n"
        );
    }
}
