//! The daemon host: the supervisor that runs a deck's jobs as tokio tasks,
//! and the headless process around it (`skydeck --daemon`): logging,
//! pidfile, signals, status file.

pub mod cascades;
pub mod control;
pub mod host;
pub mod logging;
pub mod pidfile;
pub mod run;
pub mod supervisor;
pub mod tables;
pub mod wal;

pub use supervisor::{
    Job, JobContext, JobError, JobFuture, JobStatus, Phase, Policy, ReloadReport, Supervisor,
};
