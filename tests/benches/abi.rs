//! Throughput and memory of the plugin ABI: records per second from a plugin
//! library through `emit` into a host sink, and the host's peak memory for two
//! run sizes (it must not grow with the run).
//!
//! `cargo bench -p tests --bench abi`

use std::path::PathBuf;
use std::time::Instant;

use connector_core::host::Plugin;
use connector_core::{Batch, Flow, Parameters, Progress, RecordSink, RunOptions};

#[derive(Default)]
struct Count(u64);

impl RecordSink for Count {
    fn emit(&mut self, batch: Batch) -> Flow {
        self.0 += batch.records.len() as u64;
        Flow::Continue
    }
    fn progress(&mut self, _progress: Progress) {}
    fn is_cancelled(&self) -> bool {
        false
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    let deps = std::env::current_exe()
        .expect("bench path")
        .parent()
        .expect("deps")
        .to_path_buf();
    let library: PathBuf = deps.join(format!(
        "{}fixture_plugin{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let plugin = Plugin::load(&library).expect("fixture plugin loads");
    let flood = plugin
        .connectors()
        .into_iter()
        .find(|c| c.info().type_id == "fixture-flood")
        .expect("fixture-flood");
    for count in [100_000u64, 1_000_000] {
        let params = Parameters::from_json(serde_json::json!({"count": count, "batch": 1000}))
            .expect("params");
        let mut sink = Count::default();
        let start = Instant::now();
        flood
            .run("sync_data", &params, RunOptions::default(), &mut sink)
            .expect("run");
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(sink.0, count);
        #[allow(clippy::print_stdout)]
        {
            println!(
                "abi: {count:>9} device records in {secs:6.2} s = {:>9.0} records/s, peak RSS {} MiB",
                count as f64 / secs,
                peak_rss_kib() / 1024
            );
        }
    }
}
