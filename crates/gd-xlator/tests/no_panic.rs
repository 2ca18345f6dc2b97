//! No input panics: arbitrary keys and values against the installed tables, and arbitrary
//! patterns and texts through the matcher and the parsers.

use std::sync::OnceLock;

use gd_xlator::{XlatorTable, glob, parse};
use proptest::prelude::*;

fn table() -> &'static XlatorTable {
    static TABLE: OnceLock<XlatorTable> = OnceLock::new();
    TABLE.get_or_init(|| XlatorTable::load_default().expect("GlusterFS must be installed"))
}

proptest! {
    #[test]
    fn resolve_and_validate_never_panic(
        head in prop::sample::select(vec!["cluster", "performance", "network", "server", "ssl",
            "replicate", "protocol/client", "features", "auth", "x", ""]),
        rest in "[a-zA-Z0-9._/*\\[\\]-]{0,40}",
        value in "\\PC{0,40}",
    ) {
        let key = format!("{head}.{rest}");
        let _ = table().resolve(&key);
        let _ = table().validate(&key, &value);
        let _ = table().validate("cluster.quorum-type", &value);
        let _ = table().validate("auth.allow", &value);
        let _ = table().validate("performance.cache-priority", &value);
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,60}") {
        let _ = parse::int(&s);
        let _ = parse::bytesize(&s);
        let _ = parse::percent(&s);
        let _ = parse::percent_or_bytesize(&s);
        let _ = parse::time(&s);
        let _ = parse::double(&s);
        let _ = parse::address_list(&s);
        let _ = parse::mount_auth_list(&s);
        let _ = parse::priority_list(&s);
        let _ = parse::size_list(&s, 0.0);
        let _ = parse::internet_address(&s, true, true);
    }

    #[test]
    fn glob_never_panics(p in "[a*?\\[\\]!@+()|\\\\-]{0,20}", t in "[a-c*()|]{0,30}") {
        let _ = glob::fnmatch(&p, &t);
    }
}
