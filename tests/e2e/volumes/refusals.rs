//! Bricks that could never run, or are system directories or the daemon's own, are refused
//! even with force, and leave no mark.

use gd_testkit::*;
use serde_json::json;

use super::VOLUME_ID_XATTR;

/// The `trusted.*` xattrs glusterd2 could leave on a directory it was wrongly given.
fn gluster_xattrs(p: &std::path::Path) -> Vec<String> {
    xattr::list(p)
        .map(|names| {
            names
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| {
                    n.starts_with("trusted.glusterfs.") || n.starts_with("trusted.glusterd2.")
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bricks_that_could_never_run_or_are_system_directories_are_refused_even_with_force() {
    let dirs = NodeDirs::new();
    let ip = "127.0.47.1";
    let d = start_daemon(&dirs, ip, &["--store", "local"]).unwrap();
    let root = node_root(&dirs).to_path_buf();
    let create = |path: &std::path::Path| {
        let body = json!({"name": "never", "force": true,
            "subvols": [{"type": "distribute", "bricks": [{"host": ip, "path": path}]}],
            "flags": {"create-brick-dir": true, "allow-root-dir": true}});
        api(&dirs, &d, "POST", "/v1/volumes", Some(body))
    };
    let message =
        |b: &serde_json::Value| b["errors"][0]["message"].as_str().unwrap_or("").to_owned();

    // What volgen could never put in a volfile is refused at once, naming path and character.
    for (c, shown) in [
        (' ', "a blank (' ')"),
        ('#', "'#'"),
        ('"', "'\"'"),
        ('`', "'`'"),
        ('\\', "'\\\\'"),
    ] {
        let path = root.join(format!("bricks/b{c}1"));
        let (s, b) = create(&path);
        assert_eq!(s, 400, "{path:?}: {b}");
        assert_eq!(b["errors"][0]["code"], 3, "{b}");
        assert!(
            message(&b).starts_with(&format!(
                "brick path {:?} contains {shown}; a brick path cannot hold",
                path.display().to_string()
            )),
            "{b}"
        );
        assert!(!path.exists(), "{path:?} was created");
    }

    // System directories, the node's own, and links to them: refused on the brick's node,
    // before anything is written, whatever force says.
    let etc_link = root.join("etc-link");
    std::os::unix::fs::symlink("/etc", &etc_link).unwrap();
    let etc_before = gluster_xattrs(std::path::Path::new("/etc"));
    let refusals = [
        (
            std::path::PathBuf::from("/etc"),
            "brick /etc is a system directory: refused even with force".to_owned(),
        ),
        (
            etc_link.clone(),
            format!(
                "brick {} resolves to /etc, which is a system directory: refused even with force",
                etc_link.display()
            ),
        ),
        (
            "/proc/gd2-brick".into(),
            "brick /proc/gd2-brick is inside /proc (a kernel file system): refused even with force"
                .to_owned(),
        ),
        (
            dirs.state.join("b1"),
            format!(
                "brick {}/b1 is inside {} (a directory of the management daemon): refused even \
                 with force",
                dirs.state.display(),
                dirs.state.display()
            ),
        ),
    ];
    for (path, why) in &refusals {
        let (s, b) = create(path);
        assert_eq!(s, 400, "{path:?}: {b}");
        assert_eq!(
            message(&b),
            format!("brick check failed on {ip}:24007: {why}"),
            "{b}"
        );
        assert_eq!(b["errors"][0]["fields"]["error"], why.as_str(), "{b}");
    }
    assert_eq!(gluster_xattrs(std::path::Path::new("/etc")), etc_before);
    assert!(!dirs.state.join("b1").exists());
    // The same through the CLI, which prints the message.
    let out = cli_on(
        &d,
        &dirs,
        &[
            "volume",
            "create",
            "never",
            &format!("{ip}:/etc"),
            "--force",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "Error: brick check failed on {ip}:24007: {}\n",
            refusals[0].1
        )
    );

    // Nothing was created, and an ordinary brick still is.
    let (s, list) = api(&dirs, &d, "GET", "/v1/volumes", None);
    assert_eq!((s, list), (200, json!([])));
    let fine = root.join("bricks/fine");
    let (s, b) = create(&fine);
    assert_eq!(s, 201, "{b}");
    assert!(xattr::get(&fine, VOLUME_ID_XATTR).unwrap().is_some());
}
