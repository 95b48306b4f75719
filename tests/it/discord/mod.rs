//! User stories: the real bot against the fake Discord (see `support::bot`).

mod adapter_input;
mod cooldown;
mod direct;
mod durable;
mod host_form;
mod privacy;
mod replies;
mod stories;
mod wait;
