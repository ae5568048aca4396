//! Writes invhost's man pages (clap_mangen) and shell completions
//! (clap_complete) for bash, zsh and fish into a folder, from the command
//! line's own definition: `packaging/build-deb` runs it at build time, so
//! the package's pages can never fall behind the commands.
//!
//! `invhost-assets OUT_DIR` writes `OUT_DIR/man/invhost*.1` and
//! `OUT_DIR/completions/{invhost.bash,_invhost,invhost.fish}`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        say("usage: invhost-assets OUT_DIR");
        return ExitCode::from(2);
    };
    match write(&out) {
        Ok(count) => {
            say(&format!("Wrote {count} files into {}.", out.display()));
            ExitCode::SUCCESS
        }
        Err(e) => {
            say(&format!("error: writing into {}: {e}", out.display()));
            ExitCode::FAILURE
        }
    }
}

fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn write(out: &Path) -> std::io::Result<usize> {
    let man = out.join("man");
    let completions = out.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&completions)?;
    let command = host_cli::cli::Cli::command();
    // One page per command and subcommand: invhost.1, invhost-connector.1,
    // invhost-connector-add.1, ...
    clap_mangen::generate_to(command.clone(), &man)?;
    let pages = std::fs::read_dir(&man)?.count();
    for (shell, file) in [
        (Shell::Bash, "invhost.bash"),
        (Shell::Zsh, "_invhost"),
        (Shell::Fish, "invhost.fish"),
    ] {
        let mut command = command.clone();
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut command, "invhost", &mut text);
        std::fs::write(completions.join(file), text)?;
    }
    Ok(pages + 3)
}
