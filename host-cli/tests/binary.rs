//! The `invhost` binary itself. Having an integration test here also makes
//! cargo build the binary in every `cargo nextest run --workspace`, which the
//! workspace suite in `tests/` runs as an operator would.

use std::process::Command;

#[test]
fn version_and_help_answer() {
    let bin = env!("CARGO_BIN_EXE_invhost");
    let version = Command::new(bin)
        .arg("--version")
        .output()
        .expect("run invhost");
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("invhost {}", env!("CARGO_PKG_VERSION"))
    );
    let help = Command::new(bin)
        .arg("--help")
        .output()
        .expect("run invhost");
    let help = String::from_utf8_lossy(&help.stdout);
    for word in ["plugin", "--database", "--plugin-dir", "--json"] {
        assert!(help.contains(word), "help mentions {word}: {help}");
    }
}

#[test]
fn unknown_command_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_invhost"))
        .arg("frobnicate")
        .output()
        .expect("run invhost");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unrecognized subcommand 'frobnicate'")
    );
}
