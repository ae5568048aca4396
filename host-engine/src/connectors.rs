//! Connectors: add, edit, remove, test, show.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use connector_core::host::ConnectorHandle;
use connector_core::{Parameters, TestReport};
use repo_store::{ConnectorRow, NewConnector, SecretKey, Store};
use serde::Serialize;
use serde_json::Value;

use super::host::Host;
use super::secrets::{Prompt, SecretSource, read_secret};

/// What an operator typed for a connector's parameters.
#[derive(Debug, Clone, Default)]
pub struct ParameterInput {
    /// `--param KEY=VALUE`, in order.
    pub params: Vec<(String, String)>,
    /// `--params-file FILE` (TOML or JSON object).
    pub params_file: Option<PathBuf>,
    /// `--secret KEY=SOURCE`.
    pub secrets: Vec<(String, SecretSource)>,
    /// `--unset KEY` (edit only).
    pub unset: Vec<String>,
    /// How to ask a person for secrets: for `prompt` sources, and for
    /// required secrets not given otherwise. `None` where nobody can be asked.
    pub prompt: Option<Prompt>,
}

/// Applies the operator's input to `base` and validates the result against
/// the connector's schema; every problem names its parameter.
pub fn build_parameters(
    handle: &ConnectorHandle,
    mut parameters: Parameters,
    input: &ParameterInput,
) -> Result<Parameters> {
    let schema = &handle.info().parameters;
    let known = || {
        schema
            .fields
            .iter()
            .map(|f| f.key.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let field = |key: &str| {
        schema.field(key).ok_or_else(|| {
            anyhow!(
                "unknown parameter '{key}' for connector type '{}' (known: {})",
                handle.info().type_id,
                known()
            )
        })
    };
    if let Some(path) = &input.params_file {
        for (key, value) in read_params_file(path)? {
            let f = field(&key)?;
            let value = match value {
                Value::String(text) => f
                    .parse_text(&text)
                    .map_err(|e| anyhow!("{}: {key}: {e}", path.display()))?,
                other => other,
            };
            parameters.insert(key, value);
        }
    }
    for (key, text) in &input.params {
        let f = field(key)?;
        if f.kind.is_secret() {
            bail!(
                "{key} is a secret: pass it with --secret {key}=env:VAR, --secret {key}=file:PATH, \
                 --secret {key}=stdin or --secret {key}=prompt, never as a plain argument"
            );
        }
        parameters.insert(
            key.clone(),
            f.parse_text(text)
                .map_err(|e| anyhow!("invalid parameters: {key}: {e}"))?,
        );
    }
    for (key, source) in &input.secrets {
        let f = field(key)?;
        if !f.kind.is_secret() {
            bail!("{key} is not a secret: pass it with --param {key}=VALUE");
        }
        parameters.insert(
            key.clone(),
            Value::String(read_secret(source, &f.label, input.prompt)?),
        );
    }
    for key in &input.unset {
        field(key)?;
        parameters.remove(key);
    }
    for f in schema
        .fields
        .iter()
        .filter(|f| f.kind.is_secret() && f.required && f.default.is_none())
    {
        if !parameters.contains(&f.key)
            && let Some(prompt) = input.prompt
        {
            parameters.insert(f.key.clone(), Value::String(prompt(&f.label)?));
        }
    }
    handle
        .prepare(&parameters)
        .map_err(|e| anyhow!(e.message))?;
    for f in schema
        .fields
        .iter()
        .filter(|f| f.deprecated && parameters.contains(&f.key))
    {
        tracing::warn!(parameter = %f.key, "Parameter '{}' is deprecated: {}", f.key, f.help);
    }
    Ok(parameters)
}

fn read_params_file(path: &PathBuf) -> Result<serde_json::Map<String, Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?
    } else {
        let table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        serde_json::to_value(table)?
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => bail!("{} must hold key = value pairs", path.display()),
    }
}

