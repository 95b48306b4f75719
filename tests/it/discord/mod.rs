//! User stories: the real bot against the fake Discord (see `support::bot`).

mod durable;
mod stories;
