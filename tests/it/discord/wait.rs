//! Waiting on the fake Discord's request log, and proving that nothing changed.
//!
//! Only the `Recorded` handed in is read inside a `wait_for` predicate: the fake holds its lock
//! while the predicate runs, so calling back into `bot.fake` there would deadlock.

use crate::support::bot::{TestBot, T};
use crate::support::fake_discord::{Method, Recorded};
use std::time::Duration;

/// The first `method` request on `route` (`*` matches one segment) recorded at or after `since`
/// (a `fake.mark()`), past or future; `what` names it if it never comes.
pub async fn wait_request(
    bot: &TestBot,
    what: &str,
    method: &str,
    route: &str,
    since: usize,
) -> Recorded {
    bot.fake
        .wait_for(what, |r| r.seq >= since && r.is(method, route), T)
        .await
}

/// Every row of every table of the bot's database, as text: equal dumps, nothing changed.
pub async fn dump(bot: &TestBot) -> Vec<String> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(bot.dir.path().join("bot.db"))
        .read_only(true);
    let mut conn = sqlx::ConnectOptions::connect(&options).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let row = columns
            .iter()
            .map(|c| format!("quote({c})"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let sql = format!("SELECT {row} FROM {table} ORDER BY 1");
        let found: Vec<String> = sqlx::query_scalar(&sql).fetch_all(&mut conn).await.unwrap();
        rows.extend(found.into_iter().map(|r| format!("{table}: {r}")));
    }
    rows
}

/// The database once the workers are done, and the request mark from then on: two looks a
/// quarter of a second apart see the same rows and no new request.
pub async fn settled(bot: &TestBot) -> (Vec<String>, usize) {
    let deadline = tokio::time::Instant::now() + T;
    let (mut rows, mut mark) = (dump(bot).await, bot.fake.mark());
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (now_rows, now_mark) = (dump(bot).await, bot.fake.mark());
        if now_rows == rows && now_mark == mark {
            return (rows, mark);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot never settled\n{}",
            bot.fake.dump()
        );
        (rows, mark) = (now_rows, now_mark);
    }
}

/// What the bot asked Discord to change since `mark`: every request but reads and the answers
/// to interactions.
pub fn changes_since(bot: &TestBot, mark: usize) -> Vec<Recorded> {
    bot.fake
        .requests()
        .into_iter()
        .filter(|r| r.seq >= mark && r.method != Method::GET)
        .filter(|r| {
            !r.route().starts_with("/interactions/") && !r.route().starts_with("/webhooks/")
        })
        .collect()
}
