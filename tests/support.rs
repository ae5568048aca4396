//! Helpers: built libraries, the C fixtures, temp plugin directories, the `invhost` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Where cargo put this test binary and the dependencies' libraries.
fn deps_dir() -> PathBuf {
    std::env::current_exe()
        .expect("test binary path")
        .parent()
        .expect("deps dir")
        .to_path_buf()
}

/// A plugin library cargo built for this suite (a dev-dependency's `cdylib`).
pub fn built_library(crate_name: &str) -> PathBuf {
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        crate_name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    let path = deps_dir().join(&file);
    assert!(
        path.exists(),
        "{} was not built; run the suite with `cargo nextest run --workspace`",
        path.display()
    );
    path
}

/// The `invhost` binary of this build.
pub fn invhost_bin() -> PathBuf {
    let path = deps_dir()
        .parent()
        .expect("target profile dir")
        .join(format!("invhost{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} was not built; run the suite with `cargo nextest run --workspace`",
        path.display()
    );
    path
}

/// A temporary plugin directory.
pub struct PluginDir {
    pub dir: TempDir,
}

impl PluginDir {
    pub fn new() -> Self {
        PluginDir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies a library in under `name`, owner-writable only.
    pub fn install(&self, library: &Path, name: &str) -> PathBuf {
        let target = self.dir.path().join(name);
        std::fs::copy(library, &target).expect("copy plugin");
        set_mode(&target, 0o755);
        target
    }

    /// Writes arbitrary bytes as a "library".
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let target = self.dir.path().join(name);
        std::fs::write(&target, bytes).expect("write file");
        set_mode(&target, 0o755);
        target
    }

    /// Compiles the C plugin fixture (with `-D<variant>` when given) into this directory.
    pub fn compile_c(&self, variant: Option<&str>) -> PathBuf {
        let name = format!("c_{}", variant.unwrap_or("demo").to_ascii_lowercase());
        let define = variant.map(|v| format!("-D{v}"));
        self.compile_source(
            &repo_root().join("tests/fixtures/c-plugin/plugin.c"),
            &name,
            define.as_deref().into_iter().collect::<Vec<_>>().as_slice(),
        )
    }

    /// Compiles a C plugin source into `lib<name>.so` in this directory.
    pub fn compile_source(&self, source: &Path, name: &str, flags: &[&str]) -> PathBuf {
        let name = format!(
            "{}{name}{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        );
        let target = self.dir.path().join(name);
        let root = repo_root();
        let mut cc = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
        cc.args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I",
        ])
        .arg(root.join("connector-core/include"))
        .arg(source)
        .arg("-o")
        .arg(&target)
        .args(flags);
        let output = cc.output().expect("run the C compiler (cc)");
        assert!(
            output.status.success(),
            "cc failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        set_mode(&target, 0o755);
        target
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// An `invhost` command isolated in its own temp home: no user config, data
/// dir inside the temp dir, no inherited `INVHOST_*` variables.
pub struct Invhost {
    pub home: TempDir,
    /// `INVHOST_DATABASE_URL`, when not the default SQLite file.
    pub database: Option<String>,
    /// `INVHOST_PLUGIN_DIRS`.
    pub plugin_dir: Option<PathBuf>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

impl Invhost {
    pub fn new() -> Self {
        Invhost {
            home: tempfile::tempdir().expect("temp home"),
            database: None,
            plugin_dir: None,
            env: Vec::new(),
        }
    }

    /// The data directory (default database, key file).
    pub fn data_dir(&self) -> PathBuf {
        self.home.path().join("data")
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(invhost_bin());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("INVHOST_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("INVHOST_DATA_DIR", self.home.path().join("data"))
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env_remove("RUST_BACKTRACE");
        if let Some(url) = &self.database {
            cmd.env("INVHOST_DATABASE_URL", url);
        }
        if let Some(dir) = &self.plugin_dir {
            cmd.env("INVHOST_PLUGIN_DIRS", dir);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs with these arguments; returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output = self.cmd().args(args).output().expect("run invhost");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}
