//! Server procedures: listing and looking up servers, their worker pool,
//! their client limits and the reload of TLS material.

use std::sync::Arc;

use protocol::admin::*;
use protocol::error::{codes, domains, RemoteError};
use protocol::typed_param::{kind, TypedParam};

use super::errors::{check_flags, internal, invalid_arg, no_server, no_server_here, plain};
use super::params::{uint, uint_param, validate};
use crate::context::Daemon;
use crate::server::{Server, WorkerChange};

/// Threadpool parameter names (`VIR_THREADPOOL_*`).
const MIN_WORKERS: &str = "minWorkers";
const MAX_WORKERS: &str = "maxWorkers";
const CURRENT_WORKERS: &str = "nWorkers";
const FREE_WORKERS: &str = "freeWorkers";
const PRIORITY_WORKERS: &str = "prioWorkers";
const JOB_QUEUE_DEPTH: &str = "jobQueueDepth";

/// Client limit parameter names (`VIR_SERVER_CLIENTS_*`).
const CLIENTS_MAX: &str = "nclients_max";
const CLIENTS_CURRENT: &str = "nclients";
const CLIENTS_UNAUTH_MAX: &str = "nclients_unauth_max";
const CLIENTS_UNAUTH_CURRENT: &str = "nclients_unauth";

/// The named server, or libvirt's "Server not found" from the RPC layer.
pub fn find<'d>(daemon: &'d Daemon, name: &str) -> Result<&'d Arc<Server>, RemoteError> {
    daemon.server(name).ok_or_else(|| no_server(name))
}

/// As [`find`], with the admin dispatcher's wording (setters, client-info).
fn find_for_change<'d>(daemon: &'d Daemon, name: &str) -> Result<&'d Arc<Server>, RemoteError> {
    daemon.server(name).ok_or_else(|| no_server_here(name))
}

fn server_ref(server: &Server) -> AdminServerRef {
    AdminServerRef {
        name: server.name.to_string(),
    }
}

pub fn list(
    daemon: &Daemon,
    a: ConnectListServersArgs,
) -> Result<ConnectListServersRet, RemoteError> {
    check_flags(a.flags, 0, "adminConnectListServers")?;
    let names: Vec<AdminServerRef> = daemon.servers().iter().map(|s| server_ref(s)).collect();
    let ret = names.len() as u32;
    let servers = if a.need_results != 0 {
        names
    } else {
        Vec::new()
    };
    Ok(ConnectListServersRet { servers, ret })
}

/// libvirt passes the flags of this call through unchecked.
pub fn lookup(
    daemon: &Daemon,
    a: ConnectLookupServerArgs,
) -> Result<ConnectLookupServerRet, RemoteError> {
    let server = find(daemon, &a.name)?;
    Ok(ConnectLookupServerRet {
        srv: server_ref(server),
    })
}

pub fn threadpool_info(
    daemon: &Daemon,
    a: ServerGetThreadpoolParametersArgs,
) -> Result<ServerGetThreadpoolParametersRet, RemoteError> {
    let server = find(daemon, &a.srv.name)?;
    check_flags(a.flags, 0, "adminServerGetThreadPoolParameters")?;
    let stats = server.workers.stats();
    Ok(ServerGetThreadpoolParametersRet {
        params: vec![
            uint_param(MIN_WORKERS, stats.min_workers),
            uint_param(MAX_WORKERS, stats.max_workers),
            uint_param(CURRENT_WORKERS, stats.current_workers),
            uint_param(FREE_WORKERS, stats.free_workers),
            uint_param(PRIORITY_WORKERS, stats.priority_workers),
            uint_param(JOB_QUEUE_DEPTH, stats.job_queue_depth),
        ],
    })
}

pub fn threadpool_set(
    daemon: &Daemon,
    a: ServerSetThreadpoolParametersArgs,
) -> Result<(), RemoteError> {
    let server = find_for_change(daemon, &a.srv.name)?;
    check_flags(a.flags, 0, "adminServerSetThreadPoolParameters")?;
    let keys = [
        (MIN_WORKERS, kind::UINT),
        (MAX_WORKERS, kind::UINT),
        (PRIORITY_WORKERS, kind::UINT),
    ];
    validate(&a.params, &keys)?;
    let change = WorkerChange {
        min_workers: uint(&a.params, MIN_WORKERS),
        max_workers: uint(&a.params, MAX_WORKERS),
        priority_workers: uint(&a.params, PRIORITY_WORKERS),
    };
    server
        .change_workers(change)
        .map_err(|e| invalid_arg(domains::NONE, &e.to_string()))?;
    tracing::info!(
        target: "daemon::admin",
        server = server.name,
        "threadpool changed: {}",
        describe(&a.params)
    );
    Ok(())
}

pub fn client_limits(
    daemon: &Daemon,
    a: ServerGetClientLimitsArgs,
) -> Result<ServerGetClientLimitsRet, RemoteError> {
    let server = find(daemon, &a.srv.name)?;
    check_flags(a.flags, 0, "adminServerGetClientLimits")?;
    let counts = server.client_counts();
    Ok(ServerGetClientLimitsRet {
        params: vec![
            uint_param(CLIENTS_MAX, counts.max_clients),
            uint_param(CLIENTS_CURRENT, counts.clients),
            uint_param(CLIENTS_UNAUTH_MAX, counts.max_unauthenticated),
            uint_param(CLIENTS_UNAUTH_CURRENT, counts.unauthenticated),
        ],
    })
}

pub fn client_limits_set(daemon: &Daemon, a: ServerSetClientLimitsArgs) -> Result<(), RemoteError> {
    let server = find_for_change(daemon, &a.srv.name)?;
    check_flags(a.flags, 0, "adminServerSetClientLimits")?;
    let keys = [(CLIENTS_MAX, kind::UINT), (CLIENTS_UNAUTH_MAX, kind::UINT)];
    validate(&a.params, &keys)?;
    server
        .change_client_limits(
            uint(&a.params, CLIENTS_MAX),
            uint(&a.params, CLIENTS_UNAUTH_MAX),
        )
        .map_err(|e| invalid_arg(domains::RPC, &e.to_string()))?;
    tracing::info!(
        target: "daemon::admin",
        server = server.name,
        "client limits changed: {}",
        describe(&a.params)
    );
    Ok(())
}

/// Re-reads the certificates, key, CA and CRL from the paths the daemon was
/// configured with. Only a server with a TLS service can do it.
pub fn update_tls(daemon: &Daemon, a: ServerUpdateTlsFilesArgs) -> Result<(), RemoteError> {
    let server = find(daemon, &a.srv.name)?;
    check_flags(a.flags, 0, "adminServerUpdateTlsFiles")?;
    let reload = match daemon.tls_reload.get() {
        Some(reload) if Arc::ptr_eq(server, &daemon.main) => reload,
        _ => {
            return Err(internal(
                domains::RPC,
                "no tls service found, unable to update tls files",
            ))
        }
    };
    reload().map_err(|message| plain(codes::SYSTEM_ERROR, domains::RPC, &message))?;
    tracing::info!(target: "daemon::admin", server = server.name, "TLS files reloaded");
    Ok(())
}

/// `name=value ...` of a setter's parameters, for the log.
fn describe(params: &[TypedParam]) -> String {
    let shown: Vec<String> = params
        .iter()
        .map(|p| match &p.value {
            protocol::typed_param::TypedParamValue::UInt(v) => format!("{}={v}", p.field),
            other => format!("{}={other:?}", p.field),
        })
        .collect();
    shown.join(" ")
}
