//! The daemons of the virtproxyd phase: this project's binary as
//! `virtqemud` and `virtproxyd` in one private `LIBVIRTD_ROOT`, and the real
//! libvirtd 9.0 as the TLS rows start it.

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::launch::{log_tail, DaemonSpec, Extra, RunningDaemon};
use crate::pki::SERVER_NAME;
use crate::proxy::{open_qemu, ProxyError, Route, READY_LIMIT};
use crate::tls_client::TlsEndpoint;
use crate::tls_run::{self, TlsMaterial, TlsRunError};
use crate::transport::Endpoint;

/// How long a daemon of the set may take to exit after SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(10);
const RETRY: Duration = Duration::from_millis(5);

/// One of this project's daemons started under a modular name; killed with
/// its process group when dropped.
pub(crate) struct Member {
    name: &'static str,
    child: Option<Child>,
    output: PathBuf,
}

impl Member {
    fn start(
        binary: &Path,
        name: &'static str,
        root: &Path,
        args: &[&str],
    ) -> Result<Member, ProxyError> {
        let output = root.join(format!("{name}.out"));
        let file = File::create(&output).map_err(|source| ProxyError::Prepare {
            path: output.clone(),
            source,
        })?;
        let err = file.try_clone().map_err(|source| ProxyError::Prepare {
            path: output.clone(),
            source,
        })?;
        let mut command = Command::new(binary);
        command
            .arg0(name)
            .args(args)
            .env("LIBVIRTD_ROOT", root)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .process_group(0);
        // SAFETY: the closure only makes a system call.
        unsafe {
            command.pre_exec(crate::launch::raise_nofile_limit);
        }
        let child = command
            .spawn()
            .map_err(|source| ProxyError::Spawn { name, source })?;
        Ok(Member {
            name,
            child: Some(child),
            output,
        })
    }

    /// Waits until `endpoint` serves a whole `qemu:///system` session.
    fn wait_serving(&mut self, endpoint: &Endpoint) -> Result<(), ProxyError> {
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            let exited = match self.child.as_mut() {
                Some(child) => child.try_wait().ok().flatten().is_some(),
                None => true,
            };
            let last = match open_qemu(endpoint).and_then(|mut s| s.lib_version()) {
                Ok(_) => return Ok(()),
                Err(e) => e.to_string(),
            };
            if exited || Instant::now() >= deadline {
                return Err(ProxyError::NotReady {
                    name: self.name,
                    last,
                    tail: log_tail(&self.output),
                });
            }
            thread::sleep(RETRY);
        }
    }

    pub(crate) fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as libc::pid_t),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + STOP_LIMIT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(RETRY);
            }
            kill_group(&mut child);
        }
    }
}

fn kill_group(child: &mut Child) {
    crate::launch::kill_group(child);
    let _ = child.wait();
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
    }
}

/// virtqemud plus virtproxyd in `root`, the proxy with TLS when `tls` is
/// given.
pub(crate) struct ModularSet {
    pub(crate) qemud: Member,
    pub(crate) proxy: Member,
    /// virtqemud's own socket, where the domains are defined.
    pub(crate) direct: Endpoint,
    /// Every route of this set, the direct one last.
    pub(crate) endpoints: Vec<(Route, Endpoint)>,
}

fn write_file(path: &Path, text: &str) -> Result<(), ProxyError> {
    fs::write(path, text).map_err(|source| ProxyError::Prepare {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn start_modular(
    binary: &Path,
    root: &Path,
    tls: Option<&TlsMaterial>,
) -> Result<ModularSet, ProxyError> {
    let etc = root.join("etc/libvirt");
    let run = root.join("run/libvirt");
    for dir in [&etc, &run] {
        fs::create_dir_all(dir).map_err(|source| ProxyError::Prepare {
            path: dir.clone(),
            source,
        })?;
    }
    let common = "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\nmax_clients = 5000\n";
    write_file(&etc.join("virtqemud.conf"), common)?;
    let direct = Endpoint::Unix(run.join("virtqemud-sock"));
    let mut qemud = Member::start(binary, "virtqemud", root, &[])?;
    qemud.wait_serving(&direct)?;

    let mut proxy_conf = common.to_string();
    let mut args: &[&str] = &[];
    let mut tls_endpoint = None;
    if let Some(material) = tls {
        let port = tls_run::free_port().map_err(TlsRunError::Port)?;
        proxy_conf.push_str(&material.pki.listen_config(port));
        args = &["--listen"];
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        tls_endpoint = Some(Endpoint::Tls(TlsEndpoint::new(
            addr,
            SERVER_NAME,
            material.client.clone(),
        )));
    }
    write_file(&etc.join("virtproxyd.conf"), &proxy_conf)?;
    let unix = Endpoint::Unix(run.join("libvirt-sock"));
    let mut proxy = Member::start(binary, "virtproxyd", root, args)?;
    proxy.wait_serving(&unix)?;
    let mut endpoints = vec![(Route::ProxyUnix, unix)];
    if let Some(tls) = tls_endpoint {
        proxy.wait_serving(&tls)?;
        endpoints.push((Route::ProxyTls, tls));
    }
    endpoints.push((Route::Direct, direct.clone()));
    Ok(ModularSet {
        qemud,
        proxy,
        direct,
        endpoints,
    })
}

/// The real libvirtd, serving its Unix socket and (with `tls`) TLS.
pub(crate) fn start_theirs(
    spec: &DaemonSpec,
    dir: &Path,
    tls: Option<&TlsMaterial>,
) -> Result<(RunningDaemon, Vec<(Route, Endpoint)>), ProxyError> {
    let (daemon, tls_endpoint) = match tls {
        Some(material) => {
            let instance = tls_run::start(spec, dir, material)?;
            (instance.daemon, Some(Endpoint::Tls(instance.endpoint)))
        }
        None => (spec.start_with(dir, &Extra::default())?, None),
    };
    let mut endpoints = vec![(Route::TheirsUnix, Endpoint::Unix(daemon.socket.clone()))];
    endpoints.extend(tls_endpoint.map(|e| (Route::TheirsTls, e)));
    Ok((daemon, endpoints))
}
