//! skydeck's terminal console. It renders [`model::Snapshot`]s handed to it
//! and emits [`model::Action`]s; it holds no database connection and knows
//! nothing about PostgreSQL.

pub mod model;
