//! The ADMIN program (`virt-admin`). Procedure 20 comes from later libvirt versions.
//!
//! One row per procedure; the format is described in `crate::table`.
//! Adding a procedure: give its row types (`typed`) or a `Call` variant
//! (`serve`), and the compiler asks the daemon for its handler.

use crate::admin::*;

procedure_table! {
    1 CONNECT_OPEN "virAdmConnectOpen" Admin Low None allow serve ConnectOpen(ConnectOpenArgs => ());
    2 CONNECT_CLOSE "virAdmConnectClose" Admin Low None allow serve ConnectClose(() => ());
    3 CONNECT_GET_LIB_VERSION "virAdmConnectGetLibVersion" Admin Low None allow serve ConnectGetLibVersion(() => ConnectGetLibVersionRet);
    4 CONNECT_LIST_SERVERS "virAdmConnectListServers" Admin Low None allow serve ConnectListServers(ConnectListServersArgs => ConnectListServersRet);
    5 CONNECT_LOOKUP_SERVER "virAdmConnectLookupServer" Admin Low None allow serve ConnectLookupServer(ConnectLookupServerArgs => ConnectLookupServerRet);
    6 SERVER_GET_THREADPOOL_PARAMETERS "virAdmServerGetThreadPoolParameters" Admin Low None allow serve ServerGetThreadpoolParameters(ServerGetThreadpoolParametersArgs => ServerGetThreadpoolParametersRet);
    7 SERVER_SET_THREADPOOL_PARAMETERS "virAdmServerSetThreadPoolParameters" Admin Low None allow serve ServerSetThreadpoolParameters(ServerSetThreadpoolParametersArgs => ());
    8 SERVER_LIST_CLIENTS "virAdmServerListClients" Admin Low None allow serve ServerListClients(ServerListClientsArgs => ServerListClientsRet);
    9 SERVER_LOOKUP_CLIENT "virAdmServerLookupClient" Admin Low None allow serve ServerLookupClient(ServerLookupClientArgs => ServerLookupClientRet);
    10 CLIENT_GET_INFO "virAdmClientGetInfo" Admin Low None allow serve ClientGetInfo(ClientGetInfoArgs => ClientGetInfoRet);
    11 CLIENT_CLOSE "virAdmClientClose" Admin Low None allow serve ClientClose(ClientCloseArgs => ());
    12 SERVER_GET_CLIENT_LIMITS "virAdmServerGetClientLimits" Admin Low None allow serve ServerGetClientLimits(ServerGetClientLimitsArgs => ServerGetClientLimitsRet);
    13 SERVER_SET_CLIENT_LIMITS "virAdmServerSetClientLimits" Admin Low None allow serve ServerSetClientLimits(ServerSetClientLimitsArgs => ());
    14 CONNECT_GET_LOGGING_OUTPUTS "virAdmConnectGetLoggingOutputs" Admin Low None allow serve ConnectGetLoggingOutputs(ConnectGetLoggingOutputsArgs => ConnectGetLoggingOutputsRet);
    15 CONNECT_GET_LOGGING_FILTERS "virAdmConnectGetLoggingFilters" Admin Low None allow serve ConnectGetLoggingFilters(ConnectGetLoggingFiltersArgs => ConnectGetLoggingFiltersRet);
    16 CONNECT_SET_LOGGING_OUTPUTS "virAdmConnectSetLoggingOutputs" Admin Low None allow serve ConnectSetLoggingOutputs(ConnectSetLoggingOutputsArgs => ());
    17 CONNECT_SET_LOGGING_FILTERS "virAdmConnectSetLoggingFilters" Admin Low None allow serve ConnectSetLoggingFilters(ConnectSetLoggingFiltersArgs => ());
    18 SERVER_UPDATE_TLS_FILES "virAdmServerUpdateTlsFiles" Admin Low None allow serve ServerUpdateTlsFiles(ServerUpdateTlsFilesArgs => ());
    19 CONNECT_SET_DAEMON_TIMEOUT "virAdmConnectSetDaemonTimeout" Admin Low None allow serve ConnectSetDaemonTimeout(ConnectSetDaemonTimeoutArgs => ());
    20 CONNECT_DAEMON_SHUTDOWN "virAdmConnectDaemonShutdown" Admin Low None allow serve ConnectDaemonShutdown(ConnectDaemonShutdownArgs => ());
}
