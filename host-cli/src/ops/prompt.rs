//! Asking the operator for a secret on the terminal.

use std::io::IsTerminal;

use anyhow::{Context, Result, bail};

/// Asks on the terminal without echo; fails when there is no terminal.
pub fn ask(label: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "{label} is needed, but there is no terminal to ask on: pass it with --secret KEY=env:VAR, file:PATH or stdin"
        );
    }
    rpassword::prompt_password(format!("{label}: "))
        .with_context(|| format!("reading {label} from the terminal"))
}
