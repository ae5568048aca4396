//! Helpers for the unit tests: temporary folders of real CSV files, synced
//! through the SDK's harness.

use std::path::Path;

use connector_core::Parameters;
use connector_core::testing::{Harness, Options, Run};

/// A temporary folder of CSV files, removed on drop.
pub struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    /// An empty folder.
    pub fn new() -> Self {
        Folder {
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    /// Writes (or overwrites) a file.
    pub fn file(self, name: &str, content: impl AsRef<[u8]>) -> Self {
        std::fs::write(self.dir.path().join(name), content).expect("write test file");
        self
    }

    /// Removes a file.
    pub fn without(self, name: &str) -> Self {
        std::fs::remove_file(self.dir.path().join(name)).expect("remove test file");
        self
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Parameters pointing at the folder, plus `extra` ones.
    pub fn params(&self, extra: &[(&str, &str)]) -> Parameters {
        let mut params = Parameters::new();
        params.insert("folder", self.path().to_string_lossy().as_ref());
        for (key, value) in extra {
            params.insert(*key, *value);
        }
        params
    }

    /// Runs Sync Data on the folder through the plugin's own export, the
    /// way the host does.
    pub fn sync(&self, extra: &[(&str, &str)]) -> Run {
        harness().sync(&self.params(extra))
    }

    /// [`Folder::sync`] with harness options (cancellation, a slow host).
    pub fn sync_with(&self, extra: &[(&str, &str)], options: &Options) -> Run {
        harness().run("sync_data", &self.params(extra), options)
    }
}

/// The plugin under test, through its exported descriptor.
pub fn harness() -> Harness {
    Harness::exported(crate::__invhost_descriptor(), crate::TYPE_ID).expect("the plugin loads")
}

/// The three required files, with two devices, two applications and three
/// installations.
pub fn minimal() -> Folder {
    Folder::new()
        .file(
            "devices.csv",
            "device_id,name,serial_number\nD1,PC-001,SN1\nD2,PC-002,\n",
        )
        .file(
            "applications.csv",
            "application_id,name\nA1,Google Chrome\nA2,Zoom\n",
        )
        .file(
            "installations.csv",
            "device_id,application_id\nD1,A1\nD1,A2\nD2,A1\n",
        )
}