fn secret_keys(handle: &ConnectorHandle) -> Vec<String> {
    handle
        .info()
        .parameters
        .secret_keys()
        .map(str::to_owned)
        .collect()
}

/// Creates a connector (and so its `Sync Data - NAME` action), all or nothing.
pub async fn add(
    host: &Host,
    store: &Store,
    connector_type: &str,
    name: &str,
    input: &ParameterInput,
    run_consolidation: bool,
) -> Result<ConnectorRow> {
    let handle = host
        .registry()
        .require(connector_type)
        .map_err(|e| anyhow!(e))?;
    let parameters = build_parameters(handle, Parameters::new(), input)?;
    create(
        host,
        store,
        connector_type,
        name,
        parameters,
        run_consolidation,
    )
    .await
}

/// Creates a connector from parameters already in hand, validated first.
pub async fn create(
    host: &Host,
    store: &Store,
    connector_type: &str,
    name: &str,
    parameters: Parameters,
    run_consolidation: bool,
) -> Result<ConnectorRow> {
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "a connector needs a name");
    let handle = host
        .registry()
        .require(connector_type)
        .map_err(|e| anyhow!(e))?;
    if store.connector(name).await.is_ok() {
        bail!(
            "a connector named '{name}' already exists (invhost connector edit '{name}' changes it)"
        );
    }
    handle
        .prepare(&parameters)
        .map_err(|e| anyhow!(e.message))?;
    let key = host.key_for_new_secrets(store).await?;
    let new = NewConnector {
        name: name.to_owned(),
        connector_type: connector_type.to_owned(),
        parameters,
        secret_keys: secret_keys(handle),
        run_consolidation,
    };
    Ok(store.create_connector(new, &key).await?)
}

/// Changes a connector's parameters (and flag), validated as a whole.
pub async fn edit(
    host: &Host,
    store: &Store,
    name: &str,
    input: &ParameterInput,
    run_consolidation: Option<bool>,
) -> Result<ConnectorRow> {
    let row = store.connector(name).await?;
    let handle = host
        .registry()
        .require(&row.connector_type)
        .map_err(|e| anyhow!(e))?;
    let key = host.key()?;
    let input = ParameterInput {
        prompt: None,
        ..input.clone()
    };
    let secret_keys = secret_keys(handle);
    let current = match store.connector_parameters(&row, &key) {
        Ok(current) => current,
        // Secrets this key cannot decrypt (the key was lost and a new one
        // started): the plain parameters can still change, and secrets
        // given again replace the undecryptable ones, all of them at once.
        Err(repo_store::StoreError::Secrets(_)) => {
            return edit_undecryptable(store, handle, &row, &input, run_consolidation, &key).await;
        }
        Err(e) => return Err(e.into()),
    };
    let parameters = build_parameters(handle, current, &input)?;
    Ok(store
        .update_connector(
            row.id,
            &parameters,
            &secret_keys,
            run_consolidation.unwrap_or(row.run_consolidation),
            &key,
        )
        .await?)
}

async fn edit_undecryptable(
    store: &Store,
    handle: &ConnectorHandle,
    row: &ConnectorRow,
    input: &ParameterInput,
    run_consolidation: Option<bool>,
    key: &SecretKey,
) -> Result<ConnectorRow> {
    let secret_keys = secret_keys(handle);
    let plain = store.connector_plain_parameters(row)?;
    let given: Vec<&String> = input.secrets.iter().map(|(k, _)| k).collect();
    let run_consolidation = run_consolidation.unwrap_or(row.run_consolidation);
    if given.is_empty() {
        // Only plain parameters change; validate them with the secrets
        // standing in as set.
        let mut check = plain.clone();
        for k in &secret_keys {
            check.insert(k.clone(), Value::String("(set)".into()));
        }
        let parameters = build_parameters(handle, check, input)?;
        return Ok(store
            .update_connector_plain(row.id, &parameters, &secret_keys, run_consolidation)
            .await?);
    }
    let parameters = build_parameters(handle, plain, input)?;
    let missing: Vec<&String> = handle
        .info()
        .parameters
        .fields
        .iter()
        .filter(|f| f.kind.is_secret() && f.required && !f.deprecated)
        .map(|f| &f.key)
        .filter(|k| !parameters.contains(k))
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "connector '{}' has secrets this key cannot decrypt; give every secret again together \
         (missing: {})",
        row.name,
        missing
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(store
        .update_connector(row.id, &parameters, &secret_keys, run_consolidation, key)
        .await?)
}

