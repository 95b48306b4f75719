//! Member settings and help in a DM with the bot: settings are the same in every server, and
//! an email address is more private typed there.

use crate::support::bot::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_set_their_email_and_read_help_in_a_dm() {
    let bot = spawn_bot().await;
    let dm = bot.fake.dm_channel_id(MENTEE);
    let address = json!([{"name": "address", "type": 3, "value": "mentee@example.org"}]);
    let h = bot
        .command_in(dm, MENTEE, "settings", "email set", address)
        .await;
    let answer = bot.reply_text(&h).await;
    assert!(answer.starts_with("I've sent a 6-digit code"), "{answer}");
    let codes = "SELECT COUNT(*) FROM outbox WHERE kind = 'verification_code'";
    assert_eq!(bot.count(codes).await, 1, "the code is on its way");
    let wrong = json!([{"name": "code", "type": 3, "value": "000000"}]);
    let h = bot
        .command_in(dm, MENTEE, "settings", "email verify", wrong)
        .await;
    let refusal = bot.reply_text(&h).await;
    assert!(refusal.contains("isn't right"), "{refusal}");

    let h = bot.command_in(dm, MENTEE, "help", "", json!([])).await;
    let help = bot.reply_text(&h).await;
    assert!(
        help.contains("Masterclasses") && help.ends_with("ask a server admin."),
        "{help}"
    );
}
