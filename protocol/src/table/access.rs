//! Access classes: whether a procedure may be called on a read-only
//! connection. libvirt decides this in each public API function (its
//! `virCheckReadOnlyGoto` calls, some only for certain flags); the table
//! records the outcome per procedure.

/// A row's access class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Allowed on a read-only connection.
    Allow,
    /// Refused on a read-only connection (the default for anything that
    /// changes state or reveals secrets).
    Deny,
    /// Allowed unless an argument passes `test` (e.g. the SECURE flag).
    DenyIf {
        /// The argument the test reads (`flags` for most).
        field: &'static str,
        test: Test,
        refusal: Refusal,
    },
}

/// The condition of a flag-dependent rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test {
    /// Any of these bits is set.
    AnyBit(u32),
    /// The argument has exactly this value.
    Equals(u32),
}

/// Which message a refusal carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// "read only access prevents virXxx".
    ReadOnly,
    /// "virXxx with secure flag", the XML getters' own wording.
    SecureFlag,
}

impl Test {
    fn matches(self, word: u32) -> bool {
        match self {
            Test::AnyBit(mask) => word & mask != 0,
            Test::Equals(v) => word == v,
        }
    }
}

impl Access {
    /// The verdict for a call on a read-only connection. `word` is the value
    /// of the argument a flag-dependent rule reads, when the call could be
    /// decoded; an undecoded call passes (it is answered "not supported").
    pub fn read_only_verdict(self, word: Option<u32>) -> Result<(), Refusal> {
        match self {
            Access::Allow => Ok(()),
            Access::Deny => Err(Refusal::ReadOnly),
            Access::DenyIf { test, refusal, .. } => match word {
                Some(w) if test.matches(w) => Err(refusal),
                _ => Ok(()),
            },
        }
    }
}
