//! `graph-simulator`: serves a synthetic Microsoft 365 / Intune tenant over
//! the Graph API on 127.0.0.1 until Ctrl-C or until standard input closes.
//!
//! ```text
//! graph-simulator [--users N] [--devices N] [--apps-per-device N] [--catalog-apps N]
//!                 [--seed N] [--concealed] [--port P] [--ignore-stdin]
//! ```
//!
//! Prints one line of JSON: `base_url`, `tenant_id`, `client_id`,
//! `client_secret` (and the expected counts).
#![allow(clippy::print_stdout)]

use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::process::ExitCode;

use graph_simulator::{Simulator, SimulatorConfig};

const USAGE: &str = "usage: graph-simulator [--users N] [--devices N] [--apps-per-device N] \
[--catalog-apps N] [--seed N] [--concealed] [--port P] [--ignore-stdin]

Serves a synthetic Microsoft 365 / Intune tenant over the Microsoft Graph API on 127.0.0.1
and prints one line of JSON with base_url, tenant_id, client_id and client_secret.
Stops on Ctrl-C, or when standard input closes (unless --ignore-stdin).";

/// A command-line error, shown as `Error: <message>` by `main`.
struct CliError(String);

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

struct Options {
    config: SimulatorConfig,
    port: u16,
    watch_stdin: bool,
}

enum Parsed {
    Run(Box<Options>),
    Help,
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, CliError> {
    let value = value.ok_or_else(|| CliError(format!("{flag} needs a value\n{USAGE}")))?;
    value
        .parse()
        .map_err(|_| CliError(format!("{flag}: '{value}' is not a valid number")))
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, CliError> {
    let mut options = Options {
        config: SimulatorConfig::default(),
        port: 0,
        watch_stdin: true,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "--users" => options.config.users = number(&flag, value())?,
            "--devices" => options.config.devices = number(&flag, value())?,
            "--apps-per-device" => options.config.apps_per_device = number(&flag, value())?,
            "--catalog-apps" => options.config.catalog_apps = number(&flag, value())?,
            "--seed" => options.config.seed = number(&flag, value())?,
            "--port" => options.port = number(&flag, value())?,
            "--concealed" => options.config.concealed_names = true,
            "--ignore-stdin" => options.watch_stdin = false,
            "-h" | "--help" => return Ok(Parsed::Help),
            other => return Err(CliError(format!("unknown argument '{other}'\n{USAGE}"))),
        }
    }
    Ok(Parsed::Run(Box::new(options)))
}

/// Resolves when standard input reaches end of file (or fails).
async fn stdin_closed() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 1024];
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = tx.send(());
    });
    let _ = rx.await;
}

#[tokio::main]
async fn main() -> Result<ExitCode, CliError> {
    let options = match parse(std::env::args().skip(1))? {
        Parsed::Help => {
            println!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Parsed::Run(options) => *options,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], options.port));
    let sim = Simulator::start_on(options.config, addr)
        .await
        .map_err(|e| CliError(format!("cannot listen on {addr}: {e}")))?;
    let expected = sim.expected();
    let line = serde_json::json!({
        "base_url": sim.base_url(),
        "tenant_id": sim.tenant_id(),
        "client_id": sim.client_id(),
        "client_secret": sim.client_secret(),
        "expected": {
            "users": expected.users,
            "licence_assignments": expected.licence_assignments,
            "licences": expected.licences,
            "entra_devices": expected.entra_devices,
            "managed_devices": expected.managed_devices,
            "applications": expected.applications,
            "installations": expected.installations,
            "app_usage": expected.app_usage,
            "activations": expected.activations,
            "active_user_services": expected.active_user_services,
        },
    });
    println!("{line}");
    let stdin = async {
        if options.watch_stdin {
            stdin_closed().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = stdin => {}
    }
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_flags() {
        let Ok(Parsed::Run(o)) = parse(args(&[
            "--users",
            "500",
            "--devices=40",
            "--seed",
            "9",
            "--concealed",
            "--port",
            "8080",
            "--apps-per-device",
            "3",
        ])) else {
            panic!("should parse");
        };
        assert_eq!(o.config.users, 500);
        assert_eq!(o.config.devices, 40);
        assert_eq!(o.config.seed, 9);
        assert_eq!(o.config.apps_per_device, 3);
        assert!(o.config.concealed_names);
        assert_eq!(o.port, 8080);
        assert!(o.watch_stdin);
        assert!(parse(args(&["--users"])).is_err());
        assert!(parse(args(&["--users", "many"])).is_err());
        assert!(parse(args(&["--nope"])).is_err());
        assert!(matches!(parse(args(&["--help"])), Ok(Parsed::Help)));
    }
}
