//! Connection-level procedures: authentication, open/close, features and the
//! getters about the hypervisor and the host. Getters that ask the host (a
//! host name look-up, /proc and sysfs, probing QEMU) run on workers.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::error::{codes, domains};
use protocol::header::Header;
use protocol::remote::*;

use super::{drv, inline, job, reply_err, Action, Session};
use crate::context::Daemon;
use crate::dispatch::reply::{empty_reply, ok_reply, with_template};
use crate::server::AuthScheme;

/// VIR_CONNECT_RO in CONNECT_OPEN flags.
const CONNECT_RO: u32 = 1;
/// Features the daemon itself provides, whatever the driver.
const FEATURE_FD_PASSING: i32 = 8;
const FEATURE_PROGRAM_KEEPALIVE: i32 = 10;
const FEATURE_REMOTE_EVENT_CALLBACK: i32 = 14;
const FEATURE_REMOTE_CLOSE_CALLBACK: i32 = 15;

/// libvirt 9.0.0 as a version number.
pub const LIB_VERSION: u64 = 9_000_000;

/// AUTH_LIST is the gate: a root peer on a polkit socket is admitted here, as
/// libvirtd admits uid 0 without asking polkitd.
pub fn auth_list(daemon: &Arc<Daemon>, session: &mut Session, h: &Header) -> Action {
    let scheme = session.kind.auth;
    let admitted = match scheme {
        AuthScheme::None => true,
        AuthScheme::Polkit => session.info.peer_uid == Some(0),
        AuthScheme::Sasl => false,
    };
    let types = if admitted {
        session.mark_authenticated(&daemon.main);
        vec![AuthScheme::None.wire_value()]
    } else {
        vec![scheme.wire_value()]
    };
    Action::Reply(ok_reply(h, &AuthListRet { types }))
}

pub fn feature_before_open(
    session: &mut Session,
    h: &Header,
    a: ConnectSupportsFeatureArgs,
) -> Action {
    inline(h, || {
        if a.feature == FEATURE_PROGRAM_KEEPALIVE {
            session.keepalive_requested = true;
            Ok(ConnectSupportsFeatureRet { supported: 1 })
        } else {
            Err(with_template(
                codes::INTERNAL_ERROR,
                domains::RPC,
                "internal error: hypervisor connection not open",
                "internal error: %s",
                "hypervisor connection not open",
            ))
        }
    })
}

pub fn supports_feature(
    session: &mut Session,
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectSupportsFeatureArgs,
) -> Action {
    inline(h, || {
        let supported = match a.feature {
            FEATURE_PROGRAM_KEEPALIVE => {
                session.keepalive_requested = true;
                true
            }
            FEATURE_FD_PASSING | FEATURE_REMOTE_EVENT_CALLBACK | FEATURE_REMOTE_CLOSE_CALLBACK => {
                true
            }
            other => conn.supports_feature(other),
        };
        Ok(ConnectSupportsFeatureRet {
            supported: supported as i32,
        })
    })
}

pub fn open(
    daemon: &Arc<Daemon>,
    session: &mut Session,
    h: &Header,
    args: ConnectOpenArgs,
) -> Action {
    if session.conn.is_some() {
        return reply_err(
            h,
            with_template(
                codes::INTERNAL_ERROR,
                domains::RPC,
                "internal error: connection already open",
                "internal error: %s",
                "connection already open",
            ),
        );
    }
    let name = args.name.unwrap_or_default();
    let driver = if name.is_empty() {
        daemon.drivers.default_driver()
    } else {
        daemon.drivers.for_uri(&name)
    };
    let Some(driver) = driver else {
        let shown = if name.is_empty() {
            "(null)".to_string()
        } else {
            name.clone()
        };
        return reply_err(
            h,
            with_template(
                codes::NO_CONNECT,
                domains::NONE,
                &format!("no connection driver available for {shown}"),
                "no connection driver available for %s",
                &shown,
            ),
        );
    };
    if args.flags & CONNECT_RO != 0 {
        session.read_only = true;
    }
    let uri = if name.is_empty() {
        default_uri(driver.scheme())
    } else {
        name
    };
    match driver.open(&uri, session.read_only) {
        Ok(conn) => {
            session.scheme = driver.scheme();
            session.conn = Some(conn);
            // Secondary drivers serve hypervisor connections too, as in libvirt;
            // the test driver keeps its own (none).
            if driver.scheme() != "test" {
                if let Some(network) = daemon.drivers.network_driver() {
                    match network.open(session.read_only) {
                        Ok(net) => session.network = Some(net),
                        Err(e) => return reply_err(h, crate::dispatch::reply::from_driver(e)),
                    }
                }
                if let Some(storage) = daemon.drivers.storage_driver() {
                    session.storage = storage.open(session.read_only).ok();
                }
                if let Some(secret) = daemon.drivers.secret_driver() {
                    session.secret = secret.open(session.read_only).ok();
                }
                if let Some(nodedev) = daemon.drivers.nodedev_driver() {
                    session.nodedev = nodedev.open(session.read_only).ok();
                }
                if let Some(interface) = daemon.drivers.interface_driver() {
                    session.interface = interface.open(session.read_only).ok();
                }
            }
            Action::Reply(empty_reply(h))
        }
        Err(e) => reply_err(h, crate::dispatch::reply::from_driver(e)),
    }
}

