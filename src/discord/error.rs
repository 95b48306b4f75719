//! What the user sees when something goes wrong: refusals verbatim, faults as an apology with a
//! reference that is also in the log.

use super::Data;
use poise::serenity_prelude as serenity;

/// The error of every handler is the use cases' own: a refusal the user reads, or a fault.
pub use crate::service::Error;

/// A failed Discord request is a fault on our side as far as the user is concerned.
impl From<serenity::Error> for Error {
    fn from(error: serenity::Error) -> Self {
        Error::Internal(anyhow::Error::new(error).context("Discord request failed"))
    }
}

/// The sentence for the user. Internal errors are logged here, with a reference to quote.
pub fn user_message(error: &Error, what: &str) -> String {
    match error {
        Error::User(refusal) => refusal.to_string(),
        Error::Internal(error) => {
            let reference = format!("{:08x}", rand::random::<u32>());
            tracing::error!(%reference, what, error = format!("{error:#}"), "internal error");
            format!(
                "Sorry, something went wrong on my side (reference `{reference}`). \
                 Please try again; if it keeps happening, tell a server admin."
            )
        }
    }
}

pub async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            let text = user_message(&error, &format!("/{}", ctx.command().qualified_name));
            tell(ctx, text).await;
        }
        poise::FrameworkError::CommandPanic { payload, ctx, .. } => {
            let error = Error::Internal(anyhow::anyhow!(
                "panicked: {}",
                payload.as_deref().unwrap_or("(no message)")
            ));
            let text = user_message(&error, &format!("/{}", ctx.command().qualified_name));
            tell(ctx, text).await;
        }
        poise::FrameworkError::ArgumentParse { error, ctx, .. } => {
            tell(ctx, format!("I couldn't read that option: {error}")).await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!(error = %e, "error while handling an error");
            }
        }
    }
}

/// Answers the command with `text`, as an edit if it was deferred.
async fn tell(ctx: super::Ctx<'_>, text: String) {
    let reply = poise::CreateReply::default().content(text);
    if let Err(e) = super::commands::answer(ctx, reply).await {
        tracing::warn!(error = %e, "could not tell the user about an error");
    }
}
