//! Every query the bot makes (the committed `.sqlx/` holds each one's text) is planned by
//! SQLite on the real schema: none may read a whole large table or sort in a temporary B-tree,
//! so each stays fast however big a server grows.

use sqlx::{Connection, SqliteConnection};

/// Tables that grow with use.
const LARGE: &[&str] = &[
    "masterclasses",
    "participants",
    "outbox",
    "activity",
    "discord_sync",
    "thread_members",
    "member_settings",
];

/// Queries allowed to read a whole table, and why.
const WHOLE_TABLE_ON_PURPOSE: &[(&str, &str)] = &[
    (
        "FROM outbox ORDER BY id",
        "every notification, for tests and diagnostics only",
    ),
    (
        "instr(detail, ?)",
        "activity naming a member: /settings my-data and forget-me, rare and on request",
    ),
    (
        "instr(payload, ?2)",
        "notifications naming a member: /settings my-data and forget-me, rare and on request",
    ),
    (
        "instr(title || description",
        "masterclasses mentioning a member: forget-me, rare and on request",
    ),
];

#[tokio::test]
async fn no_query_scans_a_large_table_or_sorts_in_a_temporary_tree() {
    let app = crate::helpers::spawn_service().await;
    let path = app._dir.path().join("test.db");
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/.sqlx");
    let mut checked = 0;
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let saved: serde_json::Value = serde_json::from_str(&text).unwrap();
        let sql = saved["query"].as_str().unwrap();
        if WHOLE_TABLE_ON_PURPOSE
            .iter()
            .any(|(fragment, _)| sql.contains(fragment))
        {
            continue;
        }
        let parameters = saved["describe"]["parameters"]["Right"]
            .as_u64()
            .unwrap_or(0);
        let text = format!("EXPLAIN QUERY PLAN {sql}");
        let mut explain = sqlx::query_as::<_, (i64, i64, i64, String)>(&text);
        for _ in 0..parameters {
            explain = explain.bind(None::<i64>);
        }
        let plan = explain.fetch_all(&mut conn).await.unwrap_or_else(|e| {
            panic!("cannot plan {sql}: {e}");
        });
        checked += 1;
        for (_, _, _, step) in plan {
            let full_scan = LARGE.iter().any(|table| {
                (step == format!("SCAN {table}") || step.starts_with(&format!("SCAN {table} ")))
                    && !step.contains("INDEX")
            });
            if full_scan || step.contains("TEMP B-TREE") {
                problems.push(format!("{step}\n    in: {}", one_line(sql)));
            }
        }
    }
    assert!(checked > 40, "only {checked} queries found in .sqlx/");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}
