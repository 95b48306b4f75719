//! The use cases on a real SQLite file: rules, outbox rows, queries, concurrency, bad input.

mod bad_input;
mod concurrency;
mod lifecycle;
mod plans;
mod privacy;
mod queries;
mod settings;
