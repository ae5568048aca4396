//! Schedules: a named chain of actions on one repository, due on a cron
//! expression in UTC. When due, one host (of however many share the
//! database) queues the chain: each step is the child of the one before it
//! and runs once that one ended, after a success, or after any end when the
//! schedule continues on failure. Every process a schedule queues has the
//! schedule's name as its trigger.

use std::fmt;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use repo_store::{
    Firing, NewSchedule, ProcessRow, RepositoryRow, ScheduleChange, ScheduleRow, Store, Trigger,
};
use serde::Serialize;

use super::cancel::Cancel;
use super::execute::Live;
use super::host::Host;

/// The fields of a cron expression, in order, when it has five.
const FIELDS: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];

/// How late a due time may fire before it counts as missed (a host was
/// down over it) and the firing says so.
const LATE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// A checked cron expression: five fields (minute hour day-of-month month
/// day-of-week), or six with seconds first; times are UTC.
#[derive(Clone)]
pub struct CronSpec {
    text: String,
    cron: Cron,
}

impl fmt::Debug for CronSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronSpec").field(&self.text).finish()
    }
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
}

impl CronSpec {
    /// Parses `text`; a mistake is reported with the field, its column and
    /// what is wrong with it.
    pub fn parse(text: &str) -> Result<CronSpec> {
        let text = text.trim();
        match parser().parse(text) {
            Ok(cron) => {
                // A pattern that never matches is refused now, not at 2 am.
                cron.find_next_occurrence(&Utc::now(), false)
                    .map_err(|_| anyhow::anyhow!("cron \"{text}\" never comes due"))?;
                Ok(CronSpec {
                    text: text.to_owned(),
                    cron,
                })
            }
            Err(e) => Err(anyhow::anyhow!("{}", mistake(text, &e.to_string()))),
        }
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first due time strictly after `after`, a whole second.
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>> {
        // Croner keeps the fraction of a second it starts from.
        self.cron
            .find_next_occurrence(&whole_second(after), false)
            .with_context(|| format!("cron \"{}\" has no due time after {after}", self.text))
    }

    /// The next `n` due times after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        self.cron.iter_after(whole_second(after)).take(n).collect()
    }

    /// Due times strictly after `from` and at or before `until`, counted up
    /// to `cap`.
    fn due_between(&self, from: DateTime<Utc>, until: DateTime<Utc>, cap: usize) -> usize {
        self.cron
            .iter_after(whole_second(from))
            .take_while(|t| *t <= until)
            .take(cap)
            .count()
    }
}

fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::seconds(1)).unwrap_or(t)
}

/// Where in `text` the mistake croner reports lies: the first field that,
/// alone among wildcards, does not parse.
fn mistake(text: &str, reason: &str) -> String {
    let fields: Vec<(usize, &str)> = text
        .split_whitespace()
        .map(|field| (field.as_ptr() as usize - text.as_ptr() as usize, field))
        .collect();
    let names: Vec<&str> = match fields.len() {
        5 => FIELDS.to_vec(),
        6 => std::iter::once("second").chain(FIELDS).collect(),
        n => {
            return format!(
                "invalid cron \"{text}\": {n} field{} where 5 are expected (minute hour \
                 day-of-month month day-of-week), or 6 with seconds first",
                if n == 1 { "" } else { "s" }
            );
        }
    };
    for (i, (column, field)) in fields.iter().enumerate() {
        let alone: Vec<&str> = (0..fields.len())
            .map(|j| if i == j { *field } else { "*" })
            .collect();
        if let Err(e) = parser().parse(&alone.join(" ")) {
            return format!(
                "invalid cron \"{text}\": field {} ({}) '{field}' at column {}: {}",
                i + 1,
                names[i],
                column + 1,
                plain(&e.to_string())
            );
        }
    }
    format!("invalid cron \"{text}\": {}", plain(reason))
}

