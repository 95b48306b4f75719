//! The host form, end to end: what a host reads when the start time or a number can't be taken,
//! and how they get back to what they typed.

use super::wait::{dump, settled};
use crate::support::bot::*;
use crate::support::fake_discord::Recorded;
use chrono::{Days, LocalResult, NaiveDate, TimeZone as _, Utc};
use serde_json::{json, Value};

/// The next day (from tomorrow) whose 02:30 New York's clocks skip: within a year, always.
fn next_spring_forward() -> NaiveDate {
    let new_york = chrono_tz::America::New_York;
    let mut day = Utc::now().date_naive() + Days::new(1);
    while !matches!(
        new_york.from_local_datetime(&day.and_hms_opt(2, 30, 0).unwrap()),
        LocalResult::None
    ) {
        day = day + Days::new(1);
    }
    day
}

/// The mentor runs `/masterclass host` with `options`; returns the form's custom_id.
async fn open_form(bot: &TestBot, options: Value) -> String {
    let h = bot.command(MENTOR, "host", options).await;
    let modal = h.callback(T).await;
    assert_eq!(modal.body["type"], 9, "a form opens: {modal}");
    modal.body["data"]["custom_id"].as_str().unwrap().to_owned()
}

/// The mentor submits form `form_id` with `fields`; returns the bot's answer.
async fn submit(bot: &TestBot, form_id: &str, fields: &[(&str, &str)]) -> Recorded {
    bot.fake
        .interact(bot.fake.modal_submit(GENERAL, MENTOR, form_id, fields))
        .await
        .callback(T)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_the_clocks_skip_is_refused_with_the_jump() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let zone = json!([{"name": "time_zone", "type": 3, "value": "America/New_York"}]);
    let form_id = open_form(&bot, zone).await;
    let (rows, _) = settled(&bot).await;
    let day = next_spring_forward();
    let start = format!("{} 02:30", day.format("%Y-%m-%d"));
    let answer = submit(
        &bot,
        &form_id,
        &[
            ("title", "Spring forward"),
            ("description", "Mind the clocks"),
            ("start", &start),
        ],
    )
    .await;
    assert_eq!(answer.body["type"], 4, "{answer}");
    assert_eq!(answer.body["data"]["flags"], 64, "only the host sees it");
    assert_eq!(
        answer.body["data"]["content"],
        format!(
            "02:30 doesn't exist on {} in America/New_York: clocks jump from 02:00 to 03:00.",
            day.format("%-d %B")
        )
    );
    let button = &answer.body["data"]["components"][0]["components"][0];
    assert_eq!(
        button["label"], "Fix it",
        "the time can be corrected: {answer}"
    );
    assert_eq!(dump(&bot).await, rows, "nothing was stored");
}

/// The values of a form's text inputs, by custom_id, in order.
fn form_values(modal: &Value) -> Vec<(String, Option<String>)> {
    modal["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let input = &row["components"][0];
            (
                input["custom_id"].as_str().unwrap().to_owned(),
                input["value"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_in_the_form_is_fixed_without_retyping_the_rest() {
    let bot = spawn_bot().await;
    bot.admin_setup().await;
    let form_id = open_form(&bot, json!([])).await;
    let start = (Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%d 18:00")
        .to_string();
    let description = "Two hours of hands-on Rust.\nBring a laptop @everyone";
    let typed = [
        ("title", "Rust by example"),
        ("description", description),
        ("start", start.as_str()),
        ("duration", "5"),
        ("capacity", "12"),
    ];
    let refusal = submit(&bot, &form_id, &typed).await;
    assert_eq!(refusal.body["type"], 4, "{refusal}");
    let data = &refusal.body["data"];
    assert_eq!(data["flags"], 64, "only the host sees it");
    assert_eq!(
        data["content"],
        "The duration must be between 15 and 480 minutes."
    );
    assert_eq!(data["allowed_mentions"]["parse"], json!([]), "{refusal}");
    let button = &data["components"][0]["components"][0];
    assert_eq!(button["label"], "Fix it", "{refusal}");
    let fix_id = button["custom_id"].as_str().unwrap().to_owned();
    assert_eq!(
        fix_id,
        form_id.replace("mc:form:", "mc:fix:"),
        "the same draft"
    );

    // Someone else's click is refused and changes nothing.
    let (rows, _) = settled(&bot).await;
    let h = bot.click(MENTEE, &fix_id, 1).await;
    assert_eq!(bot.reply_text(&h).await, "That isn't yours to press.");
    assert_eq!(dump(&bot).await, rows, "nothing was stored");

    // The host's click reopens the same form with everything as typed.
    let h = bot.click(MENTOR, &fix_id, 1).await;
    let modal = h.callback(T).await;
    assert_eq!(modal.body["type"], 9, "a form opens: {modal}");
    assert_eq!(modal.body["data"]["custom_id"], form_id.as_str());
    let expected: Vec<(String, Option<String>)> = typed
        .iter()
        .map(|(id, value)| (id.to_string(), Some(value.to_string())))
        .collect();
    assert_eq!(form_values(&modal.body), expected);

    // Only the duration is corrected: the preview follows, with the rest as first typed.
    let mut corrected = typed;
    corrected[3] = ("duration", "90");
    let preview = submit(&bot, &form_id, &corrected).await;
    assert_eq!(preview.body["type"], 4, "{preview}");
    let data = &preview.body["data"];
    assert_eq!(data["embeds"][0]["title"], "Rust by example");
    assert_eq!(data["embeds"][0]["description"], description);
    assert_eq!(field(data, "Duration"), "90 min");
    assert_eq!(field(data, "Capacity"), "12");
    let save_id = data["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap();
    assert!(save_id.starts_with("mc:save:"), "{save_id}");
    assert_eq!(dump(&bot).await, rows, "nothing is stored before Save");
}
