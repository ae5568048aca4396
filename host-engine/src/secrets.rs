//! Where secret parameter values come from: never a plain argument.

use std::io::Read;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context, Result, bail};

/// A source of one secret value (`--secret KEY=SOURCE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `env:VAR`: an environment variable.
    Env(String),
    /// `file:PATH`: a file's content (one trailing newline dropped).
    File(PathBuf),
    /// `stdin`: standard input, read to its end.
    Stdin,
    /// `prompt`: asked for on the terminal, not echoed.
    Prompt,
    /// The value itself, as an HTTP request carries it (never parsed from
    /// a command line).
    Given(Secret),
}

/// A secret value (a connector secret, a password, a token), never printed
/// by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for hashing, storing encrypted, or showing once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FromStr for SecretSource {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(var) = text.strip_prefix("env:") {
            return Ok(SecretSource::Env(var.to_owned()));
        }
        if let Some(path) = text.strip_prefix("file:") {
            return Ok(SecretSource::File(path.into()));
        }
        match text {
            "stdin" | "-" => Ok(SecretSource::Stdin),
            "prompt" => Ok(SecretSource::Prompt),
            _ => Err("a secret comes from env:VAR, file:PATH, stdin or prompt, never from the command line itself".into()),
        }
    }
}

/// Parses `KEY=SOURCE`.
pub fn parse_secret_arg(text: &str) -> Result<(String, SecretSource), String> {
    let (key, source) = text
        .split_once('=')
        .ok_or("expected KEY=SOURCE (env:VAR, file:PATH, stdin or prompt)")?;
    Ok((key.trim().to_owned(), source.parse()?))
}

/// Asks a person for a secret (on a terminal, without echo); the face that
/// has a person to ask supplies it.
pub type Prompt = fn(&str) -> Result<String>;

/// Reads a secret's value; `label` names it in prompts and errors.
pub fn read_secret(source: &SecretSource, label: &str, prompt: Option<Prompt>) -> Result<String> {
    let value = match source {
        SecretSource::Env(var) => std::env::var(var)
            .with_context(|| format!("{label}: the environment variable {var} is not set"))?,
        SecretSource::File(path) => std::fs::read_to_string(path)
            .with_context(|| format!("{label}: cannot read {}", path.display()))?,
        SecretSource::Stdin => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .with_context(|| format!("{label}: cannot read standard input"))?;
            text
        }
        SecretSource::Given(secret) => secret.expose().to_owned(),
        SecretSource::Prompt => match prompt {
            Some(prompt) => prompt(label)?,
            None => bail!(
                "{label} is needed, but there is no terminal to ask on: pass it with --secret KEY=env:VAR, file:PATH or stdin"
            ),
        },
    };
    let value = value
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(&value)
        .to_owned();
    if value.is_empty() {
        bail!("{label}: the secret is empty");
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_plain_values_are_refused() {
        assert_eq!(
            parse_secret_arg("client_secret=env:X").unwrap(),
            ("client_secret".into(), SecretSource::Env("X".into()))
        );
        assert_eq!(
            parse_secret_arg("k=file:/tmp/s").unwrap().1,
            SecretSource::File("/tmp/s".into())
        );
        assert_eq!(parse_secret_arg("k=stdin").unwrap().1, SecretSource::Stdin);
        assert!(
            parse_secret_arg("client_secret=hunter2")
                .unwrap_err()
                .contains("never from the command line")
        );
    }
}
