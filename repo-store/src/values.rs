//! Typed values of stored columns: a process's status and trigger, and a
//! repository's type. Each is stored as its text (`Display`) and read back
//! through `FromStr`, so the database stays readable and a value a newer
//! version wrote fails loudly instead of being misread.

use std::fmt;
use std::str::FromStr;

use sea_orm::DeriveValueType;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where a process is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum ProcessStatus {
    /// Waiting to run.
    Queued,
    /// Running now.
    Running,
    /// Finished well.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Stopped by the operator, or by a host shutting down.
    Cancelled,
}

impl ProcessStatus {
    /// Every status.
    pub const ALL: [ProcessStatus; 5] = [
        ProcessStatus::Queued,
        ProcessStatus::Running,
        ProcessStatus::Succeeded,
        ProcessStatus::Failed,
        ProcessStatus::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessStatus::Queued => "queued",
            ProcessStatus::Running => "running",
            ProcessStatus::Succeeded => "succeeded",
            ProcessStatus::Failed => "failed",
            ProcessStatus::Cancelled => "cancelled",
        }
    }

    /// It has ended (succeeded, failed or cancelled).
    pub fn is_ended(self) -> bool {
        !matches!(self, ProcessStatus::Queued | ProcessStatus::Running)
    }
}

impl fmt::Display for ProcessStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProcessStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProcessStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown status '{s}' (one of queued, running, succeeded, failed, cancelled)"
                )
            })
    }
}

/// Who or what queued a process.
#[derive(Debug, Clone, PartialEq, Eq, Hash, DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum Trigger {
    /// An operator, from the command line (`execute`, `schedule run`).
    Operator,
    /// A sync whose connector runs consolidation after it.
    AfterSync,
    /// The schedule of this name, when it was due.
    Schedule(String),
    /// The account of this name, through the HTTP API.
    User(String),
}

/// How a schedule's trigger starts when stored.
const SCHEDULE_PREFIX: &str = "schedule ";

/// How an account's trigger starts when stored.
const USER_PREFIX: &str = "user ";

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Operator => f.write_str("operator"),
            Trigger::AfterSync => f.write_str("after sync"),
            Trigger::Schedule(name) => write!(f, "{SCHEDULE_PREFIX}{name}"),
            Trigger::User(name) => write!(f, "{USER_PREFIX}{name}"),
        }
    }
}

impl FromStr for Trigger {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "operator" => Ok(Trigger::Operator),
            "after sync" => Ok(Trigger::AfterSync),
            _ => {
                if let Some(name) = s.strip_prefix(SCHEDULE_PREFIX).filter(|n| !n.is_empty()) {
                    return Ok(Trigger::Schedule(name.to_owned()));
                }
                if let Some(name) = s.strip_prefix(USER_PREFIX).filter(|n| !n.is_empty()) {
                    return Ok(Trigger::User(name.to_owned()));
                }
                Err(format!(
                    "unknown trigger '{s}' (operator, after sync, schedule NAME or user NAME)"
                ))
            }
        }
    }
}

/// The kind of data a repository holds, and so which actions run on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum RepositoryType {
    /// Software and hardware inventory: connectors sync into it and
    /// consolidation runs on it.
    Inventory,
}

impl fmt::Display for RepositoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepositoryType::Inventory => f.write_str("inventory"),
        }
    }
}

impl FromStr for RepositoryType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "inventory" => Ok(RepositoryType::Inventory),
            _ => Err(format!("unknown repository type '{s}' (inventory)")),
        }
    }
}

/// What an account may do through the HTTP API; each role may do what the
/// ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum Role {
    /// Reads everything but secrets.
    Viewer,
    /// Also executes, cancels and tests.
    Operator,
    /// Also manages connectors, repositories, schedules and accounts.
    Admin,
}

impl Role {
    /// Every role, weakest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        })
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.to_string() == s)
            .ok_or_else(|| format!("unknown role '{s}' (viewer, operator or admin)"))
    }
}

/// Each value is serialised as its stored text, the form `--json` shows.
macro_rules! serde_as_text {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_as_text!(ProcessStatus, Trigger, RepositoryType, Role);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_what_it_stores() {
        for status in ProcessStatus::ALL {
            assert_eq!(status.to_string().parse::<ProcessStatus>(), Ok(status));
        }
        for trigger in [
            Trigger::Operator,
            Trigger::AfterSync,
            Trigger::Schedule("nightly inventory".into()),
            Trigger::User("alice".into()),
        ] {
            assert_eq!(trigger.to_string().parse::<Trigger>(), Ok(trigger.clone()));
        }
        assert_eq!(
            "inventory".parse::<RepositoryType>(),
            Ok(RepositoryType::Inventory)
        );
        assert!("schedule ".parse::<Trigger>().is_err());
        assert!("paused".parse::<ProcessStatus>().is_err());
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
        }
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    }
}
