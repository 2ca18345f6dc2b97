//! `glustercli completion <shell>`: shell completion scripts generated from the command tree,
//! so they never fall behind the commands (GD2 shipped a separate generator for bash only).

use clap_complete::Shell;

use crate::{error::CliError, output};

/// The completion script of `shell` for the command tree `cmd` (`Cli::command()`).
pub fn script(shell: Shell, mut cmd: clap::Command) -> Vec<u8> {
    let mut buf = Vec::new();
    // Into a buffer: clap_complete panics on write errors, stdout may be a closed pipe.
    clap_complete::generate(shell, &mut cmd, "glustercli", &mut buf);
    buf
}

/// Runs `completion` for the command tree `cmd`.
pub fn run(shell: Shell, cmd: clap::Command) -> Result<(), CliError> {
    output::print_bytes(&script(shell, cmd))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::cli::Cli;

    #[test]
    fn every_shell_has_a_script() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let s = String::from_utf8(script(shell, Cli::command())).unwrap();
            assert!(s.contains("glustercli") && s.contains("peer"), "{shell}");
            for word in ["cluster-options", "option-group", "reset"] {
                assert!(s.contains(word), "{shell}: no {word}");
            }
        }
    }
}
