//! Configuration: `config/default.toml` < `config/local.toml` < `MCB_*` environment variables
//! (`MCB_DISCORD__TOKEN` sets `discord.token`). `.env` is loaded first, so it feeds the environment.

use anyhow::Context as _;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// A value that must never reach a log.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub discord: DiscordSettings,
    pub database: DatabaseSettings,
    pub email: EmailSettings,
    pub notifications: NotificationSettings,
    pub log: LogSettings,
    pub retention: RetentionSettings,
}

/// How long finished notifications and the activity log are kept; 0 keeps them for ever.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    pub outbox_days: u32,
    pub activity_days: u32,
}

impl RetentionSettings {
    pub fn retention(self) -> crate::service::Retention {
        let kept = |days: u32| (days > 0).then_some(days);
        crate::service::Retention {
            outbox_days: kept(self.outbox_days),
            activity_days: kept(self.activity_days),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordSettings {
    pub token: Secret,
    /// 0: register commands globally.
    pub dev_guild_id: u64,
    /// Empty: talk to discord.com.
    pub api_proxy: String,
    /// The pace of all the bot's REST requests but interaction answers, below Discord's 50/s.
    pub max_requests_per_second: f64,
    /// A masterclass's thread is archived (not locked) this long after its end.
    pub archive_threads_after_hours: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub path: PathBuf,
    pub max_readers: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettings {
    pub poll_interval_seconds: u64,
    /// After a join told to its host at once, later sign-up changes within this many minutes go
    /// out as one message; 0 tells every join at once.
    pub host_digest_minutes: u32,
    /// A notification that keeps failing (an SMTP outage, Discord errors or rate limits) is
    /// retried this long after its first failed attempt, then given up and reported.
    pub give_up_after_hours: u64,
    /// Attempts before a masterclass's Discord side (announcement, thread, event) is given up
    /// until its next change. Notifications retry for `give_up_after_hours` instead.
    pub max_attempts: u32,
    pub backoff_base_seconds: u64,
    pub backoff_max_seconds: u64,
    pub batch_size: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A tracing filter such as `info` or `masterclass_bot=debug,info`.
    pub filter: String,
    /// How each line is written; absent means `pretty`, so older config files still load.
    #[serde(default, deserialize_with = "log_format")]
    pub format: LogFormat,
}

/// `pretty` for people reading a terminal, `json` (one object a line, span fields included)
/// for log collectors.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

/// serde's own message ("unknown variant") hides the choices; any value that is not a format
/// (`1`, `"xml"`) gets this one. [`one_line`] adds the setting and its environment variable.
fn log_format<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<LogFormat, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    LogFormat::deserialize(&value).map_err(|_| {
        serde::de::Error::custom(format!(
            "{value} is not a log format: use \"pretty\" or \"json\""
        ))
    })
}

impl Settings {
    /// Reads the configuration from `dir` (normally `./config`) and the environment.
    pub fn load(dir: &Path) -> anyhow::Result<Settings> {
        let default = dir.join("default.toml");
        anyhow::ensure!(
            default.exists(),
            "configuration file {} is missing",
            default.display()
        );
        Figment::new()
            .merge(Toml::file(default))
            .merge(Toml::file(dir.join("local.toml")))
            .merge(Env::prefixed("MCB_").split("__"))
            .extract()
            .map_err(|error| anyhow::anyhow!("{}", one_line(&error)))
            .context("invalid configuration")
    }
}

/// figment reports every problem; the first, with the setting it concerns and the environment
/// variable that sets it (the value may come from either), is what a person needs.
fn one_line(error: &figment::Error) -> String {
    let first = error.clone().into_iter().next();
    match first {
        Some(e) if !e.path.is_empty() => format!(
            "setting `{}` ({}): {}",
            e.path.join("."),
            env_var(&e.path),
            e.kind
        ),
        Some(e) => e.kind.to_string(),
        None => error.to_string(),
    }
}

/// `email.smtp_port` is set by `MCB_EMAIL__SMTP_PORT` (see [`Settings::load`]).
fn env_var(path: &[String]) -> String {
    format!("MCB_{}", path.join("__").to_uppercase())
}

/// How the connection to the SMTP server is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Implicit TLS from the first byte (usually port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, required (usually port 587).
    Starttls,
    /// No encryption at all: tests and local relays only.
    Plain,
}

/// How the bot reaches an SMTP server (the `[email]` config section).
/// Every field has a default, so a missing section means "write files".
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    /// Empty: no SMTP, emails are written as `.eml` files into `outbox_dir`.
    pub smtp_host: String,
    /// 0: the usual port for `smtp_security` (465 tls, 587 starttls, 25 plain).
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    /// Empty: no authentication.
    pub smtp_username: String,
    pub smtp_password: Secret,
    /// "Masterclass Bot <bot@example.org>"
    pub from: String,
    /// Empty: no Reply-To header.
    pub reply_to: String,
    pub outbox_dir: PathBuf,
    /// At most this many SMTP sessions at once (and idle in the pool).
    pub pool_max_size: u32,
    /// Connect and per-command timeout.
    pub timeout_seconds: u64,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            smtp_host: String::new(),
            smtp_port: 0,
            smtp_security: SmtpSecurity::Starttls,
            smtp_username: String::new(),
            smtp_password: Secret::default(),
            from: "Masterclass Bot <masterclass-bot@localhost>".to_owned(),
            reply_to: String::new(),
            outbox_dir: PathBuf::from("data/mail"),
            pool_max_size: 4,
            timeout_seconds: 30,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Settings;

    fn load_error(default_toml: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("default.toml"), default_toml).unwrap();
        format!("{:#}", Settings::load(dir.path()).unwrap_err())
    }

    #[test]
    fn a_bad_value_names_the_setting_and_its_environment_variable() {
        let error = load_error("[email]\nsmtp_port = \"twenty-five\"\n");
        assert!(
            error.starts_with(
                "invalid configuration: setting `email.smtp_port` (MCB_EMAIL__SMTP_PORT): \
                 invalid type"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_bad_log_format_says_which_formats_exist() {
        let error = load_error("[log]\nformat = \"xml\"\n");
        assert!(
            error.ends_with(
                "setting `log.format` (MCB_LOG__FORMAT): \"xml\" is not a log format: \
                 use \"pretty\" or \"json\""
            ),
            "{error}"
        );
    }
}
