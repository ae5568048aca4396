//! `invhost user …`, `invhost token …` and `invhost audit`: the accounts of
//! the HTTP API, their tokens, and the log of changes.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use repo_store::{AuditRecord, Role};

use crate::ops::accounts::{self, Secret};
use crate::ops::host::Host;
use crate::output;

/// Accounts of the HTTP API.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account; the password is asked for, or read from stdin.
    Add {
        /// Name (letters, digits, '.', '_', '-', '@').
        name: String,
        /// viewer (reads all but secrets), operator (also executes, cancels,
        /// tests) or admin (also manages connectors, repositories,
        /// schedules, accounts).
        #[arg(long, value_parser = |s: &str| s.parse::<Role>())]
        role: Role,
        /// Read the password from standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts.
    List,
    /// Set an account's password.
    Passwd {
        /// Name.
        name: String,
        /// Read the password from standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account: it cannot sign in and its tokens are refused.
    Disable {
        /// Name.
        name: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// Name.
        name: String,
    },
    /// Remove an account and its tokens.
    Remove {
        /// Name.
        name: String,
    },
}

/// API tokens, for scripts (`Authorization: Bearer TOKEN`).
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an account; it is printed once and only its hash
    /// is kept.
    Create {
        /// The account it acts as.
        #[arg(long)]
        user: String,
        /// How long it works: 90d, 12h, 30m, 2w, or never.
        #[arg(long, default_value = "90d", value_parser = |s: &str| accounts::parse_lifetime(s).map(Lifetime))]
        expires: Lifetime,
    },
    /// List the tokens (their first characters only).
    List,
    /// Revoke a token by its id (see `token list`).
    Revoke {
        /// Token id.
        id: i64,
    },
}

/// How long a token works (`None`: until revoked).
#[derive(Debug, Clone, Copy)]
pub struct Lifetime(Option<chrono::TimeDelta>);

/// The audit log.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Newest first, at most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: u64,
}

fn read_password(from_stdin: bool, label: &str) -> Result<Secret> {
    if from_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the password from stdin")?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        return Ok(Secret::new(text.to_owned()));
    }
    if !std::io::stdin().is_terminal() {
        bail!("{label} is needed, but there is no terminal to ask on: pass --password-stdin");
    }
    let first = crate::ops::prompt::ask(label)?;
    let again = crate::ops::prompt::ask(&format!("{label} (again)"))?;
    if first != again {
        bail!("the two passwords differ; nothing changed");
    }
    Ok(Secret::new(first))
}

async fn record(store: &repo_store::Store, action: &str, target: &str) {
    accounts::audit(
        store,
        AuditRecord {
            actor: accounts::local_actor(),
            address: None,
            action: action.to_owned(),
            target: target.to_owned(),
            outcome: "ok".to_owned(),
        },
    )
    .await;
}

/// Runs a user command.
pub async fn user(command: UserCommand, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let password = read_password(password_stdin, &format!("Password for {name}"))?;
            let user = accounts::add_user(&store, &name, role, &password).await?;
            record(&store, "user.add", &format!("{name} ({role})")).await;
            if json {
                output::print_result(&accounts::user_view(&user))?;
            } else {
                output::line(&format!("User '{name}' added as {role}."));
            }
        }
        UserCommand::List => {
            let views: Vec<_> = store
                .users()
                .await?
                .iter()
                .map(accounts::user_view)
                .collect();
            if json {
                output::print_result(&views)?;
            } else {
                let mut table = output::table([
                    "NAME",
                    "ROLE",
                    "STATE",
                    "CREATED (UTC)",
                    "PASSWORD SET (UTC)",
                ]);
                for v in &views {
                    table.add_row([
                        v.name.clone(),
                        v.role.to_string(),
                        if v.disabled { "disabled" } else { "active" }.to_owned(),
                        output::time(&v.created_at),
                        output::time(&v.password_changed_at),
                    ]);
                }
                output::print_table(&table);
            }
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            store.user(&name).await?;
            let password = read_password(password_stdin, &format!("New password for {name}"))?;
            accounts::set_password(&store, &name, &password).await?;
            record(&store, "user.passwd", &name).await;
            output::line(&format!("Password of '{name}' changed."));
        }
        UserCommand::Disable { name } => {
            let user = store.user(&name).await?;
            store.set_disabled(user.id, true).await?;
            record(&store, "user.disable", &name).await;
            output::line(&format!("User '{name}' disabled; its tokens are refused."));
        }
        UserCommand::Enable { name } => {
            let user = store.user(&name).await?;
            store.set_disabled(user.id, false).await?;
            record(&store, "user.enable", &name).await;
            output::line(&format!("User '{name}' enabled."));
        }
        UserCommand::Remove { name } => {
            let user = store.user(&name).await?;
            store.delete_user(user.id).await?;
            record(&store, "user.remove", &name).await;
            output::line(&format!("User '{name}' and its tokens removed."));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a token command.
pub async fn token(command: TokenCommand, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    match command {
        TokenCommand::Create { user, expires } => {
            let (token, row) = accounts::create_token(&store, &user, expires.0).await?;
            record(&store, "token.create", &format!("{} for {user}", row.id)).await;
            if json {
                output::print_result(&serde_json::json!({
                    "token": token.expose(),
                    "details": accounts::token_view(&row, &user),
                }))?;
            } else {
                output::line(token.expose());
                output::note(&format!(
                    "Token {} for '{user}', {}. It is shown this once; only its hash is kept. \
                     Send it as `Authorization: Bearer TOKEN`.",
                    row.id,
                    row.expires_at
                        .map_or("never expires".to_owned(), |t| format!(
                            "expires {} UTC",
                            t.format("%Y-%m-%d %H:%M")
                        ))
                ));
            }
        }
        TokenCommand::List => {
            let views: Vec<_> = store
                .tokens()
                .await?
                .iter()
                .map(|(t, user)| accounts::token_view(t, user))
                .collect();
            if json {
                output::print_result(&views)?;
            } else {
                let mut table = output::table([
                    "ID",
                    "USER",
                    "TOKEN",
                    "CREATED (UTC)",
                    "EXPIRES (UTC)",
                    "REVOKED (UTC)",
                ]);
                for v in &views {
                    table.add_row([
                        v.id.to_string(),
                        v.user.clone(),
                        v.prefix.clone(),
                        output::time(&v.created_at),
                        v.expires_at
                            .as_deref()
                            .map_or_else(|| "never".to_owned(), output::time),
                        v.revoked_at
                            .as_deref()
                            .map(output::time)
                            .unwrap_or_default(),
                    ]);
                }
                output::print_table(&table);
            }
        }
        TokenCommand::Revoke { id } => {
            if !store.revoke_token(id).await? {
                bail!("no token {id} to revoke (see invhost token list)");
            }
            record(&store, "token.revoke", &id.to_string()).await;
            output::line(&format!("Token {id} revoked."));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `audit`.
pub async fn audit(args: AuditArgs, host: &Host, json: bool) -> Result<ExitCode> {
    let store = host.store().await?;
    let rows = store.audit_log(args.limit).await?;
    if json {
        output::print_result(&rows)?;
    } else {
        let mut table = output::table(["WHEN (UTC)", "WHO", "FROM", "WHAT", "ON", "OUTCOME"]);
        for r in &rows {
            table.add_row([
                output::time(&r.at.to_rfc3339()),
                r.actor.clone(),
                r.address.clone().unwrap_or_default(),
                r.action.clone(),
                r.target.clone(),
                r.outcome.clone(),
            ]);
        }
        output::print_table(&table);
    }
    Ok(ExitCode::SUCCESS)
}
