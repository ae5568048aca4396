//! Connector secrets at rest: XChaCha20-Poly1305 with a 256-bit key from a
//! key file (created owner-only on first use) or from the environment.

use std::fmt;
use std::io::Write;
use std::path::Path;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use crate::error::StoreError;

/// Binds ciphertexts to their use, so a blob cannot be replayed elsewhere.
const AAD: &[u8] = b"invhost connector secrets v1";
const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;

/// The key that encrypts connector secrets. `Debug` shows where it came from, never the key.
#[derive(Clone)]
pub struct SecretKey {
    key: Key,
    source: String,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// The key from `hex` (64 hex digits), e.g. an environment variable named `source`.
    pub fn from_hex(hex: &str, source: &str) -> Result<Self, StoreError> {
        let text = hex.trim();
        let refuse = |reason: String| StoreError::Key {
            path: source.to_owned(),
            reason,
        };
        // The character itself is not shown: it may be part of a key.
        if let Some(at) = text.chars().position(|c| !c.is_ascii_hexdigit()) {
            return Err(refuse(format!(
                "not a hex-encoded key: character {} is not a hex digit",
                at + 1
            )));
        }
        if text.len() != 64 {
            return Err(refuse(format!(
                "expected 64 hex digits (256 bits), found {}",
                text.len()
            )));
        }
        let bytes = hex::decode(text).map_err(|e| refuse(format!("not a hex-encoded key: {e}")))?;
        Ok(SecretKey {
            key: *Key::from_slice(&bytes),
            source: source.to_owned(),
        })
    }

    /// The key in `path`; a missing file is an error (a key is never
    /// created behind the operator's back: see [`SecretKey::create`]). A key
    /// file that group or others may read is refused.
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                check_private(path).map_err(|reason| StoreError::Key {
                    path: shown.clone(),
                    reason,
                })?;
                Self::from_hex(&text, &shown)
            }
            Err(e) => Err(StoreError::Key {
                path: shown,
                reason: if e.kind() == std::io::ErrorKind::NotFound {
                    "there is no key file".into()
                } else {
                    format!("cannot read: {e}")
                },
            }),
        }
    }

    /// Creates a new key file at `path` (owner-only, its folder 0700); an
    /// existing file is never replaced.
    pub fn create(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let error = |reason: String| StoreError::Key {
            path: shown.clone(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::private_dir(parent)
                .map_err(|e| error(format!("cannot create its folder: {e}")))?;
        }
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .map_err(|e| error(format!("cannot create: {e}")))?;
        writeln!(file, "{}", hex::encode(key)).map_err(|e| error(format!("cannot write: {e}")))?;
        file.sync_all()
            .map_err(|e| error(format!("cannot write: {e}")))?;
        tracing::info!(path = %shown, "Created a new secret key file.");
        Ok(SecretKey { key, source: shown })
    }

    /// The key of `INVHOST_SECRET_KEY`, when it is set.
    pub fn from_env() -> Option<Result<Self, StoreError>> {
        match std::env::var("INVHOST_SECRET_KEY") {
            Ok(hex) if !hex.trim().is_empty() => Some(Self::from_hex(&hex, "INVHOST_SECRET_KEY")),
            _ => None,
        }
    }

    /// The key in `path`, created with owner-only permissions when missing
    /// (for tests and tools; the host creates keys only as
    /// [`SecretKey::create`] says). A key file that group or others may
    /// read is refused.
    pub fn load_or_create(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let error = |reason: String| StoreError::Key {
            path: shown.clone(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                check_private(path).map_err(error)?;
                Self::from_hex(&text, &shown)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    crate::private_dir(parent)
                        .map_err(|e| error(format!("cannot create its folder: {e}")))?;
                }
                let key = XChaCha20Poly1305::generate_key(&mut OsRng);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options
                    .open(path)
                    .map_err(|e| error(format!("cannot create: {e}")))?;
                writeln!(file, "{}", hex::encode(key))
                    .map_err(|e| error(format!("cannot write: {e}")))?;
                tracing::info!(path = %shown, "Created a new secret key file.");
                Ok(SecretKey { key, source: shown })
            }
            Err(e) => Err(error(format!("cannot read: {e}"))),
        }
    }

    /// The key from `INVHOST_SECRET_KEY` (64 hex digits) when set, else from
    /// the key file at `path` (created when missing).
    pub fn resolve(path: &Path) -> Result<Self, StoreError> {
        match std::env::var("INVHOST_SECRET_KEY") {
            Ok(hex) if !hex.trim().is_empty() => Self::from_hex(&hex, "INVHOST_SECRET_KEY"),
            _ => Self::load_or_create(path),
        }
    }

    /// Where the key came from (a file path or a variable name).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Encrypts `plaintext` into text safe to store.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, StoreError> {
        let cipher = XChaCha20Poly1305::new(&self.key);
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: AAD,
                },
            )
            .map_err(|_| StoreError::Secrets("encryption failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", hex::encode(blob)))
    }

    /// Decrypts what [`SecretKey::encrypt`] made; a wrong key is an error, never garbage.
    pub fn decrypt(&self, text: &str) -> Result<Vec<u8>, StoreError> {
        let blob = text
            .strip_prefix(PREFIX)
            .and_then(|hex_text| hex::decode(hex_text).ok())
            .filter(|blob| blob.len() > NONCE_LEN)
            .ok_or_else(|| {
                StoreError::Secrets("the stored value is not an invhost secret blob".into())
            })?;
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        XChaCha20Poly1305::new(&self.key)
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: AAD,
                },
            )
            .map_err(|_| {
                StoreError::Secrets(format!(
                    "wrong key: the key from {} is not the one they were encrypted with",
                    self.source
                ))
            })
    }
}

