//! `invhost secrets new-key | rekey --old-key-file FILE`: the key of the
//! connector secrets, replaced only when an operator says so.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::ops::host::Host;
use crate::output;

/// The key of the connector secrets.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Starts a new key file where the key is configured, when the old one
    /// is lost; never over an existing file. Lists the connectors whose
    /// secrets must then be entered again (`connector edit NAME --secret`).
    NewKey,
    /// Re-encrypts every connector secret the old key decrypts under the
    /// current key (after new-key, with the old key found again).
    Rekey {
        /// The old key file.
        #[arg(long, value_name = "FILE")]
        old_key_file: PathBuf,
    },
}

/// Runs a secrets command.
pub async fn exec(command: SecretsCommand, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    match command {
        SecretsCommand::NewKey => {
            let stale = host.new_key(&store).await?;
            if json {
                output::print_result(&serde_json::json!({
                    "key_file": host.config.secret_key_file.display().to_string(),
                    "enter_secrets_again": stale,
                }))?;
            } else {
                output::line(&format!(
                    "Created a new secret key file {}.",
                    host.config.secret_key_file.display()
                ));
                for name in &stale {
                    output::line(&format!(
                        "Connector '{name}': its secrets were encrypted with the lost key; enter them again \
                         with 'invhost connector edit {name} --secret KEY=SOURCE', or run \
                         'invhost secrets rekey --old-key-file OLD' if the old key turns up."
                    ));
                }
            }
        }
        SecretsCommand::Rekey { old_key_file } => {
            let done = host.rekey(&store, &old_key_file).await?;
            if json {
                output::print_result(&done)?;
            } else {
                output::line(&format!(
                    "Re-encrypted the secrets of {} connector(s) under the current key; {} already were.",
                    done.rekeyed.len(),
                    done.already.len()
                ));
                for name in &done.undecryptable {
                    output::line(&format!(
                        "Connector '{name}': neither key decrypts its secrets; enter them again with \
                         'invhost connector edit {name} --secret KEY=SOURCE'."
                    ));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
