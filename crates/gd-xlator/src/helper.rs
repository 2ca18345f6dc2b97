//! Reading the option tables in a short-lived process of its own, `glusterd2-xlators`.
//!
//! Loading an xlator maps it and `libglusterfs` with its dependencies into the process for
//! good (they cannot be unloaded, see [`crate::ffi`]): some 13 MiB of the daemon's memory, for
//! tables read once. So the daemon has a helper, installed beside it, open the libraries and
//! print the tables (JSON on its stdout), and reads them from there; the helper then exits and
//! takes the libraries with it. Where no helper is installed beside the running program (the
//! test binaries), or it fails, the tables are read in this process, as before.
//!
//! Bounded: the helper has [`HELPER_TIMEOUT`] and [`HELPER_OUTPUT_MAX`] bytes; anything else
//! it answers is a failure, and the tables are read in this process.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ffi::{self, RawTable, Symbol};

/// The helper's file name, beside the program that uses it.
pub const HELPER: &str = "glusterd2-xlators";
/// How long the helper may take.
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);
/// The most bytes of tables the helper may print.
const HELPER_OUTPUT_MAX: u64 = 64 << 20;

/// How the tables were read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReadBy {
    /// In this process (no helper beside it).
    #[default]
    InProcess,
    /// By the helper, in its own process.
    Helper(PathBuf),
    /// In this process, after the helper failed (why).
    InProcessAfter(String),
}

/// The helper installed beside the running program, if there is one.
pub fn beside_program() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(HELPER))
        .filter(|p| p.is_file())
}

/// The tables behind each of `requests`, read by `helper` (else in this process).
pub(crate) fn read_tables(
    requests: &[(PathBuf, Symbol)],
    helper: Option<&Path>,
) -> (Vec<Result<RawTable, String>>, ReadBy) {
    let Some(helper) = helper else {
        return (in_process(requests), ReadBy::InProcess);
    };
    match run_helper(helper, requests) {
        Ok(tables) => (tables, ReadBy::Helper(helper.to_path_buf())),
        Err(why) => (
            in_process(requests),
            ReadBy::InProcessAfter(format!("{}: {why}", helper.display())),
        ),
    }
}

fn in_process(requests: &[(PathBuf, Symbol)]) -> Vec<Result<RawTable, String>> {
    requests
        .iter()
        .map(|(path, symbol)| ffi::read_table(path, *symbol))
        .collect()
}

fn run_helper(
    helper: &Path,
    requests: &[(PathBuf, Symbol)],
) -> Result<Vec<Result<RawTable, String>>, String> {
    let mut cmd = Command::new(helper);
    for (path, symbol) in requests {
        cmd.arg(match symbol {
            Symbol::XlatorApi => "xlator_api",
            Symbol::Options => "options",
        });
        cmd.arg(path);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    let mut out = Vec::new();
    let started = Instant::now();
    let reading = child.stdout.take().map(|stdout| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let read = stdout.take(HELPER_OUTPUT_MAX + 1).read_to_end(&mut out);
            read.map(|_| out)
        })
    });
    // Waits for the exit within the bound, killing a helper that takes longer.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > HELPER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {} s", HELPER_TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
    };
    if let Some(reading) = reading {
        out = reading
            .join()
            .map_err(|_| "its output could not be read".to_string())?
            .map_err(|e| format!("cannot read its output: {e}"))?;
    }
    if !status.success() {
        return Err(format!("it failed ({status})"));
    }
    if out.len() as u64 > HELPER_OUTPUT_MAX {
        return Err(format!("it printed more than {HELPER_OUTPUT_MAX} bytes"));
    }
    let tables: Vec<Result<RawTable, String>> =
        serde_json::from_slice(&out).map_err(|e| format!("its output is not tables: {e}"))?;
    if tables.len() != requests.len() {
        return Err(format!(
            "it answered {} tables for {} libraries",
            tables.len(),
            requests.len()
        ));
    }
    Ok(tables)
}

/// The helper's `main`: `glusterd2-xlators (xlator_api|options) <path> ...` prints the table
/// behind each pair, in order, as one JSON array. Returns its exit code.
pub fn helper_main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if !args.len().is_multiple_of(2) {
        eprintln!("usage: {HELPER} (xlator_api|options) <library> ...");
        return 2;
    }
    let mut requests = Vec::new();
    for pair in args.chunks(2) {
        let symbol = match pair[0].to_str() {
            Some("xlator_api") => Symbol::XlatorApi,
            Some("options") => Symbol::Options,
            _ => {
                eprintln!("{HELPER}: a table is `xlator_api` or `options`");
                return 2;
            }
        };
        requests.push((PathBuf::from(&pair[1]), symbol));
    }
    let tables = in_process(&requests);
    match serde_json::to_writer(std::io::stdout().lock(), &tables) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{HELPER}: cannot print the tables: {e}");
            1
        }
    }
}