fn check_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| e.to_string())?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "group or others may access it (mode {:o}); run 'chmod 600' on it",
                mode & 0o777
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_a_wrong_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/secret.key");
        let key = SecretKey::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let blob = key.encrypt(b"hunter2").unwrap();
        assert!(!blob.contains("hunter2"));
        assert_eq!(
            SecretKey::load_or_create(&path)
                .unwrap()
                .decrypt(&blob)
                .unwrap(),
            b"hunter2"
        );

        let other = SecretKey::from_hex(&"11".repeat(32), "INVHOST_SECRET_KEY").unwrap();
        let error = other.decrypt(&blob).unwrap_err().to_string();
        assert_eq!(
            error,
            "cannot decrypt connector secrets: wrong key: the key from INVHOST_SECRET_KEY is not the one they were encrypted with"
        );
        assert!(
            format!("{key:?}").contains("secret.key")
                && !format!("{key:?}").contains(&hex::encode(key.key))
        );
    }

    #[test]
    fn a_readable_key_file_and_a_short_key_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        std::fs::write(&path, "00".repeat(32)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(
                SecretKey::load_or_create(&path)
                    .unwrap_err()
                    .to_string()
                    .contains("chmod 600")
            );
        }
        assert!(
            SecretKey::from_hex("abcd", "X")
                .unwrap_err()
                .to_string()
                .contains("expected 64 hex digits")
        );
        // One digit short is counted, not called "not hex".
        let short = SecretKey::from_hex(&"a".repeat(63), "INVHOST_SECRET_KEY")
            .unwrap_err()
            .to_string();
        assert!(
            short.contains("expected 64 hex digits (256 bits), found 63"),
            "{short}"
        );
        // A stray character is placed, never shown: it may be part of a key.
        let typo = format!("{}Z{}", "a".repeat(10), "b".repeat(53));
        let wrong = SecretKey::from_hex(&typo, "INVHOST_SECRET_KEY")
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("character 11 is not a hex digit"), "{wrong}");
        assert!(!wrong.contains('Z') && !wrong.contains("aaaa"), "{wrong}");
    }
}
