//! The Discord adapter: poise commands, buttons and modals, and the Discord objects that mirror a
//! masterclass (announcement, thread, scheduled event). Commands are thin: parse, call the
//! service, render.

mod cache;
mod commands;
mod components;
pub mod delivery;
mod error;
mod flows;
mod pending;
mod render;
mod reply;
pub mod sync;

pub use error::Error;

use crate::config::DiscordSettings;
use crate::service::Service;
use poise::serenity_prelude as serenity;
use std::sync::Arc;
use tokio::sync::Notify;
use tracing::Instrument as _;

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
    /// The sync worker says here which masterclass it brought in step (Save links the result).
    pub published: tokio::sync::broadcast::Sender<crate::domain::MasterclassId>,
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
    published: tokio::sync::broadcast::Sender<crate::domain::MasterclassId>,
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
                    published,
                })
            })
        })
        .build();
    // Only non-privileged intents: the bot needs interactions and guild data, no message content.
    let client =
        serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::non_privileged())
            .framework(Traced(framework))
            .await?;
    Ok(client)
}

/// poise's framework, with everything it does for one interaction (command, autocomplete, button,
/// form, `on_error` included) inside one span: a single log search on the interaction id (or the
/// user, or the command) follows a click from the gateway to the database and Discord.
struct Traced(poise::Framework<Data, Error>);

#[serenity::async_trait]
impl serenity::Framework for Traced {
    async fn init(&mut self, client: &serenity::Client) {
        self.0.init(client).await;
    }

    async fn dispatch(&self, ctx: serenity::Context, event: serenity::FullEvent) {
        let Some(span) = interaction_span(&event) else {
            return self.0.dispatch(ctx, event).await;
        };
        let started = std::time::Instant::now();
        async {
            self.0.dispatch(ctx, event).await;
            // Handlers log only what goes wrong; this line says the interaction was seen at all.
            let elapsed_ms = started.elapsed().as_millis() as u64;
            tracing::debug!(elapsed_ms, "interaction handled");
        }
        .instrument(span)
        .await;
    }
}

/// The span of an interaction; `None` for every other event (and Discord's pings).
fn interaction_span(event: &serenity::FullEvent) -> Option<tracing::Span> {
    let serenity::FullEvent::InteractionCreate { interaction } = event else {
        return None;
    };
    let (kind, id, guild, user) = match interaction {
        serenity::Interaction::Command(i) => ("command", i.id, i.guild_id, i.user.id),
        serenity::Interaction::Autocomplete(i) => ("autocomplete", i.id, i.guild_id, i.user.id),
        serenity::Interaction::Component(i) => ("component", i.id, i.guild_id, i.user.id),
        serenity::Interaction::Modal(i) => ("modal", i.id, i.guild_id, i.user.id),
        _ => return None,
    };
    // Snowflakes as text: log collectors would round them as JSON numbers.
    let span = tracing::info_span!(
        "interaction",
        interaction = %id,
        kind,
        guild = guild.map(tracing::field::display),
        user = %user,
        command = tracing::field::Empty,
        custom_id = tracing::field::Empty,
    );
    match interaction {
        serenity::Interaction::Command(i) | serenity::Interaction::Autocomplete(i) => {
            span.record("command", command_name(&i.data));
        }
        serenity::Interaction::Component(i) => {
            span.record("custom_id", i.data.custom_id.as_str());
        }
        serenity::Interaction::Modal(i) => {
            span.record("custom_id", i.data.custom_id.as_str());
        }
        _ => {}
    }
    Some(span)
}

/// The full name of an invoked command, subcommand group and subcommand included
/// (`masterclass-admin channel`), as poise's `qualified_name` spells it.
fn command_name(data: &serenity::CommandData) -> String {
    let mut name = data.name.clone();
    let mut options = &data.options;
    while let Some((sub, inner)) = options.iter().find_map(|option| match &option.value {
        serenity::CommandDataOptionValue::SubCommand(inner)
        | serenity::CommandDataOptionValue::SubCommandGroup(inner) => {
            Some((option.name.as_str(), inner))
        }
        _ => None,
    }) {
        name.push(' ');
        name.push_str(sub);
        options = inner;
    }
    name
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
