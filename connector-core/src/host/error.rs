//! What can go wrong loading or calling a plugin.

use std::fmt;

use crate::error::ErrorKind;

/// Why a plugin library (or built-in) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadProblem {
    /// The file does not exist or cannot be read.
    Unreadable(String),
    /// The file may be written by others than its owner.
    Writable {
        /// The file's permission bits.
        mode: u32,
    },
    /// The file, or a directory above it, belongs to someone else or may be
    /// written by others: someone other than root or the host's user could
    /// replace the plugin.
    Untrusted {
        /// The file or directory at fault.
        path: String,
        /// What is wrong with it and what to run.
        reason: String,
    },
    /// The dynamic loader refused the file (not a library, truncated, wrong architecture).
    NotALibrary(String),
    /// The entry symbol is missing.
    MissingEntry {
        /// Entry symbols of other ABI majors the file does export.
        other_versions: Vec<String>,
    },
    /// The entry symbol returned null.
    NullDescriptor,
    /// The descriptor does not start with the magic number.
    BadMagic {
        /// What was there instead.
        found: u64,
    },
    /// The descriptor is for another ABI major.
    AbiMajor {
        /// The plugin's major.
        found: u16,
    },
    /// The descriptor's size does not cover the fields of ABI v1.
    DescriptorTooSmall {
        /// The size the plugin declared.
        found: u32,
    },
    /// A function pointer of the descriptor is null.
    MissingFunction(&'static str),
    /// `init` or `describe` failed, or `describe` returned unusable metadata.
    BadMetadata(String),
    /// Another plugin already provides this connector type.
    DuplicateType {
        /// The type id.
        type_id: String,
        /// Who provides it already.
        provider: String,
    },
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::abi::{ABI_MAJOR, ENTRY_SYMBOL};
        match self {
            LoadProblem::Unreadable(e) => write!(f, "cannot read the file: {e}"),
            LoadProblem::Writable { mode } => write!(
                f,
                "refused: the file is writable by group or others (mode {:o}); run 'chmod go-w' on it",
                mode & 0o7777
            ),
            LoadProblem::Untrusted { path, reason } => write!(f, "refused: {path} is {reason}"),
            LoadProblem::NotALibrary(e) => write!(f, "not a loadable library: {e}"),
            LoadProblem::MissingEntry { other_versions } if other_versions.is_empty() => write!(
                f,
                "not an invhost plugin: it does not export the symbol '{ENTRY_SYMBOL}'"
            ),
            LoadProblem::MissingEntry { other_versions } => write!(
                f,
                "built for another plugin ABI: it exports {} but this host speaks ABI v{ABI_MAJOR} ('{ENTRY_SYMBOL}')",
                other_versions.join(", ")
            ),
            LoadProblem::NullDescriptor => write!(f, "'{ENTRY_SYMBOL}' returned no descriptor"),
            LoadProblem::BadMagic { found } => write!(
                f,
                "not an invhost plugin descriptor: expected magic {:#018x}, found {found:#018x}",
                crate::abi::MAGIC
            ),
            LoadProblem::AbiMajor { found } => write!(
                f,
                "built for plugin ABI v{found}, but this host speaks ABI v{ABI_MAJOR}; rebuild it against a matching SDK"
            ),
            LoadProblem::DescriptorTooSmall { found } => write!(
                f,
                "descriptor size {found} is smaller than the {} bytes of ABI v{ABI_MAJOR}",
                crate::abi::DESCRIPTOR_V1_SIZE
            ),
            LoadProblem::MissingFunction(name) => {
                write!(f, "the descriptor's '{name}' function is missing (null)")
            }
            LoadProblem::BadMetadata(e) => write!(f, "unusable plugin metadata: {e}"),
            LoadProblem::DuplicateType { type_id, provider } => {
                write!(
                    f,
                    "connector type '{type_id}' is already provided by {provider}"
                )
            }
        }
    }
}

/// A plugin that was refused: where it came from and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file (or `built-in NAME`).
    pub origin: String,
    /// Why.
    pub problem: LoadProblem,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin {}: {}", self.origin, self.problem)
    }
}

impl std::error::Error for LoadError {}

/// A connector call that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// Where the connector comes from (`/path/libx.so` or `built-in NAME`).
    pub origin: String,
    /// The connector type.
    pub connector_type: String,
    /// What kind of failure.
    pub kind: ErrorKind,
    /// One line an operator can act on.
    pub message: String,
    /// The parameter concerned, if any.
    pub field: Option<String>,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (connector type '{}' from {})",
            self.message, self.connector_type, self.origin
        )
    }
}

impl std::error::Error for CallError {}
