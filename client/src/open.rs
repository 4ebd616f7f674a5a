//! What every libvirt client does before its first API call: find out how
//! to authenticate, then open a driver.

use protocol::programs::{remote_proc as p, REMOTE_PROGRAM};
use protocol::remote::{auth_type, AuthListRet, AuthPolkitRet, ConnectOpenArgs};

use crate::connection::Client;
use crate::error::ClientError;

impl Client {
    /// AUTH_LIST, then AUTH_POLKIT when the daemon asks for polkit, then
    /// CONNECT_OPEN of `name` (`None`: the daemon's default driver).
    pub fn open(&mut self, name: Option<&str>, flags: u32) -> Result<(), ClientError> {
        let auth: AuthListRet = self.call(REMOTE_PROGRAM, p::AUTH_LIST, &())?;
        if !auth.types.is_empty() && !auth.types.contains(&auth_type::NONE) {
            if auth.types.contains(&auth_type::POLKIT) {
                let _: AuthPolkitRet = self.call(REMOTE_PROGRAM, p::AUTH_POLKIT, &())?;
            } else {
                return Err(ClientError::SaslRequired);
            }
        }
        let open = ConnectOpenArgs {
            name: name.map(str::to_string),
            flags,
        };
        self.call::<_, ()>(REMOTE_PROGRAM, p::CONNECT_OPEN, &open)
    }

    /// CONNECT_CLOSE, the polite end of a session.
    pub fn close(&mut self) -> Result<(), ClientError> {
        self.call::<_, ()>(REMOTE_PROGRAM, p::CONNECT_CLOSE, &())
    }
}
