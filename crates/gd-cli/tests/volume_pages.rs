//! `glustercli volume list|info|status` read a long list page by page, and the REST pages.

mod common;

use common::{Daemon, Setup, cli_for, stdout_of};
use gd_api::VolumeInfo;

#[test]
fn a_long_list_is_read_page_by_page() {
    let server = Daemon::with(Setup {
        more_volumes: 1100,
        ..Setup::volumes()
    });
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "list"]));
    let vols: Vec<VolumeInfo> = serde_json::from_str(&out).expect("Vec<VolumeInfo> JSON");
    let names: Vec<&str> = vols.iter().map(|v| v.name.as_str()).collect();
    let mut expected = vec!["dist".to_owned(), "gv0".to_owned()];
    expected.extend((0..1100).map(|i| format!("many-{i:04}")));
    assert_eq!(names, expected, "every volume once, in name order");
    // Three pages of at most 500, each after the last name of the one before.
    let queries: Vec<String> = server
        .requests()
        .into_iter()
        .filter_map(|r| r.query)
        .collect();
    assert_eq!(
        queries,
        [
            "limit=500",
            "limit=500&continue=many-0497",
            "limit=500&continue=many-0997",
        ]
    );

    // The REST side: a page, its token and link; bad limits and tokens refused.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = gd_cli::Client::new(
            gd_cli::ClientConfig::new(
                gd_cli::client::parse_endpoint(&format!("http://{}", server.addr)).unwrap(),
            )
            .credentials(gd_cli::Credentials::new(gd_auth::CLI_USER, common::SECRET)),
        )
        .unwrap();
        let get = |q: &'static [(&'static str, &'static str)]| {
            let client = &client;
            async move {
                client
                    .send::<()>(reqwest::Method::GET, "/v1/volumes", q, None)
                    .await
                    .unwrap()
            }
        };
        let page = get(&[("limit", "2"), ("continue", "gv0")]).await;
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["x-gluster-continue"], "many-0001");
        assert_eq!(
            page.headers()["link"],
            "</v1/volumes?limit=2&continue=many-0001>; rel=\"next\""
        );
        let vols: Vec<VolumeInfo> = page.json().await.unwrap();
        let names: Vec<&str> = vols.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["many-0000", "many-0001"]);
        let last = get(&[("limit", "5"), ("continue", "many-1098")]).await;
        assert!(!last.headers().contains_key("x-gluster-continue"));
        assert_eq!(last.json::<Vec<VolumeInfo>>().await.unwrap().len(), 1);
        for (q, says) in [
            (&[("limit", "0")][..], "limit must be from 1 to 1000"),
            (&[("limit", "1001")][..], "limit must be from 1 to 1000"),
            (
                &[("limit", "2"), ("continue", "a/b")][..],
                "continue is not a token",
            ),
            (&[("continue", "gv0")][..], "continue needs the limit"),
        ] {
            let resp = get(q).await;
            assert_eq!(resp.status(), 400, "{q:?}");
            let body = resp.text().await.unwrap();
            assert!(body.contains(says), "{q:?}: {body}");
        }
    });
}
