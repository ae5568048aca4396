//! The one `tracing` subscriber: stderr, filtered by INVHOST_LOG or -v / -q.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the subscriber. `INVHOST_LOG` (EnvFilter syntax) wins over the
/// flags. A service (`serve`) logs at info by default: one line per process
/// start and end.
pub fn init(verbose: u8, quiet: bool, service: bool, json: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) if service => "info",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let spec = std::env::var("INVHOST_LOG")
        .ok()
        .filter(|s| EnvFilter::try_new(s).is_ok());
    let spec = harden(spec.as_deref().unwrap_or(default));
    let filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match json {
        true => builder.json().with_current_span(true).try_init(),
        false => builder.with_ansi(ansi).try_init(),
    };
}

/// The database layers log connection options (with the database password)
/// and statements at debug level: keep them at info unless the operator
/// names them explicitly, so that `INVHOST_LOG=trace` cannot leak a secret.
fn harden(spec: &str) -> String {
    let mut spec = spec.to_owned();
    let lower = spec.to_ascii_lowercase();
    if !lower.contains("debug") && !lower.contains("trace") {
        return spec;
    }
    for target in ["sea_orm", "sea_orm_migration", "sqlx"] {
        let named = spec.split(',').any(|d| {
            let d = d.trim();
            d == target
                || d.strip_prefix(target)
                    .is_some_and(|rest| rest.starts_with('=') || rest.starts_with("::"))
        });
        if !named {
            spec.push_str(&format!(",{target}=info"));
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_layers_stay_at_info_unless_named() {
        assert_eq!(
            super::harden("trace"),
            "trace,sea_orm=info,sea_orm_migration=info,sqlx=info"
        );
        assert_eq!(
            super::harden("debug,sqlx=trace"),
            "debug,sqlx=trace,sea_orm=info,sea_orm_migration=info"
        );
    }
}