/// Croner's message without its type prefix.
fn plain(reason: &str) -> String {
    let reason = reason
        .trim_start_matches("Invalid pattern: ")
        .trim_start_matches("Component error: ")
        .trim_start_matches("Pattern contains illegal characters: ")
        .trim_start_matches("CronPattern contains ")
        .trim_end_matches('.');
    let mut chars = reason.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A schedule to add.
#[derive(Debug, Clone)]
pub struct ScheduleRequest {
    /// Unique name.
    pub name: String,
    /// Cron expression, UTC.
    pub cron: String,
    /// Repository name.
    pub repository: String,
    /// Actions, run in this order.
    pub actions: Vec<String>,
    /// A failed step does not stop the rest.
    pub continue_on_failure: bool,
    /// Fires when due (otherwise only `schedule run`).
    pub enabled: bool,
}

/// What to change; `None` keeps it.
#[derive(Debug, Clone, Default)]
pub struct ScheduleEdit {
    /// New cron expression.
    pub cron: Option<String>,
    /// New repository.
    pub repository: Option<String>,
    /// New actions (replacing the list).
    pub actions: Option<Vec<String>>,
    /// New failure behaviour.
    pub continue_on_failure: Option<bool>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.trim() != name {
        bail!("a schedule name must be non-empty, without spaces at either end");
    }
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        bail!("a schedule name has at most 100 characters, none of them control characters");
    }
    Ok(())
}

/// Checks every action against the repository (as `execute` would).
async fn check_actions(
    host: &Host,
    store: &Store,
    repository: &RepositoryRow,
    name: &str,
    actions: &[String],
) -> Result<()> {
    if actions.is_empty() {
        bail!("a schedule needs at least one --action");
    }
    for action in actions {
        super::execute::step(
            host,
            store,
            repository,
            action,
            false,
            Trigger::Schedule(name.to_owned()),
        )
        .await?;
    }
    Ok(())
}

/// Adds a schedule; its first due time is the cron's next after now.
pub async fn add(host: &Host, store: &Store, request: ScheduleRequest) -> Result<ScheduleRow> {
    check_name(&request.name)?;
    let cron = CronSpec::parse(&request.cron)?;
    let repository = store.repository(&request.repository).await?;
    check_actions(host, store, &repository, &request.name, &request.actions).await?;
    Ok(store
        .create_schedule(NewSchedule {
            name: request.name,
            cron: cron.as_str().to_owned(),
            repository_id: repository.id,
            actions: request.actions,
            continue_on_failure: request.continue_on_failure,
            enabled: request.enabled,
            next_due_at: cron.next_after(Utc::now())?,
        })
        .await?)
}

/// Changes a schedule; a new cron expression (or enabling it) counts its
/// next due time from now.
pub async fn edit(
    host: &Host,
    store: &Store,
    name: &str,
    edit: ScheduleEdit,
) -> Result<ScheduleRow> {
    let row = store.schedule(name).await?;
    let cron = CronSpec::parse(edit.cron.as_deref().unwrap_or(&row.cron))?;
    let repository = match &edit.repository {
        Some(repository) => store.repository(repository).await?,
        None => repository_of(store, &row).await?,
    };
    let actions = edit.actions.clone().unwrap_or_else(|| row.action_list());
    check_actions(host, store, &repository, name, &actions).await?;
    let next = cron.next_after(Utc::now())?;
    Ok(store
        .update_schedule(
            row.id,
            ScheduleChange {
                cron: edit.cron.map(|_| (cron.as_str().to_owned(), next)),
                repository_id: edit.repository.map(|_| repository.id),
                actions: edit.actions,
                continue_on_failure: edit.continue_on_failure,
                enabled: edit
                    .enabled
                    .filter(|enabled| *enabled != row.enabled)
                    .map(|enabled| (enabled, next)),
            },
        )
        .await?)
}

/// Removes a schedule; what it queued stays queued, and in the log.
pub async fn remove(store: &Store, name: &str) -> Result<ScheduleRow> {
    let row = store.schedule(name).await?;
    store.delete_schedule(row.id).await?;
    Ok(row)
}

async fn repository_of(store: &Store, row: &ScheduleRow) -> Result<RepositoryRow> {
    store
        .repositories()
        .await?
        .into_iter()
        .find(|r| r.id == row.repository_id)
        .with_context(|| format!("schedule '{}': its repository is gone", row.name))
}

