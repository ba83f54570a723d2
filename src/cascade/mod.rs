//! Cascaded queues (spec §4): the pgq_node API from Rust, the worker that
//! moves batches down the cascade, and the administration commands
//! (create nodes, change providers, switchover and failover …).

pub mod admin;
pub mod node;
pub mod worker;

pub use node::{CascadeError, ConsumerState, Location, NodeInfo, Rc, Subscriber};
pub use worker::{
    settings_from_job, Applier, BoxFuture, CascadeView, CascadeWorker, Prepare, Ready,
    WorkerSettings,
};
