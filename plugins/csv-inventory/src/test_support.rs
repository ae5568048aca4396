//! Helpers for the unit tests: temporary folders of real CSV files.

use std::path::Path;

use connector_core::{CollectingSink, ConnectorError, Parameters, RunContext, RunSummary};

use crate::sync;

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

    /// Runs a sync into `sink` with batches of `batch_size`.
    pub fn sync_into(
        &self,
        extra: &[(&str, &str)],
        sink: &mut CollectingSink,
        batch_size: usize,
    ) -> Result<RunSummary, ConnectorError> {
        let params = self.params(extra);
        let mut ctx = RunContext::new(sink);
        ctx.set_batch_size(batch_size);
        sync::sync(&params, &mut ctx)
    }

    /// Runs a sync and returns its result and what the sink received.
    pub fn sync(
        &self,
        extra: &[(&str, &str)],
    ) -> (Result<RunSummary, ConnectorError>, CollectingSink) {
        let mut sink = CollectingSink::default();
        let result = self.sync_into(extra, &mut sink, 1_000);
        (result, sink)
    }
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
