//! A plugin built with `panic = "abort"` must not compile against the SDK:
//! the SDK turns panics into failed calls, which aborting makes impossible.

use std::process::Command;

use crate::support::repo_root;

#[test]
fn the_sdk_refuses_to_compile_with_panic_abort() {
    let target = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("panic-abort-check");
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(repo_root())
        .args([
            "check",
            "--quiet",
            "--offline",
            "-p",
            "connector-core",
            "--target-dir",
        ])
        .arg(&target)
        .env("RUSTFLAGS", "-C panic=abort")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WRAPPER")
        .output()
        .expect("run cargo");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "compiled with panic=abort:\n{stderr}"
    );
    assert!(
        stderr.contains("invhost plugins must be built with panic = \"unwind\""),
        "{stderr}"
    );
}
