//! CONNECT_SET_IDENTITY: the identity of the end user a proxy (virtproxyd)
//! forwards a connection for.

use crate::typed_param::TypedParam;
use crate::xdr_struct;

/// `REMOTE_CONNECT_IDENTITY_PARAMS_MAX`.
pub const CONNECT_IDENTITY_PARAMS_MAX: usize = 20;

xdr_struct! {
    pub struct ConnectSetIdentityArgs {
        pub params: Vec<TypedParam> [CONNECT_IDENTITY_PARAMS_MAX],
        pub flags: u32,
    }
}
