//! Potential-enterprise scoring (挖掘潜力企业): the zone's default rules as version 1,
//! scores of approved answers only with their explanation, ranks in the campaign, the
//! sector and the park, classes by percentile, new rule versions that keep the old
//! results, strict rule bodies, the exports, and who sees and runs what.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, USER_PASSWORD, api_test};
use crate::survey::{Zone, answers, case_of, field_codes, review, running_campaign, submit, zone};

/// The default answers of `key`'s enterprise with `changes` applied.
fn answers_with(changes: Value) -> Value {
    let mut body = answers();
    for (key, value) in changes.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

/// The regulator submits `answers` on `key`'s case, and approves them when `approve`.
async fn answered(
    app: &TestApp,
    zone: &Zone,
    campaign: &str,
    key: &str,
    answers: Value,
    approve: bool,
) {
    let case = case_of(app, zone, campaign, key).await;
    let id = case["id"].as_str().unwrap();
    let body = json!({
        "answers": answers,
        "client_id": format!("score-{key}"),
        "case_version": case["version"],
    });
    submit(app, &zone.regulator, id, body)
        .await
        .assert_status(201);
    if approve {
        review(app, &zone.regulator, id, json!({ "decision": "approve" }))
            .await
            .assert_status(200);
    }
}

/// A running campaign over SA and SB with answers on a1, a2, a3, b1 approved and a4's
/// waiting for review. Under the default rules: a1 89, a2 and b1 30, a3 21.
async fn scored_zone(app: &TestApp, zone: &Zone) -> String {
    let campaign = running_campaign(app, zone).await;
    let a1 = answers_with(json!({
        "revenue": 1500, "revenue_prior": 1200, "tax": 90, "land_area": 6,
        "employees": 40, "rd_spend": 60, "high_tech": true,
    }));
    answered(app, zone, &campaign, "a1", a1, true).await;
    answered(app, zone, &campaign, "a2", answers(), true).await;
    let a3 = answers_with(json!({ "revenue": 800, "employees": 10 }));
    answered(app, zone, &campaign, "a3", a3, true).await;
    let a4 = answers_with(json!({ "revenue": 1800, "high_tech": true }));
    answered(app, zone, &campaign, "a4", a4, false).await;
    answered(app, zone, &campaign, "b1", answers(), true).await;
    campaign
}

async fn run(app: &TestApp, token: &str, campaign: &str) -> TestResponse {
    app.post(
        &format!("/api/v1/survey/campaigns/{campaign}/scoring/run"),
        Some(token),
        json!({}),
    )
    .await
}

/// Every score the caller sees, with `query` (`&version=1`), in order.
async fn scores(app: &TestApp, token: &str, campaign: &str, query: &str) -> Vec<Value> {
    let page = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/scores?limit=100{query}"),
            Some(token),
        )
        .await;
    page.assert_status(200);
    page.body["items"].as_array().unwrap().clone()
}

