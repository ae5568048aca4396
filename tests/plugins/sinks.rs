//! Record sinks the tests hand to runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use connector_core::{Batch, Flow, Progress, RecordSink};

/// Counts records and can cancel, slow down, or check the producer's lead.
#[derive(Default)]
pub struct TestSink {
    pub records: usize,
    pub batches: usize,
    pub kinds: Vec<String>,
    pub complete: Vec<String>,
    pub progress: Vec<Progress>,
    /// Cancel once this many batches arrived.
    pub cancel_after: Option<usize>,
    pub cancelled: Arc<AtomicBool>,
    /// Sleep per batch.
    pub delay: Option<Duration>,
    /// Largest lead of the producer over what the sink took (flood fixture).
    pub max_lead: i64,
}

impl RecordSink for TestSink {
    fn emit(&mut self, batch: Batch) -> Flow {
        if let Some(delay) = self.delay {
            std::thread::sleep(delay);
        }
        for record in &batch.records {
            if let connector_core::Record::Device(device) = record
                && let Ok(produced) = device.name.parse::<i64>()
            {
                self.max_lead = self.max_lead.max(produced - self.records as i64);
            }
            let kind = record.kind().to_string();
            if !self.kinds.contains(&kind) {
                self.kinds.push(kind);
            }
            self.records += 1;
        }
        self.complete
            .extend(batch.complete.iter().map(|k| k.to_string()));
        self.batches += 1;
        if self.cancel_after.is_some_and(|n| self.batches >= n) {
            self.cancelled.store(true, Ordering::SeqCst);
        }
        Flow::Continue
    }

    fn progress(&mut self, progress: Progress) {
        self.progress.push(progress);
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}