/// Renames a connector and its actions, and the schedule steps that run
/// them (refused while its processes are queued or running).
pub async fn rename(
    host: &Host,
    store: &Store,
    name: &str,
    new_name: &str,
) -> Result<ConnectorRow> {
    let row = store.connector(name).await?;
    // Its actions by their exact names: a step of another connector whose
    // name merely ends the same way is not touched.
    let renames: Vec<(String, String)> = super::actions::connector_actions(host, &row)
        .iter()
        .map(|a| {
            (
                super::actions::action_name(a, &row.name),
                super::actions::action_name(a, new_name),
            )
        })
        .collect();
    store
        .rename_connector(row.id, new_name, &renames)
        .await
        .with_context(|| format!("renaming connector '{name}'"))
}

/// The rows a connector wrote, per repository name, for the operator to
/// decide what becomes of them.
pub async fn rows_written(store: &Store, name: &str) -> Result<Vec<(String, u64)>> {
    let row = store.connector(name).await?;
    let counts = store.connector_rows(row.id).await?;
    let mut out = Vec::new();
    for repository in store.repositories().await? {
        if let Some(n) = counts.get(&repository.id) {
            out.push((repository.name, *n));
        }
    }
    Ok(out)
}

/// Refuses to remove a connector a schedule runs, naming the schedules.
pub async fn check_removable(host: &Host, store: &Store, name: &str) -> Result<ConnectorRow> {
    let row = store.connector(name).await?;
    let actions: Vec<String> = super::actions::connector_actions(host, &row)
        .iter()
        .map(|a| super::actions::action_name(a, &row.name))
        .collect();
    let users: Vec<String> = store
        .schedules()
        .await?
        .into_iter()
        .filter(|s| s.action_list().iter().any(|a| actions.contains(a)))
        .map(|s| format!("'{}'", s.name))
        .collect();
    if !users.is_empty() {
        let action = super::actions::sync_action(&row.name);
        bail!(
            "connector '{name}' is run by schedule {}; remove '{action}' from {} first \
             (invhost schedule edit NAME --action ...)",
            users.join(", "),
            if users.len() == 1 { "it" } else { "them" }
        );
    }
    Ok(row)
}

/// Removes a connector and its actions; its data stays unless `purge_data`.
pub async fn remove(host: &Host, store: &Store, name: &str, purge_data: bool) -> Result<()> {
    let row = check_removable(host, store, name).await?;
    Ok(store.delete_connector(row.id, purge_data).await?)
}

/// Runs the connector's Test and records the outcome.
pub async fn test(host: &Host, store: &Store, name: &str) -> Result<(ConnectorRow, TestReport)> {
    let row = store.connector(name).await?;
    let handle = host
        .registry()
        .require(&row.connector_type)
        .map_err(|e| anyhow!(e))?
        .clone();
    let parameters = store.connector_parameters(&row, &host.key()?)?;
    let outcome = tokio::task::spawn_blocking(move || handle.test(&parameters))
        .await
        .context("the test thread failed")?;
    let report = match outcome {
        Ok(report) => report,
        Err(e) => {
            // The attempt is recorded too: the connector's last success
            // stays, and the list says this one failed and why.
            let failed = serde_json::json!({"checks": [
                {"name": "Test", "status": "failed", "message": e.message}
            ]});
            store
                .record_test(row.id, "failed", failed.to_string())
                .await?;
            return Err(anyhow!(e.message)).with_context(|| format!("testing connector '{name}'"));
        }
    };
    let status = report.status().to_string();
    store
        .record_test(row.id, &status, serde_json::to_string(&report)?)
        .await?;
    Ok((store.connector(name).await?, report))
}

