//! The builders of every answer to a button or a form: ephemeral where new, and pinging nobody
//! whatever the text says (answers echo titles, reasons and names that may hold `@everyone`).
//! Commands answer through `commands::answer`, which does the same.

use poise::serenity_prelude as serenity;
use serenity::{CreateAllowedMentions, CreateInteractionResponseMessage, EditInteractionResponse};

/// A new message only the clicking member sees.
pub fn private() -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .ephemeral(true)
        .allowed_mentions(CreateAllowedMentions::new())
}

/// A new content for the message that was clicked.
pub fn update() -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new().allowed_mentions(CreateAllowedMentions::new())
}

/// The answer, once the interaction was acknowledged.
pub fn edit() -> EditInteractionResponse {
    EditInteractionResponse::new().allowed_mentions(CreateAllowedMentions::new())
}