/// The URI a client without one gets: the test driver's only path, or the
/// system instance of a hypervisor.
fn default_uri(scheme: &str) -> String {
    match scheme {
        "test" => "test:///default".to_string(),
        other => format!("{other}:///system"),
    }
}

pub fn close(session: &mut Session, h: &Header) -> Action {
    session.closing = true;
    if let Some(conn) = session.conn.take() {
        conn.close();
    }
    if let Some(network) = session.network.take() {
        network.close();
    }
    session.storage = None;
    session.secret = None;
    session.nodedev = None;
    session.interface = None;
    session.secondary.close();
    Action::Reply(empty_reply(h))
}

pub fn connect_get_type(conn: &Arc<dyn Connection>, h: &Header) -> Action {
    inline(h, || {
        Ok(ConnectGetTypeRet {
            type_: conn.hv_type(),
        })
    })
}

pub fn connect_get_version(conn: &Arc<dyn Connection>, h: &Header) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.hv_version()).map(|hv_ver| ConnectGetVersionRet { hv_ver })
    })
}

pub fn connect_get_lib_version(h: &Header) -> Action {
    inline(h, || {
        Ok(ConnectGetLibVersionRet {
            lib_ver: LIB_VERSION,
        })
    })
}

pub fn connect_get_hostname(conn: &Arc<dyn Connection>, h: &Header) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.hostname()).map(|hostname| ConnectGetHostnameRet { hostname })
    })
}

pub fn connect_get_uri(conn: &Arc<dyn Connection>, h: &Header) -> Action {
    inline(h, || Ok(ConnectGetUriRet { uri: conn.uri() }))
}

pub fn connect_get_sysinfo(
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectGetSysinfoArgs,
) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.sysinfo(a.flags)).map(|sysinfo| ConnectGetSysinfoRet { sysinfo })
    })
}

pub fn connect_get_capabilities(conn: &Arc<dyn Connection>, h: &Header) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.capabilities()).map(|capabilities| ConnectGetCapabilitiesRet { capabilities })
    })
}

pub fn connect_get_domain_capabilities(
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectGetDomainCapabilitiesArgs,
) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.domain_capabilities(
            a.emulatorbin.as_deref(),
            a.arch.as_deref(),
            a.machine.as_deref(),
            a.virttype.as_deref(),
            a.flags,
        ))
        .map(|capabilities| ConnectGetDomainCapabilitiesRet { capabilities })
    })
}

pub fn connect_get_max_vcpus(
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectGetMaxVcpusArgs,
) -> Action {
    inline(h, || {
        drv(conn.max_vcpus(a.type_.as_deref())).map(|max_vcpus| ConnectGetMaxVcpusRet { max_vcpus })
    })
}

pub fn connect_is_secure(conn: &Arc<dyn Connection>, h: &Header) -> Action {
    inline(h, || {
        Ok(ConnectIsSecureRet {
            secure: conn.is_secure() as i32,
        })
    })
}

pub fn node_get_info(conn: &Arc<dyn Connection>, h: &Header) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.node_info()).map(|n| NodeGetInfoRet {
            model: NodeGetInfoRet::model_from_str(&n.model),
            memory: n.memory_kib,
            cpus: n.cpus as i32,
            mhz: n.mhz as i32,
            nodes: n.nodes as i32,
            sockets: n.sockets as i32,
            cores: n.cores as i32,
            threads: n.threads as i32,
        })
    })
}

pub fn node_get_free_memory(conn: &Arc<dyn Connection>, h: &Header) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.node_free_memory()).map(|free_mem| NodeGetFreeMemoryRet { free_mem })
    })
}

pub fn node_get_cells_free_memory(
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: NodeGetCellsFreeMemoryArgs,
) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.node_cells_free_memory(a.start_cell, a.maxcells))
            .map(|cells| NodeGetCellsFreeMemoryRet { cells })
    })
}

pub fn node_get_security_model(conn: &Arc<dyn Connection>, h: &Header) -> Action {
    inline(h, || {
        drv(conn.node_security_model()).map(|m| NodeGetSecurityModelRet {
            model: CharArray::with_nul(&m.model),
            doi: CharArray::with_nul(&m.doi),
        })
    })
}
