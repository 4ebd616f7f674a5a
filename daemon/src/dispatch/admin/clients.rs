//! Client procedures: listing a server's clients, looking one up, its
//! identity (`client-info`) and forced disconnection.

use protocol::admin::*;
use protocol::error::RemoteError;
use protocol::typed_param::{TypedParam, TypedParamValue};

use super::errors::{check_flags, no_client, no_client_here};
use super::servers::find;
use crate::context::Daemon;
use crate::server::registry::{ClientDetails, ClientInfo};
use crate::server::{Server, Transport};

/// Client identity parameter names (`VIR_CLIENT_INFO_*`).
const READONLY: &str = "readonly";
const SOCKET_ADDR: &str = "sock_addr";
const SASL_USER_NAME: &str = "sasl_user_name";
const X509_DNAME: &str = "tls_x509_dname";
const UNIX_USER_ID: &str = "unix_user_id";
const UNIX_USER_NAME: &str = "unix_user_name";
const UNIX_GROUP_ID: &str = "unix_group_id";
const UNIX_GROUP_NAME: &str = "unix_group_name";
const UNIX_PROCESS_ID: &str = "unix_process_id";
const SELINUX_CONTEXT: &str = "selinux_context";

fn client_ref(server: &Server, info: &ClientInfo) -> AdminClientRef {
    AdminClientRef {
        srv: AdminServerRef {
            name: server.name.to_string(),
        },
        id: info.id,
        timestamp: info.connected_at,
        transport: info.transport as u32,
    }
}

pub fn list(
    daemon: &Daemon,
    a: ServerListClientsArgs,
) -> Result<ServerListClientsRet, RemoteError> {
    let server = find(daemon, &a.srv.name)?;
    check_flags(a.flags, 0, "adminServerListClients")?;
    let clients: Vec<AdminClientRef> = server
        .clients
        .list()
        .iter()
        .map(|info| client_ref(server, info))
        .collect();
    let ret = clients.len() as u32;
    let clients = if a.need_results != 0 {
        clients
    } else {
        Vec::new()
    };
    Ok(ServerListClientsRet { clients, ret })
}

pub fn lookup(
    daemon: &Daemon,
    a: ServerLookupClientArgs,
) -> Result<ServerLookupClientRet, RemoteError> {
    let server = find(daemon, &a.srv.name)?;
    check_flags(a.flags, 0, "adminServerLookupClient")?;
    let info = server.clients.get(a.id).ok_or_else(|| no_client(a.id))?;
    Ok(ServerLookupClientRet {
        clnt: client_ref(server, &info),
    })
}

pub fn info(daemon: &Daemon, a: ClientGetInfoArgs) -> Result<ClientGetInfoRet, RemoteError> {
    let name = &a.clnt.srv.name;
    let server = daemon
        .server(name)
        .ok_or_else(|| super::errors::no_server_here(name))?;
    let (info, details) = server
        .clients
        .get_with_details(a.clnt.id)
        .ok_or_else(|| no_client_here(a.clnt.id))?;
    check_flags(a.flags, 0, "adminClientGetInfo")?;
    Ok(ClientGetInfoRet {
        params: identity(&info, &details),
    })
}

/// The identity libvirt reports, in its order: read-only flag, SASL user,
/// then the socket address and certificate name of a network client or the
/// unix credentials of a local one, then the security label.
pub fn identity(info: &ClientInfo, details: &ClientDetails) -> Vec<TypedParam> {
    let string =
        |name: &str, value: &str| TypedParam::new(name, TypedParamValue::String(value.into()));
    let int = |name: &str, value: i64| {
        let value = i32::try_from(value).unwrap_or(-1);
        TypedParam::new(name, TypedParamValue::Int(value))
    };
    let mut params = vec![TypedParam::new(
        READONLY,
        TypedParamValue::Boolean(i32::from(info.read_only)),
    )];
    if let Some(user) = &details.sasl_username {
        params.push(string(SASL_USER_NAME, user));
    }
    if info.transport == Transport::Unix {
        if let Some(uid) = info.peer_uid {
            params.push(int(UNIX_USER_ID, uid.into()));
            if let Some(name) = user_name(uid) {
                params.push(string(UNIX_USER_NAME, &name));
            }
        }
        if let Some(gid) = info.peer_gid {
            params.push(int(UNIX_GROUP_ID, gid.into()));
            if let Some(name) = group_name(gid) {
                params.push(string(UNIX_GROUP_NAME, &name));
            }
        }
        if let Some(pid) = info.peer_pid {
            params.push(int(UNIX_PROCESS_ID, pid.into()));
        }
    } else {
        if let Some(addr) = &info.peer_addr {
            params.push(string(SOCKET_ADDR, addr));
        }
        if let Some(dname) = &details.x509_dname {
            params.push(string(X509_DNAME, dname));
        }
    }
    if let Some(label) = &details.security_label {
        params.push(string(SELINUX_CONTEXT, label));
    }
    params
}

