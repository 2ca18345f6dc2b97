//! The single-instance guard.
//!
//! Two daemons on one state directory would fight over the node's identity, its store and its
//! bricks. The guard is an exclusive `flock` on `<localstatedir>/glusterd2.lock`, which the
//! kernel releases when the process dies, so a crash never leaves a stale lock behind (a bare
//! pid file would). The pid is also written to the pid file for operators and scripts.

use std::{
    fs,
    io::{Read, Seek, Write},
    path::{Path, PathBuf},
};

use nix::fcntl::{Flock, FlockArg};

/// Holds the lock for the life of the daemon.
pub struct InstanceGuard {
    _lock: Flock<fs::File>,
    pidfile: PathBuf,
}

impl InstanceGuard {
    /// Takes the lock on `statedir` and writes `pidfile`, or explains who holds it.
    pub fn acquire(statedir: &Path, pidfile: &Path) -> anyhow::Result<InstanceGuard> {
        let lock_path = statedir.join("glusterd2.lock");
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", lock_path.display()))?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((mut file, _)) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                };
                anyhow::bail!(
                    "another glusterd2{who} is already running with state directory {}",
                    statedir.display()
                );
            }
        };
        let pid = std::process::id();
        lock.set_len(0)?;
        lock.rewind()?;
        writeln!(lock, "{pid}")?;
        if let Some(parent) = pidfile.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(pidfile, format!("{pid}\n"))
            .map_err(|e| anyhow::anyhow!("cannot write pid file {}: {e}", pidfile.display()))?;
        Ok(InstanceGuard {
            _lock: lock,
            pidfile: pidfile.to_owned(),
        })
    }
}

impl Drop for InstanceGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.pidfile);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_guard_is_refused_with_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let pid = dir.path().join("run/gd2.pid");
        let g = InstanceGuard::acquire(dir.path(), &pid).unwrap();
        assert_eq!(
            fs::read_to_string(&pid).unwrap().trim(),
            std::process::id().to_string()
        );
        let err = InstanceGuard::acquire(dir.path(), &pid)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("already running"), "{err}");
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        drop(g);
        assert!(!pid.exists());
        InstanceGuard::acquire(dir.path(), &pid).unwrap();
    }
}
