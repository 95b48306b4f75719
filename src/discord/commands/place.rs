//! Where a masterclass meets, as `/masterclass host` and `/masterclass edit` read it.

use super::Error;
use crate::domain::{Caller, ChannelId, Location, UserError};
use poise::serenity_prelude as serenity;

/// The place named by a command's `channel` and `link` options: a voice or stage channel of the
/// caller's server, or an http(s) link; neither keeps (or leaves) it unset.
///
/// Discord's picker offers only voice and stage channels, but that is a client-side filter: an
/// interaction can carry any channel id, even another server's. So the rule is checked here,
/// once for every command that takes a place.
pub fn place(
    caller: &Caller,
    channel: Option<serenity::GuildChannel>,
    link: Option<String>,
) -> Result<Option<Location>, Error> {
    match (channel, link) {
        (Some(_), Some(_)) => Err(UserError::TwoLocations.into()),
        (Some(channel), None) => {
            let voice = matches!(
                channel.kind,
                serenity::ChannelType::Voice | serenity::ChannelType::Stage
            );
            if !voice || channel.guild_id.get() != caller.guild_id.0 {
                return Err(UserError::BadLocation.into());
            }
            Ok(Some(Location::Channel(ChannelId(channel.id.get()))))
        }
        (None, Some(link)) => Ok(Some(Location::url(&link)?)),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{GuildId, UserId};
    use poise::serenity_prelude::ChannelType;

    const GUILD: u64 = 10;

    fn caller() -> Caller {
        Caller {
            guild_id: GuildId(GUILD),
            user_id: UserId(1),
            role_ids: Vec::new(),
            is_admin: false,
        }
    }

    fn channel(id: u64, guild: u64, kind: ChannelType) -> Option<serenity::GuildChannel> {
        let mut channel = serenity::GuildChannel::default();
        channel.id = serenity::ChannelId::new(id);
        channel.guild_id = serenity::GuildId::new(guild);
        channel.kind = kind;
        Some(channel)
    }

    fn refusal(result: Result<Option<Location>, Error>) -> Option<UserError> {
        match result {
            Err(Error::User(refusal)) => Some(refusal),
            _ => None,
        }
    }

    #[test]
    fn a_voice_or_stage_channel_of_this_server_is_a_place() {
        for kind in [ChannelType::Voice, ChannelType::Stage] {
            let place = place(&caller(), channel(5, GUILD, kind), None).unwrap();
            assert_eq!(place, Some(Location::Channel(ChannelId(5))));
        }
    }

    #[test]
    fn a_text_channel_or_another_servers_channel_is_refused() {
        let text = place(&caller(), channel(5, GUILD, ChannelType::Text), None);
        assert_eq!(refusal(text), Some(UserError::BadLocation));
        let elsewhere = place(&caller(), channel(5, GUILD + 1, ChannelType::Voice), None);
        assert_eq!(refusal(elsewhere), Some(UserError::BadLocation));
    }

    #[test]
    fn a_link_is_read_by_the_domain_and_two_places_are_refused() {
        let link = place(&caller(), None, Some("https://meet.example.org/a".into())).unwrap();
        assert_eq!(link, Location::url("https://meet.example.org/a").ok());
        let bad = place(&caller(), None, Some("javascript:alert(1)".into()));
        assert_eq!(refusal(bad), Some(UserError::BadLocation));
        let both = place(
            &caller(),
            channel(5, GUILD, ChannelType::Voice),
            Some("https://meet.example.org/a".into()),
        );
        assert_eq!(refusal(both), Some(UserError::TwoLocations));
        assert_eq!(place(&caller(), None, None).unwrap(), None);
    }
}
