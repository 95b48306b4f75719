//! Every answer the bot gives pings nobody, whatever text it echoes (titles, reasons and names
//! may hold `@everyone` or a role mention).

use crate::support::bot::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_can_ping_anyone() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let hosted = bot.host("@everyone come", 10, &[GUEST_A]).await;
    let pick = json!([{"name": "masterclass", "type": 3, "value": hosted.masterclass}]);
    for (user, custom_id) in [
        (MENTEE, format!("mc:join:{}", hosted.masterclass)),
        (MENTEE, format!("mc:who:{}", hosted.masterclass)),
        (MENTEE, format!("mc:ics:{}", hosted.masterclass)),
        (MENTEE, "mc:forged".to_owned()),
    ] {
        let h = bot.click(user, &custom_id, hosted.message_id).await;
        bot.reply_text(&h).await;
    }
    for (user, sub, options) in [
        (MENTEE, "list", json!([])),
        (MENTEE, "participants", pick.clone()),
        (MENTEE, "leave", pick.clone()),
        (MENTEE, "sessions", json!([])),
    ] {
        let h = bot.command(user, sub, options).await;
        bot.reply_text(&h).await;
    }
    let reason = json!({"name": "reason", "type": 3, "value": "<@&123> @here sorry"});
    let mut options = pick.as_array().unwrap().clone();
    options.push(reason);
    let h = bot.command(MENTOR, "cancel", json!(options)).await;
    let confirm = h.callback(T).await;
    let keep = confirm.body["data"]["components"][0]["components"][1]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let h = bot.click(MENTOR, &keep, 1).await;
    bot.reply_text(&h).await;
    let save = bot.preview("Another", 5, &[]).await;
    let h = bot
        .click(MENTOR, &save.replace("mc:save:", "mc:discard:"), 1)
        .await;
    bot.reply_text(&h).await;

    let mut checked = 0;
    for r in bot.fake.requests() {
        let answer = if r.is("POST", "/interactions/*/*/callback") {
            match r.body["type"].as_u64() {
                Some(4 | 7) => &r.body["data"],
                _ => continue, // deferrals, forms and autocomplete say nothing
            }
        } else if r.is("PATCH", "/webhooks/*/*/messages/@original") || r.is("POST", "/webhooks/*/*")
        {
            &r.body
        } else {
            continue;
        };
        checked += 1;
        assert_eq!(answer["allowed_mentions"]["parse"], json!([]), "{r}");
        assert!(
            answer["allowed_mentions"]["users"]
                .as_array()
                .is_none_or(|users| users.is_empty()),
            "{r}"
        );
    }
    assert!(checked >= 15, "only {checked} answers seen");
}
