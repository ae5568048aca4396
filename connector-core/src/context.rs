//! The run context: how a connector hands records to the host.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::connector::{RunOptions, RunSummary};
use crate::error::ConnectorError;
use crate::model::{Batch, Record, RecordKind};

/// Records per batch unless a connector says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 1_000;

/// The host's answer to a batch: go on, or stop (cancelled, or the host
/// could not take the batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep going.
    Continue,
    /// Stop the run as soon as possible.
    Stop,
}

/// A progress note for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Progress {
    /// What is happening (`Reading devices.csv`).
    pub message: String,
    /// Units done so far, when countable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<u64>,
    /// Units in all, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

impl Progress {
    /// A progress note with a message only.
    pub fn message(message: impl Into<String>) -> Self {
        Progress {
            message: message.into(),
            done: None,
            total: None,
        }
    }

    /// The same note with the units done so far (`Reading devices.csv`, 1200).
    pub fn done(mut self, done: u64) -> Self {
        self.done = Some(done);
        self
    }

    /// The same note with the units in all, when known (1200 of 5000).
    pub fn total(mut self, total: u64) -> Self {
        self.total = Some(total);
        self
    }
}

/// Where batches go: the host's side of a run.
///
/// Inside a plugin this is the ABI's callbacks; in a connector's own unit
/// tests it can be a [`CollectingSink`].
pub trait RecordSink: Send {
    /// Takes one batch. Blocking here is how the host slows a fast connector.
    fn emit(&mut self, batch: Batch) -> Flow;
    /// Takes a progress note.
    fn progress(&mut self, progress: Progress);
    /// Whether the operator cancelled the run.
    fn is_cancelled(&self) -> bool;
}

/// A sink that keeps everything in memory, for connector unit tests.
#[derive(Debug, Default)]
pub struct CollectingSink {
    /// Every record received.
    pub records: Vec<Record>,
    /// Every completed kind received.
    pub complete: Vec<RecordKind>,
    /// Number of batches received.
    pub batches: usize,
    /// Progress notes received.
    pub progress: Vec<Progress>,
    /// Answer `Stop` after this many batches.
    pub stop_after: Option<usize>,
}

impl RecordSink for CollectingSink {
    fn emit(&mut self, batch: Batch) -> Flow {
        self.batches += 1;
        self.records.extend(batch.records);
        self.complete.extend(batch.complete);
        match self.stop_after {
            Some(n) if self.batches >= n => Flow::Stop,
            _ => Flow::Continue,
        }
    }

    fn progress(&mut self, progress: Progress) {
        self.progress.push(progress);
    }

    fn is_cancelled(&self) -> bool {
        false
    }
}

/// What a connector's `run` writes to: buffers records into batches of
/// bounded size and hands each full batch to the host.
///
/// The host takes a batch at a time, and it is then that a cancellation or a
/// refused batch is noticed: [`RunContext::emit`] fails with
/// [`crate::ErrorKind::Cancelled`] on the record that fills the batch (or any
/// record after). Between slow steps that emit nothing (a long download, a
/// wait for the source), ask [`RunContext::is_cancelled`]. Report
/// [progress](RunContext::progress) when something an operator would notice
/// happens (a new stream, every few thousand records, a wait), a few times a
/// second at most: the host shows the latest note and logs some.
pub struct RunContext<'a> {
    sink: &'a mut dyn RecordSink,
    options: RunOptions,
    buffer: Vec<Record>,
    batch_size: usize,
    summary: RunSummary,
    complete: BTreeSet<RecordKind>,
    stopped: bool,
}

impl<'a> RunContext<'a> {
    /// A context writing to `sink` in batches of [`DEFAULT_BATCH_SIZE`].
    pub fn new(sink: &'a mut dyn RecordSink) -> Self {
        RunContext {
            sink,
            options: RunOptions::default(),
            buffer: Vec::with_capacity(DEFAULT_BATCH_SIZE),
            batch_size: DEFAULT_BATCH_SIZE,
            summary: RunSummary::default(),
            complete: BTreeSet::new(),
            stopped: false,
        }
    }

