pub mod bot;
pub mod fake_discord;
pub mod ics;
pub mod log;
pub mod smtp;
