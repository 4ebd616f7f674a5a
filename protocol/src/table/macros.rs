//! The macro a program's rows are written in, and its helpers.
//!
//! One row per procedure, in number order, no gaps:
//!
//! ```text
//! NUM NAME "virApiName" Family Priority Stream ACCESS KIND;
//! ```
//!
//! - `Family`: a [`Family`](super::Family) variant; `Priority`: `Low` or
//!   `High`; `Stream`: `None`, `Read` or `Write`.
//! - `ACCESS` on a read-only connection: `allow`, `deny`, or
//!   `deny_if(field & MASK, secure|plain)` / `deny_if(field == VALUE, plain)`
//!   for libvirt's flag-dependent checks (`secure` picks the XML getters'
//!   "with secure flag" wording).
//! - `KIND`: `serve Variant(Args => Ret)` (a `Call` variant the daemon must
//!   handle), `typed(Args => Ret)` (bodies known, answered "not supported"),
//!   `event(Msg)` (sent by the server), or `untyped`.

/// Declares the items of one program module from its rows.
macro_rules! procedure_table {
    (
        $(
            $num:literal $name:ident $api:literal $family:ident $prio:ident $stream:ident
            $access:ident $( ( $field:ident $op:tt $val:literal , $refusal:ident ) )?
            $kind:ident $( $variant:ident )? $( ( $($types:tt)* ) )? ;
        )*
    ) => {
        $(
            #[doc = $api]
            pub const $name: i32 = $num;
        )*

        /// Every procedure number, ascending.
        pub const ALL: &[i32] = &[$($num),*];

        /// The rows, indexed by procedure number - 1.
        pub const ROWS: &[$crate::table::ProcInfo] = &[$(
            $crate::table::ProcInfo {
                number: $num,
                name: stringify!($name),
                api: $api,
                family: $crate::table::Family::$family,
                priority: $crate::table::Priority::$prio,
                stream: $crate::table::Stream::$stream,
                access: table_access!($access $( ($field $op $val, $refusal) )?),
                kind: table_kind!($kind),
                args: table_body!(args $kind $( ( $($types)* ) )?),
                ret: table_body!(ret $kind $( ( $($types)* ) )?),
                msg: table_body!(msg $kind $( ( $($types)* ) )?),
            },
        )*];

        /// The highest procedure number.
        pub const MAX: i32 = ROWS.len() as i32;

        /// The procedure's row.
        pub fn info(p: i32) -> Option<&'static $crate::table::ProcInfo> {
            let row = ROWS.get(usize::try_from(p.checked_sub(1)?).ok()?)?;
            (row.number == p).then_some(row)
        }

        /// The procedure's name without the program prefix, e.g. "CONNECT_OPEN".
        pub fn name(p: i32) -> Option<&'static str> {
            info(p).map(|row| row.name)
        }

        table_calls! {
            [] ;
            $( $num $kind $( $variant )? $( ( $($types)* ) )? [ $( $field )? ] ; )*
        }
    };
}

macro_rules! table_access {
    (allow) => {
        $crate::table::Access::Allow
    };
    (deny) => {
        $crate::table::Access::Deny
    };
    (deny_if ($field:ident & $mask:literal, $refusal:ident)) => {
        $crate::table::Access::DenyIf {
            field: stringify!($field),
            test: $crate::table::Test::AnyBit($mask),
            refusal: table_refusal!($refusal),
        }
    };
    (deny_if ($field:ident == $value:literal, $refusal:ident)) => {
        $crate::table::Access::DenyIf {
            field: stringify!($field),
            test: $crate::table::Test::Equals($value),
            refusal: table_refusal!($refusal),
        }
    };
}

macro_rules! table_refusal {
    (plain) => {
        $crate::table::Refusal::ReadOnly
    };
    (secure) => {
        $crate::table::Refusal::SecureFlag
    };
}

macro_rules! table_kind {
    (serve) => {
        $crate::table::Kind::Served
    };
    (typed) => {
        $crate::table::Kind::Typed
    };
    (event) => {
        $crate::table::Kind::Event
    };
    (untyped) => {
        $crate::table::Kind::Untyped
    };
}

