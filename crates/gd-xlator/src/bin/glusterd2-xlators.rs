//! glusterd2's helper that reads the installed xlators' option tables in a process of its own
//! (see `gd_xlator::helper`).

fn main() {
    std::process::exit(gd_xlator::helper::helper_main());
}
