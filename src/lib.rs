//! masterclass-bot: mentors host masterclasses on Discord, members join them.

pub mod app;
pub mod calendar;
pub mod config;
pub mod discord;
pub mod domain;
pub mod email;
pub mod jobs;
pub mod notify;
pub mod retry;
pub mod service;
pub mod store;
pub mod telemetry;
