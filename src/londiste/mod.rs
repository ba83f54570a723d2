//! Londiste: table and sequence replication over a cascaded queue
//! (spec §5).
//!
//! * `replay.rs` — applying a batch's row events to local tables: merged per
//!   primary key and applied set-based, exact order where it matters.
//! * `copy.rs` — the initial copy of one table: binary COPY streamed from
//!   the source, large tables split into CTID ranges under one exported
//!   snapshot, indexes built after the data, live progress.
//! * `execute.rs` — EXECUTE scripts: header attributes, statement
//!   splitting, `@table@` renaming, run on the root and replayed below.

pub mod admin;
pub mod compare;
pub mod copy;
pub mod dispatch;
pub mod execute;
pub mod handler;
pub mod obfuscate;
pub mod replay;
pub mod sql;
pub mod worker;
