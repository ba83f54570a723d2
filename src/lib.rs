//! skydeck: Skytools 3 (PgQ, cascaded queues, Londiste, pgqd, walmgr,
//! qadmin) rebuilt in Rust. This crate is the engine and the `skydeck`
//! binary; see ARCHITECTURE.md for the parts and how data flows.

pub mod bench;
pub mod cascade;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod daemon;
pub mod db;
pub mod fmt;
pub mod install;
pub mod londiste;
pub mod pgq;
pub mod ticker;
pub mod walmgr;