/// A connector as `show` and `list` present it: secrets only as set / not set.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectorView {
    /// Name.
    pub name: String,
    /// Type id.
    #[serde(rename = "type")]
    pub connector_type: String,
    /// `inventory`.
    pub repository_type: String,
    /// Its action.
    pub action: String,
    /// Parameters; a secret's value is `"(set)"`.
    #[schema(value_type = Object)]
    pub parameters: BTreeMap<String, Value>,
    /// Secret parameters that are not set.
    pub secrets_not_set: Vec<String>,
    /// Queue consolidation after each sync.
    pub run_consolidation: bool,
    /// The last attempt's result: `ok`, `warning`, `failed`, or null when
    /// never tested.
    pub last_test_status: Option<String>,
    /// When the last attempt ran, RFC 3339 (UTC).
    pub last_tested_at: Option<String>,
    /// When a Test last succeeded (`ok` or `warning`), RFC 3339 (UTC);
    /// null when none has.
    pub last_successful_test_at: Option<String>,
    /// The last test's checks.
    #[schema(value_type = Option<Object>)]
    pub last_test_report: Option<Value>,
}

/// What a secret shows when the key in hand cannot decrypt it.
pub const UNDECRYPTABLE: &str = "(set, cannot be decrypted with this key)";

/// The view of a connector; never holds a secret value. Without a key, or
/// with one that does not decrypt its secrets, it still shows: each secret
/// as [`UNDECRYPTABLE`].
pub fn view(host: &Host, row: &ConnectorRow, key: Option<&SecretKey>) -> Result<ConnectorView> {
    let secret_keys: Vec<String> = host
        .registry()
        .connector(&row.connector_type)
        .map(secret_keys)
        .unwrap_or_default();
    let parameters = match key.map(|key| host_parameters(row, key)) {
        Some(Ok(parameters)) => parameters,
        _ => {
            let plain: Value = serde_json::from_str(&row.parameters)?;
            let mut parameters = Parameters::from_json(plain).map_err(|e| anyhow!(e))?;
            for k in &secret_keys {
                parameters.insert(k.clone(), Value::String(UNDECRYPTABLE.into()));
            }
            parameters
        }
    };
    let mut shown = BTreeMap::new();
    for (k, v) in parameters.as_map() {
        let v = if secret_keys.contains(k) && v != UNDECRYPTABLE {
            Value::String("(set)".into())
        } else {
            v.clone()
        };
        shown.insert(k.clone(), v);
    }
    Ok(ConnectorView {
        name: row.name.clone(),
        connector_type: row.connector_type.clone(),
        repository_type: "inventory".into(),
        action: super::actions::sync_action(&row.name),
        secrets_not_set: secret_keys
            .into_iter()
            .filter(|k| !parameters.contains(k))
            .collect(),
        parameters: shown,
        run_consolidation: row.run_consolidation,
        last_test_status: row.last_test_status.clone(),
        last_tested_at: row.last_tested_at.map(|t| t.to_rfc3339()),
        last_successful_test_at: row.last_test_ok_at.map(|t| t.to_rfc3339()),
        last_test_report: row
            .last_test_report
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
    })
}

fn host_parameters(row: &ConnectorRow, key: &SecretKey) -> Result<Parameters> {
    // Decrypting proves the key; only which secrets are set is shown.
    let plain: Value = serde_json::from_str(&row.parameters)?;
    let mut parameters = Parameters::from_json(plain).map_err(|e| anyhow!(e))?;
    let secrets: serde_json::Map<String, Value> =
        serde_json::from_slice(&key.decrypt(&row.secrets)?)?;
    for k in secrets.keys() {
        parameters.insert(k.clone(), Value::String("(set)".into()));
    }
    Ok(parameters)
}