/// `client-disconnect`: the session is closed at once, like libvirtd's
/// `virNetServerClientClose`.
pub fn close(daemon: &Daemon, a: ClientCloseArgs) -> Result<(), RemoteError> {
    let server = find(daemon, &a.clnt.srv.name)?;
    if server.clients.get(a.clnt.id).is_none() {
        return Err(no_client(a.clnt.id));
    }
    check_flags(a.flags, 0, "adminClientClose")?;
    if !server.clients.close(a.clnt.id) {
        return Err(no_client(a.clnt.id));
    }
    tracing::info!(
        target: "daemon::admin",
        server = server.name,
        client = a.clnt.id,
        "client disconnected by the administrator"
    );
    Ok(())
}

/// The user name of `uid` from the password database.
fn user_name(uid: u32) -> Option<String> {
    let user = nix::unistd::User::from_uid(uid.into()).ok()??;
    Some(user.name)
}

/// The group name of `gid` from the group database.
fn group_name(gid: u32) -> Option<String> {
    let group = nix::unistd::Group::from_gid(gid.into()).ok()??;
    Some(group.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix_client() -> ClientInfo {
        ClientInfo {
            id: 193,
            connected_at: 1_795_568_144,
            transport: Transport::Unix,
            read_only: false,
            peer_uid: Some(0),
            peer_gid: Some(0),
            peer_pid: Some(23825),
            peer_addr: None,
        }
    }

    #[test]
    fn unix_identity_matches_the_recorded_reply() {
        let params = identity(&unix_client(), &ClientDetails::default());
        let expected = vec![
            TypedParam::new(READONLY, TypedParamValue::Boolean(0)),
            TypedParam::new(UNIX_USER_ID, TypedParamValue::Int(0)),
            TypedParam::new(UNIX_USER_NAME, TypedParamValue::String("root".into())),
            TypedParam::new(UNIX_GROUP_ID, TypedParamValue::Int(0)),
            TypedParam::new(UNIX_GROUP_NAME, TypedParamValue::String("root".into())),
            TypedParam::new(UNIX_PROCESS_ID, TypedParamValue::Int(23825)),
        ];
        assert_eq!(params, expected);
    }

    #[test]
    fn network_identity_has_address_certificate_and_sasl_user() {
        let info = ClientInfo {
            transport: Transport::Tls,
            read_only: true,
            peer_uid: None,
            peer_gid: None,
            peer_pid: None,
            peer_addr: Some("[::1]:51000".into()),
            ..unix_client()
        };
        let details = ClientDetails {
            x509_dname: Some("C=GB,O=Test,CN=client".into()),
            sasl_username: Some("fred".into()),
            security_label: None,
        };
        let fields: Vec<(String, TypedParamValue)> = identity(&info, &details)
            .into_iter()
            .map(|p| (p.field, p.value))
            .collect();
        assert_eq!(
            fields,
            vec![
                (READONLY.to_string(), TypedParamValue::Boolean(1)),
                (
                    SASL_USER_NAME.to_string(),
                    TypedParamValue::String("fred".into())
                ),
                (
                    SOCKET_ADDR.to_string(),
                    TypedParamValue::String("[::1]:51000".into())
                ),
                (
                    X509_DNAME.to_string(),
                    TypedParamValue::String("C=GB,O=Test,CN=client".into())
                ),
            ]
        );
    }
}