/// The steps of a schedule as process rows to queue, checked now.
async fn steps(
    host: &Host,
    store: &Store,
    row: &ScheduleRow,
) -> Result<Vec<repo_store::NewProcess>> {
    let repository = repository_of(store, row).await?;
    let mut steps = Vec::new();
    for action in row.action_list() {
        let mut step = super::execute::step(
            host,
            store,
            &repository,
            &action,
            false,
            Trigger::Schedule(row.name.clone()),
        )
        .await
        .with_context(|| format!("schedule '{}'", row.name))?;
        step.continue_on_failure = row.continue_on_failure;
        steps.push(step);
    }
    Ok(steps)
}

/// Queues the schedule's chain now (`schedule run`), whether or not it is
/// due or enabled; its due times are not touched.
pub async fn queue_now(host: &Host, store: &Store, name: &str) -> Result<Vec<ProcessRow>> {
    let row = store.schedule(name).await?;
    let steps = steps(host, store, &row).await?;
    Ok(store.queue_chain(steps).await?)
}

/// Queues the schedule's chain now and runs it here, step by step, each
/// when its turn comes (see [`super::execute::run_queued`]).
pub async fn run_now(
    host: &Host,
    store: &Store,
    name: &str,
    live: &Live,
    cancel: &Arc<Cancel>,
) -> Result<Vec<ProcessRow>> {
    let queued = queue_now(host, store, name).await?;
    super::execute::run_queued(host, store, queued, live, cancel).await
}

/// A due time this host fired.
#[derive(Debug)]
pub struct Fired {
    /// The schedule.
    pub schedule: String,
    /// The due time.
    pub due_at: DateTime<Utc>,
    /// What it queued, in order (nothing when it could not queue).
    pub processes: Vec<ProcessRow>,
    /// What the operator should know: a missed due time, or why nothing
    /// was queued.
    pub note: Option<String>,
}

/// What one look at the schedules did.
#[derive(Debug, Default)]
pub struct Tick {
    /// The due times this host fired.
    pub fired: Vec<Fired>,
    /// The earliest due time still ahead, to sleep until.
    pub next_due_at: Option<DateTime<Utc>>,
}

/// Fires every enabled schedule due at `now` whose due time no other host
/// fired first. A due time missed while no host ran fires once, late, and
/// its note says so; the next due time is the first after `now`, so missed
/// ones do not fire in a burst.
pub async fn tick(host: &Host, store: &Store, now: DateTime<Utc>) -> Result<Tick> {
    let mut tick = Tick::default();
    for row in store.schedules().await?.into_iter().filter(|s| s.enabled) {
        if row.next_due_at > now {
            tick.next_due_at = Some(earliest(tick.next_due_at, row.next_due_at));
            continue;
        }
        let cron = match CronSpec::parse(&row.cron) {
            Ok(cron) => cron,
            Err(e) => {
                tracing::warn!(schedule = %row.name, error = %format!("{e:#}"), "Schedule skipped.");
                continue;
            }
        };
        let next_due_at = cron.next_after(now)?;
        tick.next_due_at = Some(earliest(tick.next_due_at, next_due_at));
        let missed = cron.due_between(row.next_due_at, now, 10_000);
        let late = now - row.next_due_at;
        let mut note = (missed > 0 || late > LATE).then(|| {
            format!(
                "due at {} UTC while no host was running; fired once, {}s late{}",
                row.next_due_at.format("%Y-%m-%d %H:%M:%S"),
                late.num_seconds(),
                match missed {
                    0 => String::new(),
                    1 => "; 1 later due time was skipped".to_owned(),
                    n => format!("; {n} later due times were skipped"),
                }
            )
        });
        let mut firing = Firing {
            due_at: row.next_due_at,
            next_due_at,
            note: note.clone(),
        };
        let fired = match steps(host, store, &row).await {
            Ok(steps) => store.fire_schedule(&row, &firing, steps).await?,
            // The database failed, not the schedule: the next look retries.
            Err(e)
                if e.downcast_ref::<repo_store::StoreError>()
                    .is_some_and(|e| !matches!(e, repo_store::StoreError::NotFound { .. })) =>
            {
                tracing::warn!(schedule = %row.name, error = %format!("{e:#}"), "Could not fire the schedule; retrying.");
                continue;
            }
            Err(e) => {
                let reason = format!("not run: {e:#}");
                firing.note = Some(reason.clone());
                note = Some(reason);
                store.skip_schedule(&row, &firing).await?.then(Vec::new)
            }
        };
        if let Some(processes) = fired {
            tick.fired.push(Fired {
                schedule: row.name,
                due_at: row.next_due_at,
                processes,
                note,
            });
        }
    }
    Ok(tick)
}