/// `(enterprise key, score, class, rank, sector rank, park rank)` of each score.
fn table(zone: &Zone, items: &[Value]) -> Vec<(&'static str, f64, String, i64, i64, i64)> {
    items
        .iter()
        .map(|item| {
            let key = zone
                .enterprises
                .iter()
                .find(|(_, id)| item["enterprise_id"] == *id)
                .map(|(key, _)| *key)
                .unwrap();
            (
                key,
                item["score"].as_f64().unwrap(),
                item["class"].as_str().unwrap().to_owned(),
                item["rank"].as_i64().unwrap(),
                item["sector_rank"].as_i64().unwrap(),
                item["park_rank"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn row(
    key: &'static str,
    score: f64,
    class: &str,
    ranks: [i64; 3],
) -> (&'static str, f64, String, i64, i64, i64) {
    (key, score, class.to_owned(), ranks[0], ranks[1], ranks[2])
}

async fn approved_answers_are_scored_explained_ranked_and_classed(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = scored_zone(&app, &zone).await;

    // The zone's default rules are version 1.
    let rules = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/scoring"),
            Some(&zone.regulator),
        )
        .await;
    rules.assert_status(200);
    assert_eq!(rules.body["version"], 1);
    assert_eq!(rules.body["max_score"], 100);
    assert_eq!(rules.body["rules"][0]["label"], "营业收入（万元）");

    // Nothing is scored before a run.
    assert!(
        scores(&app, &zone.regulator, &campaign, "")
            .await
            .is_empty()
    );

    let ran = run(&app, &zone.regulator, &campaign).await;
    ran.assert_status(200);
    assert_eq!(ran.body["version"], 1);
    assert_eq!(ran.body["scored"], 4);
    assert_eq!(
        ran.body["classes"],
        json!({ "A": 1, "B": 2, "C": 0, "D": 1 })
    );

    // a4's answers wait for review: not scored. Equal scores share a rank; the
    // classes go by the share of scores ranked above (A under 10%, B under 30%, …).
    let items = scores(&app, &zone.regulator, &campaign, "").await;
    let mut ranked = table(&zone, &items);
    // Equal scores come in case id order: compare a2 and b1 as a set.
    ranked[1..3].sort_by_key(|r| r.0);
    assert_eq!(
        ranked,
        [
            row("a1", 89.0, "A", [1, 1, 1]),
            row("a2", 30.0, "B", [2, 2, 2]),
            row("b1", 30.0, "B", [2, 1, 2]),
            row("a3", 21.0, "D", [4, 3, 1]),
        ]
    );

    // The explanation: each indicator's value, band and points.
    let explanation = items[0]["explanation"].as_array().unwrap();
    let given: Vec<(&str, Value, i64, f64)> = explanation
        .iter()
        .map(|e| {
            (
                e["indicator"].as_str().unwrap(),
                e["value"].clone(),
                e["points"].as_i64().unwrap(),
                e["score"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        given,
        [
            ("revenue", json!(1500.0), 100, 30.0),
            ("revenue_growth", json!(25.0), 100, 20.0),
            ("tax_per_mu", json!(15.0), 80, 16.0),
            ("employees", json!(40.0), 60, 6.0),
            ("rd_share", json!(4.0), 80, 12.0),
            ("high_tech", json!(1.0), 100, 5.0),
        ]
    );
    assert_eq!(
        explanation[2]["band"],
        json!({ "min": 15.0, "max": 30.0, "points": 80 })
    );
    // Unanswered indicators give nothing and say so.
    let a3 = &items[3]["explanation"];
    assert_eq!(a3[1]["value"], Value::Null);
    assert_eq!(a3[1]["band"], Value::Null);

    // Filters: by sector, by park, by class; pages follow the ranking.
    let in_sb = scores(
        &app,
        &zone.regulator,
        &campaign,
        &format!("&sector_id={}", zone.sb),
    )
    .await;
    assert_eq!(table(&zone, &in_sb), [row("b1", 30.0, "B", [2, 1, 2])]);
    let in_p2 = scores(
        &app,
        &zone.regulator,
        &campaign,
        &format!("&park_id={}", zone.p2),
    )
    .await;
    assert_eq!(table(&zone, &in_p2), [row("a3", 21.0, "D", [4, 3, 1])]);
    let class_b = scores(&app, &zone.regulator, &campaign, "&class=B").await;
    assert_eq!(class_b.len(), 2);
    let path = format!("/api/v1/survey/campaigns/{campaign}/scores");
    let mut seen = Vec::new();
    let mut next = format!("{path}?limit=3");
    loop {
        let page = app.get(&next, Some(&zone.regulator)).await;
        page.assert_status(200);
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["case_id"].clone()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    let all: Vec<Value> = items.iter().map(|i| i["case_id"].clone()).collect();
    assert_eq!(seen, all);

    // Un-approving a2 takes it out of the next run.
    let a2 = case_of(&app, &zone, &campaign, "a2").await;
    review(
        &app,
        &zone.regulator,
        a2["id"].as_str().unwrap(),
        json!({ "decision": "unapprove", "note": "营业收入待核实" }),
    )
    .await
    .assert_status(200);
    let ran = run(&app, &zone.regulator, &campaign).await;
    ran.assert_status(200);
    assert_eq!(ran.body["scored"], 3);
    assert_eq!(scores(&app, &zone.regulator, &campaign, "").await.len(), 3);

    // The run is audited with its version and counts.
    let audit = app
        .get(
            &format!("/api/v1/audit?action=survey.scoring.run&object_id={campaign}"),
            Some(&zone.admin),
        )
        .await;
    audit.assert_status(200);
    let mut scored: Vec<i64> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["scored"].as_i64().unwrap())
        .collect();
    scored.sort();
    assert_eq!(scored, [3, 4]);
}
api_test!(approved_answers_are_scored_explained_ranked_and_classed);

async fn a_new_rule_version_rescores_and_keeps_the_old_results(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = scored_zone(&app, &zone).await;
    run(&app, &zone.regulator, &campaign)
        .await
        .assert_status(200);

    // Version 2 favours the small: under 1,000 万元 of revenue is worth everything.
    let path = format!("/api/v1/survey/campaigns/{campaign}/scoring");
    let saved = app
        .put(
            &path,
            Some(&zone.regulator),
            json!({ "rules": [
                { "indicator": "revenue", "weight": 50, "bands": [
                    { "min": 1000, "points": 0 }, { "max": 1000, "points": 100 }
                ]}
            ]}),
        )
        .await;
    saved.assert_status(200);
    assert_eq!(saved.body["version"], 2);
    assert_eq!(saved.body["max_score"], 50);
    // Bands are kept in ascending order.
    assert_eq!(saved.body["rules"][0]["bands"][0]["max"], 1000.0);
    assert_eq!(saved.body["rules"][0]["bands"][0]["min"], Value::Null);

    let ran = run(&app, &zone.regulator, &campaign).await;
    ran.assert_status(200);
    assert_eq!(ran.body["version"], 2);
    let current = scores(&app, &zone.regulator, &campaign, "").await;
    assert_eq!(table(&zone, &current)[0], row("a3", 50.0, "A", [1, 1, 1]));
    assert!(current.iter().all(|s| s["version"] == 2));

    // Version 1's results stay as they were.
    let old = scores(&app, &zone.regulator, &campaign, "&version=1").await;
    assert_eq!(old.len(), 4);
    assert_eq!(table(&zone, &old)[0], row("a1", 89.0, "A", [1, 1, 1]));
    assert!(old.iter().all(|s| s["version"] == 1));

    // A re-run of version 2 replaces its own results only.
    run(&app, &zone.regulator, &campaign)
        .await
        .assert_status(200);
    assert_eq!(scores(&app, &zone.regulator, &campaign, "").await.len(), 4);
    assert_eq!(
        scores(&app, &zone.regulator, &campaign, "&version=1")
            .await
            .len(),
        4
    );
    // A version the campaign does not have is not found.
    app.get(
        &format!("/api/v1/survey/campaigns/{campaign}/scores?version=3"),
        Some(&zone.regulator),
    )
    .await
    .assert_status(404);

    // The change is audited with its weights.
    let audit = app
        .get(
            &format!("/api/v1/audit?action=survey.scoring.update&object_id={campaign}"),
            Some(&zone.admin),
        )
        .await;
    audit.assert_status(200);
    let entry = &audit.body["items"][0]["details"];
    assert_eq!(entry["version"], 2);
    assert_eq!(entry["weights"], json!({ "revenue": 50 }));
}
api_test!(a_new_rule_version_rescores_and_keeps_the_old_results);

async fn bad_rules_get_422_with_every_error_and_save_nothing(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = running_campaign(&app, &zone).await;
    let path = format!("/api/v1/survey/campaigns/{campaign}/scoring");
    let refused = app
        .put(
            &path,
            Some(&zone.regulator),
            json!({ "rules": [
                { "indicator": "profit", "weight": 10, "bands": [{ "min": 0, "points": 10 }] },
                { "indicator": "revenue", "weight": -5, "bands": [] },
                { "indicator": "employees", "weight": 10, "bands": [
                    { "min": 0, "max": 20, "points": 50 }, { "min": 10, "max": 30, "points": 120 }
                ]},
                { "indicator": "employees", "weight": 10, "bands": [
                    { "min": 5, "max": 5, "points": 1 }
                ]}
            ]}),
        )
        .await;
    refused.assert_status(422);
    assert_eq!(
        field_codes(&refused),
        [
            ("rules[0].indicator", "unknown_indicator"),
            ("rules[1].weight", "invalid_weight"),
            ("rules[1].bands", "invalid_bands"),
            ("rules[2].bands[1].points", "invalid_points"),
            ("rules[2].bands", "overlapping_bands"),
            ("rules[3].indicator", "duplicate_indicator"),
            ("rules[3].bands[0].max", "invalid_range"),
        ]
        .map(|(f, c)| (f.to_owned(), c.to_owned()))
    );
    let empty = app
        .put(&path, Some(&zone.regulator), json!({ "rules": [] }))
        .await;
    empty.assert_status(422);
    assert_eq!(
        field_codes(&empty),
        [("rules".to_owned(), "required".to_owned())]
    );
    let unknown = app
        .put(
            &path,
            Some(&zone.regulator),
            json!({ "rules": [], "formula": "x" }),
        )
        .await;
    unknown.assert_status(422);
    assert_eq!(
        field_codes(&unknown),
        [("formula".to_owned(), "unknown_field".to_owned())]
    );

    // Nothing was saved.
    let current = app.get(&path, Some(&zone.regulator)).await;
    current.assert_status(200);
    assert_eq!(current.body["version"], 1);
}
api_test!(bad_rules_get_422_with_every_error_and_save_nothing);

async fn officials_see_their_scope_and_only_runners_of_the_whole_campaign_run(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = scored_zone(&app, &zone).await;
    run(&app, &zone.regulator, &campaign)
        .await
        .assert_status(200);
    app.create_user(&zone.admin, "offp2", "park_official", &[], &[&zone.p2])
        .await;
    let park_official = app.tokens("offp2", USER_PASSWORD).await.0;
    let base = format!("/api/v1/survey/campaigns/{campaign}");
    let rules = json!({ "rules": [
        { "indicator": "employees", "weight": 10, "bands": [{ "min": 0, "points": 100 }] }
    ]});

    // The park official sees their park's enterprise only, with its campaign ranks.
    let theirs = scores(&app, &park_official, &campaign, "").await;
    assert_eq!(table(&zone, &theirs), [row("a3", 21.0, "D", [4, 3, 1])]);
    // The campaign reaches beyond their park: they may read, not run or change it.
    run(&app, &park_official, &campaign)
        .await
        .assert_status(403);
    app.put(
        &format!("{base}/scoring"),
        Some(&park_official),
        rules.clone(),
    )
    .await
    .assert_status(403);

    // An official of another sector does not see the campaign at all.
    for path in ["scoring", "scores", "scores.csv", "scores.xlsx"] {
        app.get(&format!("{base}/{path}"), Some(&zone.other_official))
            .await
            .assert_status(404);
    }
    run(&app, &zone.other_official, &campaign)
        .await
        .assert_status(404);
    app.put(
        &format!("{base}/scoring"),
        Some(&zone.other_official),
        rules.clone(),
    )
    .await
    .assert_status(404);

    // Surveyors and enterprise contacts have no part in it; nobody signed in, none.
    for token in [Some(zone.sv1.1.as_str()), Some(zone.contact.as_str()), None] {
        let expected = if token.is_some() { 403 } else { 401 };
        app.get(&format!("{base}/scores"), token)
            .await
            .assert_status(expected);
        app.get(&format!("{base}/scoring"), token)
            .await
            .assert_status(expected);
        app.post(&format!("{base}/scoring/run"), token, json!({}))
            .await
            .assert_status(expected);
        app.put(&format!("{base}/scoring"), token, rules.clone())
            .await
            .assert_status(expected);
    }
}
api_test!(officials_see_their_scope_and_only_runners_of_the_whole_campaign_run);

async fn scores_export_as_csv_and_xlsx_named_and_audited(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = scored_zone(&app, &zone).await;
    run(&app, &zone.regulator, &campaign)
        .await
        .assert_status(200);
    let path = format!("/api/v1/survey/campaigns/{campaign}/scores");

    let csv = app
        .get(&format!("{path}.csv?class=A"), Some(&zone.regulator))
        .await;
    csv.assert_status(200);
    assert!(csv.text.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "排名,行业内排名,园区内排名,企业名称,统一社会信用代码,行业,园区,得分,等级,得分说明"
    );
    assert_eq!(lines.len(), 2);
    assert!(
        lines[1].starts_with("1,1,1,福州甲一化工有限公司,")
            && lines[1].contains(",SA行业,P1园区,89,A,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("营业收入（万元） 1500.00：100 分 × 权重 30 = 30.00"),
        "{}",
        lines[1]
    );

    let xlsx = app
        .get(&format!("{path}.xlsx"), Some(&zone.regulator))
        .await;
    xlsx.assert_status(200);
    let disposition = xlsx.header("content-disposition").unwrap();
    assert!(
        disposition.contains("filename=\"scores.xlsx\""),
        "{disposition}"
    );
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.bytes.clone())).unwrap();
    use calamine::Reader;
    let sheet = workbook.worksheet_range("潜力企业评分").unwrap();
    let ranks: Vec<String> = sheet.rows().skip(1).map(|r| r[0].to_string()).collect();
    assert_eq!(ranks, ["1", "2", "2", "4"]);

    let audit = app
        .get(
            &format!("/api/v1/audit?action=survey.scores.export&object_id={campaign}"),
            Some(&zone.admin),
        )
        .await;
    audit.assert_status(200);
    let mut details: Vec<(String, i64)> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["details"]["format"].as_str().unwrap().to_owned(),
                entry["details"]["rows"].as_i64().unwrap(),
            )
        })
        .collect();
    details.sort();
    assert_eq!(details, [("csv".to_owned(), 1), ("xlsx".to_owned(), 4)]);
}
api_test!(scores_export_as_csv_and_xlsx_named_and_audited);
