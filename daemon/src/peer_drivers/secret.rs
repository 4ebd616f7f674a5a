//! `virtsecretd` seen from `virtqemud` (and `virtstoraged`): a disk passphrase is
//! read with `virSecretLookupByUUID` and `virSecretGetValue` on a connection that
//! first presents the host's system identity token, so that private secrets are
//! given to the daemon as libvirt's elevated identity gets them.

use std::sync::Arc;

use drivers::api::{DriverError, DriverResult, SecretConnection, SecretDriver, Uuid};
use protocol::programs::{remote_proc as p, REMOTE_PROGRAM};
use protocol::remote::{
    ConnectSetIdentityArgs, SecretFlagsArgs, SecretGetValueRet, SecretLookupByUuidArgs,
    SecretRefRet,
};
use protocol::typed_param::{TypedParam, TypedParamValue};

use super::{close, PeerSocket};

/// The secret driver of the `virtsecretd` listening on `socket`.
pub struct PeerSecrets {
    socket: PeerSocket,
}

impl PeerSecrets {
    pub fn new(socket: PeerSocket) -> Self {
        PeerSecrets { socket }
    }
}

impl SecretDriver for PeerSecrets {
    fn open(&self, _read_only: bool) -> DriverResult<Arc<dyn SecretConnection>> {
        Err(DriverError::no_support("virConnectListAllSecrets"))
    }

    fn value_for_daemon(&self, uuid: &Uuid) -> DriverResult<Vec<u8>> {
        let mut client = self.socket.open()?;
        let token = crate::system_token::this_host().unwrap_or_default();
        let result = (|| {
            client.call::<_, ()>(
                REMOTE_PROGRAM,
                p::CONNECT_SET_IDENTITY,
                &ConnectSetIdentityArgs {
                    params: vec![TypedParam {
                        field: crate::system_token::IDENTITY_FIELD.to_string(),
                        value: TypedParamValue::String(token.to_string()),
                    }],
                    flags: 0,
                },
            )?;
            let secret: SecretRefRet = client.call(
                REMOTE_PROGRAM,
                p::SECRET_LOOKUP_BY_UUID,
                &SecretLookupByUuidArgs { uuid: *uuid },
            )?;
            let value: SecretGetValueRet = client.call(
                REMOTE_PROGRAM,
                p::SECRET_GET_VALUE,
                &SecretFlagsArgs {
                    secret: secret.secret,
                    flags: 0,
                },
            )?;
            Ok(value.value.0)
        })()
        .map_err(|e| self.socket.error(e));
        close(client);
        result
    }
}
