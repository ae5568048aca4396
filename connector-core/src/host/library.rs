//! Opening a plugin library, one checked stage at a time.

use std::path::{Path, PathBuf};

use crate::abi::{ABI_MAJOR, DESCRIPTOR_V1_SIZE, ENTRY_SYMBOL, EntryFn, MAGIC, PluginDescriptor};

use super::error::LoadProblem;

/// Refuses a plugin file unless it, and every directory above it with
/// symbolic links resolved, belongs to root or to the user running the
/// host and may be written by no one else: what OpenSSH and sudo ask of the
/// files they trust. A root-owned directory with the sticky bit (`/tmp`)
/// may be writable by all, since no one else can replace what is in it.
/// Returns the resolved path, the one to load.
pub(super) fn check_permissions(path: &Path) -> Result<PathBuf, LoadProblem> {
    let metadata = std::fs::metadata(path).map_err(|e| LoadProblem::Unreadable(e.to_string()))?;
    if !metadata.is_file() {
        return Err(LoadProblem::Unreadable("not a regular file".into()));
    }
    let real = std::fs::canonicalize(path).map_err(|e| LoadProblem::Unreadable(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = metadata.mode();
        if mode & 0o022 != 0 {
            return Err(LoadProblem::Writable { mode });
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let untrusted = |at: &Path, reason: String| LoadProblem::Untrusted {
            path: at.display().to_string(),
            reason,
        };
        let owner = |uid: u32| {
            format!(
                "owned by uid {uid}, neither root nor the user running invhost (uid {me}); \
                 run 'chown {me}' on it, or move the plugin"
            )
        };
        if metadata.uid() != 0 && metadata.uid() != me {
            return Err(untrusted(&real, owner(metadata.uid())));
        }
        for dir in real.ancestors().skip(1) {
            let m = std::fs::metadata(dir)
                .map_err(|e| LoadProblem::Unreadable(format!("{}: {e}", dir.display())))?;
            if m.uid() != 0 && m.uid() != me {
                return Err(untrusted(dir, owner(m.uid())));
            }
            let sticky_root = m.uid() == 0 && m.mode() & 0o1000 != 0;
            if m.mode() & 0o022 != 0 && !sticky_root {
                return Err(untrusted(
                    dir,
                    format!(
                        "writable by group or others (mode {:o}), so someone else could replace \
                         the plugin; run 'chmod go-w' on it",
                        m.mode() & 0o7777
                    ),
                ));
            }
        }
    }
    Ok(real)
}

/// Opens the library and never unloads it: a plugin may have started
/// threads or registered destructors that must outlive any call.
pub(super) fn open(path: &Path) -> Result<&'static libloading::Library, LoadProblem> {
    super::preflight::check(path)?;
    // SAFETY: loading runs the library's initialisers; the host only loads
    // files from its configured plugin directories (or one an author names
    // in `plugin check`), which is the trust decision.
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|e| LoadProblem::NotALibrary(loader_message(&e)))?;
    Ok(Box::leak(Box::new(library)))
}

fn loader_message(error: &libloading::Error) -> String {
    // dlopen's own text already names the file; keep its last part, the reason.
    let text = error.to_string();
    text.rsplit(": ").next().unwrap_or(&text).trim().to_owned()
}

/// Finds the entry symbol and calls it.
pub(super) fn entry(
    library: &'static libloading::Library,
) -> Result<*const PluginDescriptor, LoadProblem> {
    // SAFETY: the symbol's type is fixed by the ABI.
    let symbol = unsafe { library.get::<EntryFn>(ENTRY_SYMBOL.as_bytes()) };
    let Ok(entry) = symbol else {
        let other_versions = (0..=16u16)
            .filter(|v| *v != ABI_MAJOR)
            .map(|v| format!("invhost_connector_plugin_v{v}"))
            // SAFETY: only the symbol's presence is tested; it is never called.
            .filter(|name| unsafe { library.get::<*const ()>(name.as_bytes()) }.is_ok())
            .collect();
        return Err(LoadProblem::MissingEntry { other_versions });
    };
    // SAFETY: the entry symbol takes nothing and returns a pointer.
    let descriptor = unsafe { entry() };
    if descriptor.is_null() {
        return Err(LoadProblem::NullDescriptor);
    }
    Ok(descriptor)
}

/// Checks the descriptor's header (magic, major, size) and its functions,
/// reading each field only once the previous one proved it is ours.
pub(super) fn check_descriptor(
    descriptor: *const PluginDescriptor,
) -> Result<&'static PluginDescriptor, LoadProblem> {
    // SAFETY: the entry symbol promises a pointer to a static descriptor; the
    // first 16 bytes (magic, major, minor, size) exist in every version.
    let (magic, major, size) = unsafe {
        let header = descriptor.cast::<u8>();
        (
            std::ptr::read_unaligned(header.cast::<u64>()),
            std::ptr::read_unaligned(header.add(8).cast::<u16>()),
            std::ptr::read_unaligned(header.add(12).cast::<u32>()),
        )
    };
    if magic != MAGIC {
        return Err(LoadProblem::BadMagic { found: magic });
    }
    if major != ABI_MAJOR {
        return Err(LoadProblem::AbiMajor { found: major });
    }
    if (size as usize) < DESCRIPTOR_V1_SIZE {
        return Err(LoadProblem::DescriptorTooSmall { found: size });
    }
    // SAFETY: magic, major and size prove the whole v1 descriptor is there.
    let descriptor: &'static PluginDescriptor = unsafe { &*descriptor };
    let functions = [
        ("init", descriptor.init.is_some()),
        ("describe", descriptor.describe.is_some()),
        ("test", descriptor.test.is_some()),
        ("run", descriptor.run.is_some()),
        ("free", descriptor.free.is_some()),
    ];
    if let Some((name, _)) = functions.iter().find(|(_, present)| !present) {
        return Err(LoadProblem::MissingFunction(name));
    }
    Ok(descriptor)
}
