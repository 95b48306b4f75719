//! The Discord adapter: poise commands, buttons and modals, and the Discord objects that mirror a
//! masterclass (announcement, thread, scheduled event). Commands are thin: parse, call the
//! service, render.

mod commands;
mod components;
pub mod delivery;
mod error;
mod flows;
mod pending;
mod render;
pub mod sync;

pub use error::Error;

use crate::config::DiscordSettings;
use crate::service::Service;
use poise::serenity_prelude as serenity;
use std::sync::Arc;
use tokio::sync::Notify;

/// What every handler can reach.
pub struct Data {
    pub service: Service,
    /// Previews and cancel confirmations waiting for a click: in memory, as nothing is stored
    /// before Save.
    pub pending: pending::Pending,
    /// Wakes the notification worker when a change wrote notifications.
    pub wake_worker: Arc<Notify>,
    /// Wakes the sync worker when a change affects what Discord shows.
    pub wake_sync: Arc<Notify>,
}

impl Data {
    /// A change was committed: its notifications and Discord objects are due now.
    pub fn changed(&self) {
        self.wake_worker.notify_one();
        self.wake_sync.notify_one();
    }
}

pub type Ctx<'a> = poise::Context<'a, Data, Error>;

/// Builds the serenity client with the poise framework; `start()` it to connect.
pub async fn client(
    settings: &DiscordSettings,
    service: Service,
    wake_worker: Arc<Notify>,
    wake_sync: Arc<Notify>,
) -> anyhow::Result<serenity::Client> {
    let http = http(settings);
    let dev_guild =
        (settings.dev_guild_id != 0).then(|| serenity::GuildId::new(settings.dev_guild_id));
    let options = poise::FrameworkOptions {
        commands: commands::all(),
        on_error: |error| Box::pin(error::on_error(error)),
        event_handler: |framework, event| Box::pin(components::on_event(framework, event)),
        // Nothing the bot says pings anyone unless a message opts in explicitly.
        allowed_mentions: Some(serenity::CreateAllowedMentions::new()),
        ..Default::default()
    };
    let framework = poise::Framework::builder()
        .options(options)
        .initialize_owners(false)
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                let commands = &framework.options().commands;
                match dev_guild {
                    Some(guild) => poise::builtins::register_in_guild(ctx, commands, guild).await?,
                    None => poise::builtins::register_globally(ctx, commands).await?,
                }
                tracing::info!(bot = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
                Ok(Data {
                    service,
                    pending: pending::Pending::default(),
                    wake_worker,
                    wake_sync,
                })
            })
        })
        .build();
    // Only non-privileged intents: the bot needs interactions and guild data, no message content.
    let client =
        serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::non_privileged())
            .framework(framework)
            .await?;
    Ok(client)
}

/// The REST client. Behind a proxy, the proxy enforces Discord's rate limits, and serenity's own
/// ratelimiter must be off (it would bypass the proxy: serenity#1739).
pub fn http(settings: &DiscordSettings) -> serenity::Http {
    let builder = serenity::HttpBuilder::new(settings.token.expose());
    let proxy = settings.api_proxy.trim();
    if proxy.is_empty() {
        builder.build()
    } else {
        builder.proxy(proxy).ratelimiter_disabled(true).build()
    }
}
