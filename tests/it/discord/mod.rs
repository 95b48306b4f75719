//! User stories: the real bot against the fake Discord (see `support::bot`).

mod adapter_input;
mod direct;
mod durable;
mod host_form;
mod replies;
mod stories;
mod wait;
