//! Fuzz target of the configuration file, the daemon's one decoder of outside bytes that no
//! other crate covers (SunRPC and volfiles are fuzzed in `gd-sunrpc` and `gd-volgen`).
//!
//! A configuration file is written by an administrator, not an attacker, but "bad input gets a
//! clear error, never a panic" holds for it too (ARCHITECTURE.md), and its values go through
//! hand-written parsers (addresses, URLs, durations, store modes, endpoint lists). The target
//! calls the real [`Config::load`] on a file holding the input — no parsing function of its
//! own, so `config/` needs nothing for it. It is a plain function so that two harnesses run
//! the same code: cargo-fuzz (`fuzz/` at the repository root, `RUSTC_BOOTSTRAP=1 cargo fuzz
//! run daemon_config`, seed corpus in `fuzz/corpus/daemon_config/`) and
//! `tests/fuzz_harness.rs` in the normal test suite on stable.
//!
//! Checked: a configuration that loads has absolute, non-empty directories (the GlusterFS
//! processes glusterd2 starts are handed them), and an error says something.
//!
//! Not a stable API: hidden from the docs, used by the harnesses only.

use std::{cell::RefCell, path::PathBuf};

use crate::config::{Config, Flags};

/// A target: the name of its cargo-fuzz binary and corpus directory, and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target of this crate, by the name of its cargo-fuzz binary and corpus directory.
pub const TARGETS: &[Target] = &[("daemon_config", config)];

/// A file under the temporary directory, one per thread (test harnesses run targets on
/// several threads), removed when the thread ends.
struct ScratchFile(PathBuf);

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

thread_local! {
    static SCRATCH: RefCell<Option<ScratchFile>> = const { RefCell::new(None) };
}

fn scratch_path() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    SCRATCH.with(|s| {
        s.borrow_mut()
            .get_or_insert_with(|| {
                ScratchFile(std::env::temp_dir().join(format!(
                    "gd2-fuzz-config-{}-{}.toml",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                )))
            })
            .0
            .clone()
    })
}

/// `data` as the configuration file (`--config FILE`), with no environment and no flags.
pub fn config(data: &[u8]) {
    let path = scratch_path();
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let flags = Flags {
        config: Some(path),
        ..Flags::default()
    };
    match Config::load(flags, |_| None) {
        Ok(c) => {
            for dir in [&c.localstatedir, &c.rundir, &c.logdir, &c.pidfile] {
                assert!(dir.is_absolute(), "{} is not absolute", dir.display());
            }
            assert!(!c.logfile.trim().is_empty());
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