fn earliest(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> DateTime<Utc> {
    a.map_or(b, |a| a.min(b))
}

/// A schedule as `list`, `show` and `--json` present it; times are UTC,
/// RFC 3339.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    /// Name.
    pub name: String,
    /// Cron expression (UTC).
    pub cron: String,
    /// Repository name.
    pub repository: String,
    /// Actions, in order.
    pub actions: Vec<String>,
    /// A failed step does not stop the rest.
    pub continue_on_failure: bool,
    /// Fires when due.
    pub enabled: bool,
    /// Next due time (null when disabled).
    pub next_due_at: Option<String>,
    /// The next five due times (empty when disabled).
    pub upcoming: Vec<String>,
    /// Due times fired so far.
    pub fired: i64,
    /// The due time it last fired for.
    pub last_due_at: Option<String>,
    /// When it last fired.
    pub last_fired_at: Option<String>,
    /// The first process it last queued.
    pub last_process_id: Option<i64>,
    /// What the operator should know about its last firing.
    pub last_note: Option<String>,
}

/// The view of a schedule.
pub fn view(
    row: &ScheduleRow,
    repositories: &std::collections::HashMap<i64, String>,
) -> ScheduleView {
    let upcoming = match (row.enabled, CronSpec::parse(&row.cron)) {
        (true, Ok(cron)) => std::iter::once(row.next_due_at)
            .chain(cron.upcoming(row.next_due_at, 4))
            .map(|t| t.to_rfc3339())
            .collect(),
        _ => Vec::new(),
    };
    ScheduleView {
        name: row.name.clone(),
        cron: row.cron.clone(),
        repository: repositories
            .get(&row.repository_id)
            .cloned()
            .unwrap_or_default(),
        actions: row.action_list(),
        continue_on_failure: row.continue_on_failure,
        enabled: row.enabled,
        next_due_at: row.enabled.then(|| row.next_due_at.to_rfc3339()),
        upcoming,
        fired: row.fired,
        last_due_at: row.last_due_at.map(|t| t.to_rfc3339()),
        last_fired_at: row.last_fired_at.map(|t| t.to_rfc3339()),
        last_process_id: row.last_process_id,
        last_note: row.last_note.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_mistake_names_its_field_and_column() {
        let e = CronSpec::parse("0 2 32 * *").unwrap_err().to_string();
        assert!(e.contains("field 3 (day of month) '32' at column 5"), "{e}");
        let e = CronSpec::parse("*/5 * * * * * *").unwrap_err().to_string();
        assert!(e.contains("7 fields where 5 are expected"), "{e}");
        let e = CronSpec::parse("61 * * * * *").unwrap_err().to_string();
        assert!(e.contains("field 1 (second) '61' at column 1"), "{e}");
        let e = CronSpec::parse("0 2 * * MOON").unwrap_err().to_string();
        assert!(e.contains("field 5 (day of week)"), "{e}");
    }

    #[test]
    fn five_fields_are_minutes_and_six_start_with_seconds() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let nightly = CronSpec::parse("0 2 * * *").unwrap();
        assert_eq!(
            nightly.next_after(at("2026-12-01T06:31:28Z")).unwrap(),
            at("2026-12-02T02:00:00Z")
        );
        let every_three = CronSpec::parse("*/3 * * * * *").unwrap();
        assert_eq!(
            every_three
                .next_after(at("2026-12-01T06:31:29.682Z"))
                .unwrap(),
            at("2026-12-01T06:31:30Z"),
            "due times are whole seconds"
        );
        assert_eq!(
            every_three.upcoming(at("2026-12-01T06:31:28.5Z"), 3),
            vec![
                at("2026-12-01T06:31:30Z"),
                at("2026-12-01T06:31:33Z"),
                at("2026-12-01T06:31:36Z")
            ]
        );
        assert_eq!(
            nightly.due_between(at("2026-12-01T02:00:00Z"), at("2026-12-04T03:00:00Z"), 100),
            3
        );
    }
}
