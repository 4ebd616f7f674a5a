//! Admin program (virt-admin) arguments and replies.

use crate::typed_param::TypedParam;
use crate::xdr_struct;

/// Array limits of the admin program.
pub mod limits {
    pub const SERVER_LIST_MAX: usize = 16_384;
    pub const SERVER_THREADPOOL_PARAMETERS_MAX: usize = 32;
    pub const CLIENT_LIST_MAX: usize = 16_384;
    pub const CLIENT_INFO_PARAMETERS_MAX: usize = 64;
    pub const SERVER_CLIENT_LIMITS_MAX: usize = 32;
}

use limits::*;

/// Client transports as reported in [`AdminClientRef::transport`].
pub mod transport {
    pub const UNIX: u32 = 0;
    pub const TCP: u32 = 1;
    pub const TLS: u32 = 2;
}

xdr_struct! {
    /// A server of the daemon ("libvirtd" or "admin").
    pub struct AdminServerRef {
        pub name: String,
    }
}

xdr_struct! {
    /// A connected client of a server.
    pub struct AdminClientRef {
        pub srv: AdminServerRef,
        pub id: u64,
        /// Connect time, seconds since the epoch.
        pub timestamp: i64,
        pub transport: u32,
    }
}

xdr_struct! {
    pub struct ConnectOpenArgs {
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectGetLibVersionRet {
        pub lib_ver: u64,
    }
}

xdr_struct! {
    pub struct ConnectListServersArgs {
        pub need_results: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectListServersRet {
        pub servers: Vec<AdminServerRef> [SERVER_LIST_MAX],
        pub ret: u32,
    }
}

xdr_struct! {
    pub struct ConnectLookupServerArgs {
        pub name: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectLookupServerRet {
        pub srv: AdminServerRef,
    }
}

xdr_struct! {
    pub struct ServerGetThreadpoolParametersArgs {
        pub srv: AdminServerRef,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ServerGetThreadpoolParametersRet {
        pub params: Vec<TypedParam> [SERVER_THREADPOOL_PARAMETERS_MAX],
    }
}

xdr_struct! {
    pub struct ServerSetThreadpoolParametersArgs {
        pub srv: AdminServerRef,
        pub params: Vec<TypedParam> [SERVER_THREADPOOL_PARAMETERS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ServerListClientsArgs {
        pub srv: AdminServerRef,
        pub need_results: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ServerListClientsRet {
        pub clients: Vec<AdminClientRef> [CLIENT_LIST_MAX],
        pub ret: u32,
    }
}

xdr_struct! {
    pub struct ServerLookupClientArgs {
        pub srv: AdminServerRef,
        pub id: u64,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ServerLookupClientRet {
        pub clnt: AdminClientRef,
    }
}

xdr_struct! {
    pub struct ClientGetInfoArgs {
        pub clnt: AdminClientRef,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ClientGetInfoRet {
        pub params: Vec<TypedParam> [CLIENT_INFO_PARAMETERS_MAX],
    }
}

xdr_struct! {
    pub struct ClientCloseArgs {
        pub clnt: AdminClientRef,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ServerGetClientLimitsArgs {
        pub srv: AdminServerRef,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ServerGetClientLimitsRet {
        pub params: Vec<TypedParam> [SERVER_CLIENT_LIMITS_MAX],
    }
}

xdr_struct! {
    pub struct ServerSetClientLimitsArgs {
        pub srv: AdminServerRef,
        pub params: Vec<TypedParam> [SERVER_CLIENT_LIMITS_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ServerUpdateTlsFilesArgs {
        pub srv: AdminServerRef,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectGetLoggingOutputsArgs {
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectGetLoggingOutputsRet {
        pub outputs: String,
        pub noutputs: u32,
    }
}

xdr_struct! {
    pub struct ConnectGetLoggingFiltersArgs {
        pub flags: u32,
    }
}

xdr_struct! {
    /// `filters` is absent when no filter is set.
    pub struct ConnectGetLoggingFiltersRet {
        pub filters: Option<String>,
        pub nfilters: u32,
    }
}

xdr_struct! {
    pub struct ConnectSetLoggingOutputsArgs {
        pub outputs: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectSetLoggingFiltersArgs {
        pub filters: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectSetDaemonTimeoutArgs {
        pub timeout: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    /// `admin_connect_daemon_shutdown_args` (procedure 20, added after 9.0).
    pub struct ConnectDaemonShutdownArgs {
        pub flags: u32,
    }
}