    /// The same context for a run with these options (the SDK sets them
    /// from the host's request).
    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    /// The run's options: [`RunOptions::clean`] is set for a clean sync, in
    /// which the host replaces everything the connector held (a connector may
    /// skip incremental shortcuts then).
    pub fn options(&self) -> &RunOptions {
        &self.options
    }

    /// Changes the batch size (at least 1).
    pub fn set_batch_size(&mut self, size: usize) {
        self.batch_size = size.max(1);
    }

    /// Adds a record; hands a batch to the host when the buffer is full.
    ///
    /// Fails with [`crate::ErrorKind::Cancelled`] once the host asked to stop:
    /// return that error from `run`.
    pub fn emit(&mut self, record: impl Into<Record>) -> Result<(), ConnectorError> {
        if self.stopped {
            return Err(ConnectorError::cancelled());
        }
        let record = record.into();
        *self.summary.records.entry(record.kind()).or_default() += 1;
        self.buffer.push(record);
        if self.buffer.len() >= self.batch_size {
            self.flush()?;
        }
        Ok(())
    }

    /// Marks a record kind as delivered in full (the stream-complete marker)
    /// and hands over what is buffered.
    pub fn complete(&mut self, kind: RecordKind) -> Result<(), ConnectorError> {
        if self.complete.insert(kind) {
            self.summary.complete.push(kind);
        }
        self.send(vec![kind])
    }

    /// Hands what is buffered to the host now.
    pub fn flush(&mut self) -> Result<(), ConnectorError> {
        self.send(Vec::new())
    }

    fn send(&mut self, complete: Vec<RecordKind>) -> Result<(), ConnectorError> {
        if self.stopped {
            return Err(ConnectorError::cancelled());
        }
        if self.buffer.is_empty() && complete.is_empty() {
            return Ok(());
        }
        let records = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.batch_size));
        match self.sink.emit(Batch { records, complete }) {
            Flow::Continue if !self.sink.is_cancelled() => Ok(()),
            _ => {
                self.stopped = true;
                Err(ConnectorError::cancelled())
            }
        }
    }

    /// Tells the operator what is happening.
    pub fn progress(&mut self, progress: Progress) {
        self.sink.progress(progress);
    }

    /// Whether the run should stop: the operator cancelled or the host refused a batch.
    pub fn is_cancelled(&self) -> bool {
        self.stopped || self.sink.is_cancelled()
    }

    /// Adds a warning to the summary (and so to the process log).
    pub fn warn(&mut self, warning: impl Into<String>) {
        let warning = warning.into();
        tracing::warn!(%warning, "Connector warning.");
        self.summary.warnings.push(warning);
    }

    /// Flushes the buffer and returns the summary so far: counts per kind,
    /// completed kinds and warnings. Call it at the end of `run`.
    pub fn summary(&mut self) -> RunSummary {
        // A failed final flush means the host stopped the run; the host
        // knows that already and ignores the summary.
        let _ = self.flush();
        self.summary.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Device;

    #[test]
    fn batches_are_bounded_and_complete_markers_flush() {
        let mut sink = CollectingSink::default();
        let mut ctx = RunContext::new(&mut sink);
        ctx.set_batch_size(10);
        for i in 0..25 {
            ctx.emit(Device::new(format!("d{i}"), "pc")).unwrap();
        }
        ctx.complete(RecordKind::Device).unwrap();
        let summary = ctx.summary();
        assert_eq!(summary.records[&RecordKind::Device], 25);
        assert_eq!(summary.complete, [RecordKind::Device]);
        assert_eq!(sink.batches, 3);
        assert_eq!(sink.records.len(), 25);
        assert_eq!(sink.complete, [RecordKind::Device]);
    }

    #[test]
    fn stop_from_the_host_fails_the_next_emit() {
        let mut sink = CollectingSink {
            stop_after: Some(1),
            ..Default::default()
        };
        let mut ctx = RunContext::new(&mut sink);
        ctx.set_batch_size(2);
        ctx.emit(Device::new("a", "a")).unwrap();
        let err = ctx.emit(Device::new("b", "b")).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Cancelled);
        assert!(ctx.is_cancelled());
        assert!(ctx.emit(Device::new("c", "c")).is_err());
    }
}
