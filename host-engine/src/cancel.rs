//! Stopping a running process: who asked, and what the process log says.

use std::sync::OnceLock;

/// Why a process was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl-C (SIGINT) at the operator's terminal.
    Interrupt,
    /// SIGTERM, as `systemctl stop` and container runtimes send it.
    Terminate,
    /// `invhost process cancel`, from this host or another.
    Requested,
    /// The service is shutting down (`invhost serve` got SIGTERM or Ctrl-C).
    Shutdown,
}

impl StopReason {
    /// The start of the process log's line.
    pub fn describe(self) -> &'static str {
        match self {
            StopReason::Interrupt => "cancelled by the operator (Ctrl-C)",
            StopReason::Terminate => "stopped by SIGTERM",
            StopReason::Requested => "cancelled with invhost process cancel",
            StopReason::Shutdown => "host shutting down",
        }
    }

    /// The exit code of a command stopped this way (128 + the signal).
    pub fn exit_code(self) -> u8 {
        match self {
            StopReason::Interrupt => 130,
            StopReason::Terminate => 143,
            StopReason::Requested | StopReason::Shutdown => 1,
        }
    }
}

/// A request to stop, shared by whoever runs a process and whoever may ask
/// it to stop. The first reason given is the one kept.
#[derive(Debug, Default)]
pub struct Cancel(OnceLock<StopReason>);

impl Cancel {
    /// Asks the process to stop.
    pub fn cancel(&self, reason: StopReason) {
        let _ = self.0.set(reason);
    }

    /// Why it was asked to stop, if it was.
    pub fn reason(&self) -> Option<StopReason> {
        self.0.get().copied()
    }

    /// Whether it was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.get().is_some()
    }
}
