//! The system identity token every daemon of one host shares, as libvirt keeps it
//! in `<run dir>/common/system.token`: a per-driver daemon calling another one
//! (virtqemud asking virtsecretd for a disk passphrase) passes it as the
//! `system.token` identity field, and the callee then treats the call as the
//! daemons' own (private secret values are given out). The file is 0600 in the
//! daemons' private run directory; whoever can read it is already root.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `VIR_CONNECT_IDENTITY_SYSTEM_TOKEN`.
pub const IDENTITY_FIELD: &str = "system.token";

fn token_path(run_dir: &Path) -> PathBuf {
    run_dir.join("common").join("system.token")
}

fn random_token() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn read_token(path: &Path) -> io::Result<String> {
    let text = fs::read_to_string(path)?;
    let token = text.trim().to_string();
    if token.len() < 16 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} does not hold a token", path.display()),
        ));
    }
    Ok(token)
}

/// The host's token, created (0600, written whole before it appears under its
/// name) by the first daemon that needs it.
pub fn load_or_create(run_dir: &Path) -> io::Result<String> {
    let path = token_path(run_dir);
    match read_token(&path) {
        Ok(token) => return Ok(token),
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let dir = path.parent().expect("token path has a directory");
    fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".system.token.{}", std::process::id()));
    let token = random_token()?;
    {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(token.as_bytes())?;
        file.sync_all()?;
    }
    // link() fails when another daemon was first: its token is the one to use.
    let linked = fs::hard_link(&temp, &path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(token),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_token(&path),
        Err(e) => Err(e),
    }
}

static THIS_HOST: OnceLock<Option<String>> = OnceLock::new();

/// This daemon's view of the token (read or created once, from its run directory).
pub fn this_host() -> Option<&'static str> {
    THIS_HOST
        .get_or_init(|| {
            let paths = crate::paths::Paths::from_env(nix::unistd::geteuid().is_root());
            match load_or_create(&paths.run_dir) {
                Ok(token) => Some(token),
                Err(e) => {
                    tracing::warn!("system identity token: {e}");
                    None
                }
            }
        })
        .as_deref()
}

/// Whether `presented` is this host's token (compared without early exit).
pub fn matches(presented: &str) -> bool {
    let Some(ours) = this_host() else {
        return false;
    };
    ours.len() == presented.len()
        && ours
            .bytes()
            .zip(presented.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn token_is_created_once_and_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create(dir.path()).expect("create");
        let second = load_or_create(dir.path()).expect("read");
        assert_eq!(first, second);
        assert_eq!(first.len(), 32);
        let mode = fs::metadata(token_path(dir.path()))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
