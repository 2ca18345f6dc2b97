//! GD1's hook scripts on three real nodes, in their default directory
//! (`<localstatedir>/hooks/1`): every operation GD1 runs hooks for runs each node's scripts
//! with GD1's arguments, pre before and post after the commit; a failing pre-hook refuses the
//! operation with what it said and changes nothing; a script the glusterfs-server package
//! ships (Samba's `S30samba-set.sh`, unmodified) does its work, reading the volume from the
//! GD1 `info` file glusterd2 writes for it.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    time::Duration,
};

use gd_testkit::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);
const OPS: [&str; 8] = [
    "create",
    "delete",
    "start",
    "stop",
    "add-brick",
    "remove-brick",
    "set",
    "reset",
];

fn script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn hooks_dir(d: &NodeDirs) -> PathBuf {
    d.state.join("hooks/1")
}

/// What node `d`'s recording scripts logged: `<op> <phase> <args…> wd=<GLUSTERD_WORKDIR>`.
fn log_of(d: &NodeDirs) -> Vec<String> {
    read(&d.state.join("hooks.log"))
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn hook_scripts_run_as_gd1_runs_them_and_a_failing_pre_hook_refuses() {
    // A fake Samba for the packaged script: `smbd -b` says where its files are, and an
    // "smbd" notes the SIGHUP the script sends (its own handler: a test run under nohup
    // would hand a plain process SIGHUP ignored).
    let samba = tempfile::tempdir().unwrap();
    let bin = samba.path().join("bin");
    let conf = samba.path().join("smb.conf");
    std::fs::write(&conf, "[global]\n").unwrap();
    script(
        &bin.join("smbd"),
        &format!(
            "#!/bin/sh\necho \"   CONFIGFILE: {conf}\"\necho \"   PIDDIR: {dir}\"\necho \"   LOGFILEBASE: {dir}\"\n",
            conf = conf.display(),
            dir = samba.path().display()
        ),
    );
    let hupped = samba.path().join("hupped");
    let mut smbd = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import signal, sys, time\n\
             def hup(*_):\n    open(sys.argv[1], 'w').write('reload')\n    sys.exit(0)\n\
             signal.signal(signal.SIGHUP, hup)\n\
             time.sleep(600)\n",
        ])
        .arg(&hupped)
        .spawn()
        .unwrap();
    std::fs::write(samba.path().join("smbd.pid"), smbd.id().to_string()).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let t = three_with(72, &[("PATH", path.as_str())]);

    for d in &t.dirs {
        let log = d.state.join("hooks.log");
        for op in OPS {
            for phase in ["pre", "post"] {
                script(
                    &hooks_dir(d).join(op).join(phase).join("S10record.sh"),
                    &format!(
                        "#!/bin/sh\necho \"{op} {phase} $* wd=$GLUSTERD_WORKDIR\" >> {}\n",
                        log.display()
                    ),
                );
            }
        }
        // Disabled by GD1's rules: not S-named, a package manager's leftover.
        script(
            &hooks_dir(d).join("create/pre/K10off.sh"),
            "#!/bin/sh\nexit 1\n",
        );
        script(
            &hooks_dir(d).join("create/pre/S11x.sh.rpmsave"),
            "#!/bin/sh\nexit 1\n",
        );
    }
    let packaged = Path::new("/var/lib/glusterd/hooks/1/set/post/S30samba-set.sh");
    std::fs::copy(
        packaged,
        hooks_dir(&t.dirs[0]).join("set/post/S30samba-set.sh"),
    )
    .unwrap();

    // Every node has published its scripts.
    wait_for("every node's scripts listed", WAIT, || {
        let (s, b) = t.api(1, "GET", "/v1/hooks", None);
        let nodes = b.as_array().filter(|_| s == 200)?;
        (nodes.len() == 3
            && nodes
                .iter()
                .all(|n| n["scripts"].as_object().unwrap().len() == 16))
        .then_some(())
    })
    .unwrap();
    let (_, b) = t.api(0, "GET", "/v1/hooks", None);
    let mine = b
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["scripts"]["set/post"].as_array().unwrap().len() == 2)
        .expect("node 1's two set post-hooks");
    assert_eq!(
        mine["scripts"]["set/post"],
        json!(["S10record.sh", "S30samba-set.sh"])
    );
    assert_eq!(mine["scripts"]["create/pre"], json!(["S10record.sh"]));

    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "h")).collect();
    let (s, b) = t.api(
        1,
        "POST",
        "/v1/volumes",
        Some(create_body(
            "hv",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    let ok = |args: &[&str]| {
        let out = t.cli(1, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    ok(&["volume", "start", "hv"]);
    ok(&["volume", "set", "hv", "user.smb", "enable"]);
    ok(&["volume", "reset", "hv", "user.smb"]);

    // A failing pre-hook on one node refuses the stop, with what it said; the volume runs on.
    let deny = hooks_dir(&t.dirs[2]).join("stop/pre/S20deny.sh");
    script(
        &deny,
        "#!/bin/sh\necho checking\necho 'maintenance window closed: no stops now' >&2\nexit 3\n",
    );
    wait_for("the new script listed", WAIT, || {
        let (_, b) = t.api(0, "GET", "/v1/hooks", None);
        b.as_array()?
            .iter()
            .any(|n| {
                n["scripts"]["stop/pre"]
                    .as_array()
                    .is_some_and(|a| a.len() == 2)
            })
            .then_some(())
    })
    .unwrap();
    let out = t.cli(0, &["volume", "stop", "hv"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("maintenance window closed: no stops now"),
        "{err}"
    );
    assert!(err.contains("S20deny.sh exited with status 3"), "{err}");
    let (_, info) = t.api(0, "GET", "/v1/volumes/hv", None);
    assert_eq!(info["state"], "Started", "{info}");
    std::fs::remove_file(&deny).unwrap();
    wait_for("the script gone from the list", WAIT, || {
        let (_, b) = t.api(0, "GET", "/v1/volumes/hv", None);
        let (_, h) = t.api(0, "GET", "/v1/hooks", None);
        (b["state"] == "Started"
            && h.as_array()?.iter().all(|n| {
                n["scripts"]["stop/pre"]
                    .as_array()
                    .is_some_and(|a| a.len() == 1)
            }))
        .then_some(())
    })
    .unwrap();
    ok(&["volume", "stop", "hv"]);
    let (s, b) = t.api(1, "DELETE", "/v1/volumes/hv", None);
    assert_eq!(s, 204, "{b}");

    // Each node ran its scripts with GD1's arguments: the pre-hooks in the operations' order
    // (the refused stop's too), the post-hooks in the same order once each committed (they
    // run in the background, one at a time, so an operation's post-hook may come after the
    // next one's pre-hook), each after its own pre-hook.
    for d in &t.dirs {
        let wd = d.state.display().to_string();
        let args = |op: &str| -> String {
            match op {
                "start" => format!(
                    "--volname=hv --first=yes --version=1 --volume-op=start --gd-workdir={wd}"
                ),
                "set" => format!("--volname=hv -o user.smb=enable --gd-workdir={wd}"),
                "reset" => format!("--volname=hv --version=1 --volume-op=reset --gd-workdir={wd}"),
                "stop" => "--volname=hv --last=yes".to_owned(),
                _ => "--volname=hv".to_owned(),
            }
        };
        let line = |op: &str, phase: &str| format!("{op} {phase} {} wd={wd}", args(op));
        let pre: Vec<String> = ["create", "start", "set", "reset", "stop", "stop", "delete"]
            .iter()
            .map(|op| line(op, "pre"))
            .collect();
        let post: Vec<String> = ["create", "start", "set", "reset", "stop", "delete"]
            .iter()
            .map(|op| line(op, "post"))
            .collect();
        let got = wait_for("the delete's post-hook", WAIT, || {
            let got = log_of(d);
            (got.len() >= pre.len() + post.len()).then_some(got)
        })
        .unwrap();
        let of = |phase: &str| -> Vec<String> {
            got.iter()
                .filter(|l| l.split(' ').nth(1) == Some(phase))
                .cloned()
                .collect()
        };
        assert_eq!(of("pre"), pre, "on {}", d.state.display());
        assert_eq!(of("post"), post, "on {}", d.state.display());
        assert_eq!(got.len(), pre.len() + post.len(), "{got:#?}");
        for op in ["create", "start", "set", "reset", "stop", "delete"] {
            let first = |phase: &str| got.iter().position(|l| *l == line(op, phase)).unwrap();
            assert!(first("pre") < first("post"), "{op}: {got:#?}");
        }
    }

    // The packaged Samba script read the started volume's info and shared it.
    let smb = read(&conf);
    assert!(smb.contains("[gluster-hv]"), "{smb}");
    assert!(smb.contains("glusterfs:volume = hv"), "{smb}");
    // ... and told "smbd" to reload.
    wait_for("the fake smbd's SIGHUP", WAIT, || smbd.try_wait().unwrap()).unwrap();
    assert_eq!(read(&hupped), "reload");
}
