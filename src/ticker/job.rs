//! The ticker as a job of the supervisor.

use std::sync::Arc;

use tokio::sync::watch;

use super::{DbState, PgBackend, Settings, Status};
use crate::daemon::{Job, JobContext, JobError, JobFuture, Phase};

/// A `[pgqd]` job: the ticker over its databases.
pub struct TickerJob {
    name: String,
    settings: Settings,
    fingerprint: String,
    status: Arc<watch::Sender<Status>>,
}

impl TickerJob {
    pub fn new(name: &str, settings: Settings, fingerprint: String) -> Self {
        TickerJob {
            name: name.to_string(),
            settings,
            fingerprint,
            status: Arc::new(watch::channel(Status::default()).0),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The per-database status, for the console and `skydeck status`.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }
}

/// What other parts of the engine see of a ticker job (through
/// [`Job::extra`]).
pub struct TickerView {
    pub settings: Settings,
    pub status: watch::Receiver<Status>,
}

impl Job for TickerJob {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "ticker"
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    fn extra(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        Some(Arc::new(TickerView {
            settings: self.settings.clone(),
            status: self.status.subscribe(),
        }))
    }

    fn run(self: Arc<Self>, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let backend =
                PgBackend::new(&self.settings.base_connstr, &self.settings.initial_database)
                    .map_err(JobError::Fatal)?;
            // Publish into our own channel, and mirror a summary into the
            // supervisor's job status.
            let (tx, mut rx) = watch::channel(Status::default());
            let mirror_to = self.status.clone();
            let mirror_ctx = ctx.clone();
            let mirror = tokio::spawn(async move {
                while rx.changed().await.is_ok() {
                    let st = rx.borrow_and_update().clone();
                    summarize(&mirror_ctx, &st);
                    mirror_to.send_replace(st);
                }
            });
            super::run(backend, self.settings.clone(), ctx.stop.clone(), tx).await;
            let _ = mirror.await;
            Ok(())
        })
    }
}

fn summarize(ctx: &JobContext, st: &Status) {
    let mut up = 0u64;
    let mut down = 0u64;
    let (mut ticks, mut retried, mut maint) = (0u64, 0u64, 0u64);
    let mut first_error: Option<String> = st.discovery_error.clone();
    for d in st.databases.values() {
        match &d.state {
            DbState::Ticking { .. } => up += 1,
            DbState::Down { error } => {
                down += 1;
                if first_error.is_none() {
                    first_error = Some(format!("{}: {error}", d.name));
                }
            }
            _ => {}
        }
        ticks += d.ticks;
        retried += d.retried_events;
        maint += d.maint_ops;
    }
    let dbs: Vec<String> = st.databases.keys().cloned().collect();
    ctx.report(|s| {
        s.databases = dbs;
        s.counters = vec![
            ("ticks".into(), ticks),
            ("retried".into(), retried),
            ("maint ops".into(), maint),
            ("dbs up".into(), up),
            ("dbs down".into(), down),
        ];
        s.last_error = first_error;
        s.phase = if up > 0 { Phase::Running } else { Phase::Idle };
    });
}
