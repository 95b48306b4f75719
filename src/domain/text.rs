use super::UserError;

/// Characters that render as nothing: text made only of these is empty to a reader.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}'
                | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}'
        )
}

/// Trims, then checks length (in characters) and characters. `multiline` allows line breaks and tabs.
fn clean(field: &'static str, raw: &str, max: usize, multiline: bool) -> Result<String, UserError> {
    let normalized = raw.replace("\r\n", "\n");
    let text = normalized.trim_matches(is_invisible);
    if text.is_empty() {
        return Err(UserError::Empty { field });
    }
    let allowed_control = |c: char| multiline && (c == '\n' || c == '\t');
    if text.chars().any(|c| {
        (c.is_control() && !allowed_control(c))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }) {
        return Err(UserError::ControlCharacters { field });
    }
    let len = text.chars().count();
    if len > max {
        return Err(UserError::TooLong { field, len, max });
    }
    Ok(text.to_owned())
}

/// At most `max` characters, cut on a character boundary, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A count with its noun, "1 member" or "2 members": one rule for every answer that counts.
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal, $multiline:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, UserError> {
                clean($field, raw, $max, $multiline).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// A masterclass title: one line, 1–100 characters.
    Title, "title", 100, false
);
text_type!(
    /// A masterclass description: 1–1000 characters, line breaks allowed.
    Description, "description", 1000, true
);
text_type!(
    /// Why a masterclass was cancelled: 1–500 characters, told to every participant.
    CancelReason, "reason", 500, true
);
text_type!(
    /// What `/help` says about getting support on this server.
    SupportText, "support text", 1000, true
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_inner_text() {
        assert_eq!(
            Title::parse("  Rust async  ").unwrap().as_str(),
            "Rust async"
        );
    }

    #[test]
    fn zero_width_only_is_empty() {
        assert_eq!(
            Title::parse("\u{200B}\u{FEFF} \u{2060}"),
            Err(UserError::Empty { field: "title" })
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(Title::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            Title::parse(&"é".repeat(101)),
            Err(UserError::TooLong {
                field: "title",
                len: 101,
                max: 100
            })
        );
    }

    #[test]
    fn line_breaks_only_where_multiline() {
        assert_eq!(
            Title::parse("a\nb"),
            Err(UserError::ControlCharacters { field: "title" })
        );
        assert!(Description::parse("line one\r\nline two").is_ok());
        assert_eq!(
            Description::parse("bell\u{7}"),
            Err(UserError::ControlCharacters {
                field: "description"
            })
        );
    }

    #[test]
    fn plural_picks_the_noun_by_count() {
        assert_eq!(plural(0u32, "member", "members"), "0 members");
        assert_eq!(plural(1u32, "member", "members"), "1 member");
        assert_eq!(plural(2u64, "try", "tries"), "2 tries");
    }

    #[test]
    fn bidi_overrides_are_refused() {
        assert!(Title::parse("abc\u{202E}def").is_err());
    }
}
