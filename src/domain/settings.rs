use super::{Capacity, ChannelId, GuildId, RoleId, UserError, UserId};
use sha2::{Digest, Sha256};
use std::str::FromStr;

/// An IANA time zone such as `Europe/Paris`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub const UTC: TimeZone = TimeZone(chrono_tz::UTC);

    pub fn parse(name: &str) -> Result<Self, UserError> {
        let name = name.trim();
        chrono_tz::Tz::from_str(name)
            .ok()
            .or_else(|| {
                let found = chrono_tz::TZ_VARIANTS
                    .iter()
                    .find(|tz| tz.name().eq_ignore_ascii_case(name));
                found.copied()
            })
            .map(Self)
            .ok_or_else(|| UserError::UnknownTimeZone(name.chars().take(60).collect()))
    }
    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }
    pub fn name(self) -> &'static str {
        self.0.name()
    }
    /// Zone names containing `fragment` (case-insensitive), for autocomplete.
    pub fn search(fragment: &str, limit: usize) -> Vec<&'static str> {
        let fragment = fragment.trim().to_lowercase();
        chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| tz.name())
            .filter(|name| name.to_lowercase().contains(&fragment))
            .take(limit)
            .collect()
    }
}

/// When reminders go out, in minutes before the start, largest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderOffsets(Vec<u32>);

impl ReminderOffsets {
    const MAX_MINUTES: u32 = 14 * 24 * 60;

    pub fn new(mut minutes: Vec<u32>) -> Result<Self, UserError> {
        minutes.sort_unstable_by(|a, b| b.cmp(a));
        minutes.dedup();
        let valid = (1..=5).contains(&minutes.len())
            && minutes.iter().all(|m| (1..=Self::MAX_MINUTES).contains(m));
        if valid {
            Ok(Self(minutes))
        } else {
            Err(UserError::BadReminderOffsets)
        }
    }

    /// Reads `24h, 15m`, `1d 2h` or plain minutes `90`.
    pub fn parse(text: &str) -> Result<Self, UserError> {
        let parse_one = |item: &str| -> Option<u32> {
            let item = item.trim().to_lowercase();
            let (number, unit) = item.split_at(item.find(|c: char| !c.is_ascii_digit())?);
            let number: u32 = number.parse().ok()?;
            let factor = match unit.trim() {
                "m" | "min" | "mins" | "minutes" => 1,
                "h" | "hour" | "hours" => 60,
                "d" | "day" | "days" => 24 * 60,
                _ => return None,
            };
            number.checked_mul(factor)
        };
        let minutes = text
            .split(',')
            .map(|item| match item.trim().parse::<u32>() {
                Ok(plain) => Some(plain),
                Err(_) => parse_one(item),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(UserError::BadReminderOffsets)?;
        Self::new(minutes)
    }

    pub fn minutes(&self) -> &[u32] {
        &self.0
    }

    /// `24h, 15m` — how the offsets read back to an admin.
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|&m| match m {
                m if m % 1440 == 0 => format!("{}d", m / 1440),
                m if m % 60 == 0 => format!("{}h", m / 60),
                m => format!("{m}m"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Default for ReminderOffsets {
    fn default() -> Self {
        Self(vec![24 * 60, 15])
    }
}

/// What a server decided about masterclasses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuildSettings {
    pub guild_id: GuildId,
    pub enabled: bool,
    pub host_role_id: Option<RoleId>,
    pub announcement_channel_id: Option<ChannelId>,
    pub default_capacity: Capacity,
    pub reminder_offsets: ReminderOffsets,
    pub time_zone: TimeZone,
    pub support_text: Option<String>,
    pub public_threads: bool,
}

impl GuildSettings {
    /// A server that never touched the settings: masterclasses off.
    pub fn defaults(guild_id: GuildId) -> Self {
        Self {
            guild_id,
            enabled: false,
            host_role_id: None,
            announcement_channel_id: None,
            default_capacity: Capacity::new(40).expect("40 is a valid capacity"),
            reminder_offsets: ReminderOffsets::default(),
            time_zone: TimeZone::UTC,
            support_text: None,
            public_threads: false,
        }
    }
}

/// A member's own preferences (the same in every server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSettings {
    pub user_id: UserId,
    pub time_zone: Option<TimeZone>,
    pub dm_enabled: bool,
    pub email_enabled: bool,
    /// Only a verified address is ever mailed.
    pub email: Option<EmailAddress>,
    pub pending_email: Option<EmailAddress>,
}

impl MemberSettings {
    pub fn defaults(user_id: UserId) -> Self {
        Self {
            user_id,
            time_zone: None,
            dm_enabled: true,
            email_enabled: true,
            email: None,
            pending_email: None,
        }
    }

    /// The address to mail, if the member wants email and has verified one.
    pub fn email_to_use(&self) -> Option<&EmailAddress> {
        self.email.as_ref().filter(|_| self.email_enabled)
    }
}

/// A syntactically plausible email address. Whether it is the member's is proven by a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let raw = raw.trim();
        let bad = || UserError::BadEmail(raw.chars().take(80).collect());
        let (local, domain) = raw.rsplit_once('@').ok_or_else(bad)?;
        let plausible = !local.is_empty()
            && local.len() <= 64
            && raw.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && local
                .chars()
                .all(|c| c.is_ascii_graphic() && !"<>()[]\\,;:\"@".contains(c))
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if plausible {
            Ok(Self(raw.to_owned()))
        } else {
            Err(bad())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const CODE_LIFETIME_MINUTES: i64 = 30;
pub const MAX_CODE_FAILURES: u32 = 5;
pub const MAX_CODES_PER_HOUR: i64 = 3;

/// A 6-digit email verification code. The member's settings keep only its hash; the code itself
/// lives only in its outbox row until the email is sent (or given up), then it is scrubbed. It
/// never goes into a log or an email subject, and `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl VerificationCode {
    pub fn generate() -> Self {
        use rand::Rng;
        Self(format!("{:06}", rand::thread_rng().gen_range(0..1_000_000)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerificationCode(******)")
    }
}

/// Salted with the user id so equal codes of two members hash differently.
pub fn hash_code(user: UserId, code: &str) -> String {
    let digest = Sha256::digest(format!("{user}:{}", code.trim()));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_and_sort() {
        let offsets = ReminderOffsets::parse("15m, 24h").unwrap();
        assert_eq!(offsets.minutes(), &[1440, 15]);
        assert_eq!(offsets.describe(), "1d, 15m");
        assert!(ReminderOffsets::parse("").is_err());
        assert!(ReminderOffsets::parse("15 parsecs").is_err());
        assert!(ReminderOffsets::parse("30d").is_err());
    }

    #[test]
    fn zones() {
        assert_eq!(
            TimeZone::parse("europe/paris").unwrap().name(),
            "Europe/Paris"
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::search("paris", 25).contains(&"Europe/Paris"));
    }

    #[test]
    fn emails() {
        assert!(EmailAddress::parse("ada@example.org").is_ok());
        for bad in [
            "ada",
            "ada@localhost",
            "a b@example.org",
            "@example.org",
            "ada@ex..",
            "<a>@x.org",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn code_hash_is_salted() {
        assert_ne!(
            hash_code(UserId(1), "123456"),
            hash_code(UserId(2), "123456")
        );
        assert_eq!(VerificationCode::generate().as_str().len(), 6);
    }
}