macro_rules! table_body {
    (args $kind:ident ($a:ty => $r:ty)) => {
        Some($crate::table::reencode_as::<$a> as $crate::table::Reencode)
    };
    (ret $kind:ident ($a:ty => $r:ty)) => {
        Some($crate::table::reencode_as::<$r> as $crate::table::Reencode)
    };
    (msg event ($m:ty)) => {
        Some($crate::table::reencode_as::<$m> as $crate::table::Reencode)
    };
    ($which:ident $kind:ident $( ($($t:tt)*) )?) => {
        None
    };
}

/// The argument a flag-dependent access rule reads, for a served call.
macro_rules! table_word {
    ($args:ident) => {
        None
    };
    ($args:ident $field:ident) => {
        Some($args.$field)
    };
}

/// Collects the served rows (one row per step), then declares the `Call`
/// enum from them.
macro_rules! table_calls {
    (
        [$( { $n:literal $v:ident ($a:ty) [$($field:ident)?] } )*] ;
    ) => {
        /// A decoded call of this program: one variant per served procedure.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Call {
            $(
                #[doc = concat!("Procedure ", $n, ".")]
                $v($a),
            )*
            /// A procedure without a handler (its arguments were checked
            /// when the row has types).
            Unserved($crate::table::Unserved),
        }

        #[allow(clippy::match_single_binding, unreachable_patterns)]
        impl Call {
            /// Decodes a call's arguments; the body must be used up entirely.
            pub fn decode(
                proc_: i32,
                body: &[u8],
            ) -> Result<Self, $crate::table::DecodeError> {
                match proc_ {
                    $( $n => Ok(Call::$v($crate::xdr::from_bytes_exact::<$a>(body)?)), )*
                    _ => $crate::table::decode_unserved(ROWS, proc_, body).map(Call::Unserved),
                }
            }

            /// The procedure number.
            pub fn number(&self) -> i32 {
                match self {
                    $( Call::$v(_) => $n, )*
                    Call::Unserved(u) => u.info.number,
                }
            }

            /// The procedure's row.
            pub fn info(&self) -> &'static $crate::table::ProcInfo {
                &ROWS[(self.number() - 1) as usize]
            }

            /// The argument the row's flag-dependent access rule reads.
            pub fn access_word(&self) -> Option<u32> {
                match self {
                    $( Call::$v(_args) => table_word!(_args $($field)?), )*
                    Call::Unserved(_) => None,
                }
            }

            /// Refuses the call on a read-only connection when its row says so.
            pub fn read_only_verdict(&self) -> Result<(), $crate::table::Refusal> {
                self.info().access.read_only_verdict(self.access_word())
            }
        }

        #[allow(clippy::match_single_binding, unreachable_patterns)]
        impl $crate::table::CallCodec for Call {
            fn decode(proc_: i32, body: &[u8]) -> Result<Self, $crate::table::DecodeError> {
                Call::decode(proc_, body)
            }

            fn encode_args(&self) -> Option<Vec<u8>> {
                match self {
                    $( Call::$v(args) => Some($crate::xdr::to_bytes(args)), )*
                    Call::Unserved(_) => None,
                }
            }

            fn unserved(&self) -> Option<$crate::table::Unserved> {
                match self {
                    Call::Unserved(u) => Some(*u),
                    _ => None,
                }
            }

            fn info(&self) -> &'static $crate::table::ProcInfo {
                Call::info(self)
            }

            fn read_only_verdict(&self) -> Result<(), $crate::table::Refusal> {
                Call::read_only_verdict(self)
            }
        }
    };
    (
        [$($acc:tt)*] ;
        $n:literal serve $v:ident ($a:ty => $r:ty) [$($field:ident)?] ;
        $($rest:tt)*
    ) => {
        table_calls! {
            [$($acc)* { $n $v ($a) [$($field)?] }] ;
            $($rest)*
        }
    };
    (
        [$($acc:tt)*] ;
        $n:literal $kind:ident $( ($($t:tt)*) )? [$($field:ident)?] ;
        $($rest:tt)*
    ) => {
        table_calls! { [$($acc)*] ; $($rest)* }
    };
}
