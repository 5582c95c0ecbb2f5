//! The survey's office pages under `/console/survey/` through HTTP as a browser uses
//! them (the session cookie, the CSRF token on every form): campaigns created,
//! started and assigned, the ledger and its drill-down, the review queue and a case
//! returned with a comment, fixed and approved, the scores ranked and exported; every page for the admin, the zone
//! command and the official of the campaign's sector, the 404 page for surveyors,
//! contacts and an official of another sector; bad input is the console's error
//! page, never a 500.

use serde_json::json;

use crate::helpers::{Browser, TestApp, USER_PASSWORD, api_test};
use crate::survey::{Zone, a1_assigned, answers, case_of, cases, submit, zone};

/// The zone of `survey::zone` plus `offa`, the official of sector SA.
async fn office_zone(app: &TestApp) -> Zone {
    let zone = zone(app).await;
    app.create_user(&zone.admin, "offa", "sector_official", &[&zone.sa], &[])
        .await;
    zone
}

/// A console session of `username`.
async fn session<'a>(app: &'a TestApp, username: &str) -> Browser<'a> {
    Browser::session(app, username, USER_PASSWORD).await
}

/// The case ids of a campaign's cases, as the regulator sees them, by enterprise key.
async fn case_id(app: &TestApp, zone: &Zone, campaign: &str, key: &str) -> String {
    case_of(app, zone, campaign, key).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The surveyor of `token` records a completed phone call on `case` and submits
/// `answers` (the `n`-th submission of the test).
pub(crate) async fn surveyed(
    app: &TestApp,
    token: &str,
    case: &str,
    answers: serde_json::Value,
    n: u32,
) {
    app.post(
        &format!("/api/v1/survey/cases/{case}/visits"),
        Some(token),
        json!({ "method": "phone", "outcome": "completed", "client_id": format!("office-visit-{n}") }),
    )
    .await;
    let version = crate::survey::case_version(app, token, case).await;
    let body = json!({ "answers": answers, "client_id": format!("office-answers-{n}"), "case_version": version });
    submit(app, token, case, body).await.assert_status(201);
}

async fn the_office_pages_show_for_the_runners_only(app: TestApp) {
    let zone = office_zone(&app).await;
    let (campaign, case) = a1_assigned(&app, &zone).await;
    surveyed(&app, &zone.sv1.1, &case, answers(), 1).await;
    let sa_p1 = format!(
        "/console/survey/campaigns/{campaign}/ledger/cases?sector_id={}&park_id={}",
        zone.sa, zone.p1
    );
    let pages = [
        "/console/survey/campaigns".to_owned(),
        format!("/console/survey/campaigns/{campaign}"),
        format!("/console/survey/campaigns/{campaign}/ledger"),
        sa_p1,
        format!("/console/survey/campaigns/{campaign}/review"),
        format!("/console/survey/campaigns/{campaign}/review?review=approved"),
        format!("/console/survey/review/{case}"),
    ];
    let mut runners = vec![
        Browser::of(&app, "admin").await,
        session(&app, "reg").await,
        session(&app, "offa").await,
    ];
    for runner in &mut runners {
        for page in &pages {
            let shown = runner.get(page).await;
            shown.assert_status(200);
            assert!(shown.text.contains("企业摸排"), "the navigation: {page}");
        }
        let review = runner.get(&format!("/console/survey/review/{case}")).await;
        assert!(
            review.text.contains("从业人员"),
            "the questionnaire's labels"
        );
        assert!(review.text.contains("福州甲一化工有限公司"));
        let queue = runner
            .get(&format!("/console/survey/campaigns/{campaign}/review"))
            .await;
        assert!(
            queue
                .text
                .contains(&format!("/console/survey/review/{case}"))
        );
        let ledger = runner
            .get(&format!("/console/survey/campaigns/{campaign}/ledger"))
            .await;
        assert!(ledger.text.contains("<svg"), "the progress chart");
        assert!(ledger.text.contains("ledger/coverage.xlsx"));
        let export = runner
            .get(&format!(
                "/console/survey/campaigns/{campaign}/ledger/coverage.csv"
            ))
            .await;
        export.assert_status(200);
    }

    // Surveyors and contacts: the 404 page, and no navigation entry.
    for username in ["sv1", "contact"] {
        let mut other = session(&app, username).await;
        let home = other.get("/console/").await;
        assert!(!home.text.contains("企业摸排"), "{username}");
        for page in &pages {
            let refused = other.get(page).await;
            refused.assert_status(404);
            assert!(refused.text.contains("未找到") || refused.text.contains("无法完成"));
        }
    }

    // The official of another sector: the list is empty of this campaign, and its
    // pages, case and export are the 404 page.
    let mut foreign = session(&app, "offc").await;
    let list = foreign.get("/console/survey/campaigns").await;
    list.assert_status(200);
    assert!(!list.text.contains(&campaign));
    for page in pages.iter().skip(1) {
        foreign.get(page).await.assert_status(404);
    }
    foreign
        .get(&format!(
            "/console/survey/campaigns/{campaign}/ledger/coverage.xlsx"
        ))
        .await
        .assert_status(404);
    let decided = foreign
        .post_csrf(
            &format!("/console/survey/review/{case}"),
            &[("decision", "approve")],
        )
        .await;
    decided.assert_status(404);

    // An unknown campaign is the 404 page too.
    let mut regulator = session(&app, "reg").await;
    regulator
        .get("/console/survey/campaigns/0192f0c4-5d2e-7a10-8c3b-7b1e0d5f6a21")
        .await
        .assert_status(404);
}
api_test!(the_office_pages_show_for_the_runners_only);

async fn an_official_creates_starts_and_assigns_a_campaign(app: TestApp) {
    let zone = office_zone(&app).await;
    let mut official = session(&app, "offa").await;

    // Bad input: the error page, nothing written.
    for (form, status) in [
        (
            vec![
                ("name", ""),
                ("starts_on", "2026-12-07"),
                ("ends_on", "2026-12-31"),
            ],
            422,
        ),
        (
            vec![
                ("name", "倒序"),
                ("starts_on", "2026-12-31"),
                ("ends_on", "2026-12-07"),
            ],
            422,
        ),
        (
            vec![
                ("name", "日期"),
                ("starts_on", "12/07"),
                ("ends_on", "2026-12-31"),
            ],
            422,
        ),
        (
            vec![
                ("name", "无\0效"),
                ("starts_on", "2026-12-07"),
                ("ends_on", "2026-12-31"),
            ],
            422,
        ),
    ] {
        let refused = official.post_csrf("/console/survey/campaigns", &form).await;
        refused.assert_status(status);
        assert!(refused.text.contains("无法完成"), "{form:?}");
    }
    let outside = official
        .post_csrf(
            "/console/survey/campaigns",
            &[
                ("name", "越界"),
                ("starts_on", "2026-12-07"),
                ("ends_on", "2026-12-31"),
                ("sector_id", &zone.sb),
            ],
        )
        .await;
    outside.assert_status(403);
    let forged = official
        .post(
            "/console/survey/campaigns",
            &[
                ("name", "无令牌"),
                ("starts_on", "2026-12-07"),
                ("ends_on", "2026-12-31"),
            ],
        )
        .await;
    forged.assert_status(403);
    let listed = app
        .get("/api/v1/survey/campaigns", Some(&zone.regulator))
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 0);

    // Created within the official's sector, then started.
    let created = official
        .post_csrf(
            "/console/survey/campaigns",
            &[
                ("name", "甲行业冬季摸排"),
                ("starts_on", "2026-12-07"),
                ("ends_on", "2026-12-31"),
                ("sector_id", &zone.sa),
            ],
        )
        .await;
    created.assert_status(303);
    let page_path = created.header("location").unwrap().to_owned();
    let campaign = page_path.rsplit('/').next().unwrap().to_owned();
    let page = official.get(&page_path).await;
    page.assert_status(200);
    assert!(page.text.contains("甲行业冬季摸排") && page.text.contains("草稿"));
    assert!(page.text.contains("开始摸排"));
    official
        .post_csrf(&format!("{page_path}/status"), &[("status", "bogus")])
        .await
        .assert_status(422);
    official
        .post_csrf(
            &format!("{page_path}/assign"),
            &[("mode", "balanced"), ("surveyor_id", &zone.sv1.0)],
        )
        .await
        .assert_status(409);
    official
        .post_csrf(&format!("{page_path}/status"), &[("status", "running")])
        .await
        .assert_status(303);
    let page = official.get(&page_path).await;
    assert!(page.text.contains("进行中") && page.text.contains("自动分配"));
    // Its surveyors are offered: sv1 and sv2 of sector SA.
    assert!(page.text.contains(&zone.sv1.0) && page.text.contains(&zone.sv2.0));

    // Balanced over both surveyors: the four cases of SA, two each.
    let none = official
        .post_csrf(&format!("{page_path}/assign"), &[("mode", "balanced")])
        .await;
    none.assert_status(422);
    let balanced = official
        .post_csrf(
            &format!("{page_path}/assign"),
            &[
                ("mode", "balanced"),
                ("surveyor_id", &zone.sv1.0),
                ("surveyor_id", &zone.sv2.0),
            ],
        )
        .await;
    balanced.assert_status(303);
    let back = balanced.header("location").unwrap().to_owned();
    assert!(back.ends_with("?assigned=4&uncovered=0"), "{back}");
    let notice = official.get(&back).await;
    assert!(notice.text.contains("已分配 4 个摸排对象"));
    let of = |surveyor: &str| format!("&assignee_id={surveyor}");
    assert_eq!(
        cases(&app, &zone.regulator, &campaign, &of(&zone.sv1.0))
            .await
            .len(),
        2
    );
    assert_eq!(
        cases(&app, &zone.regulator, &campaign, &of(&zone.sv2.0))
            .await
            .len(),
        2
    );

    // By hand: a1 (and whatever else sv1 had) to sv2; the history keeps sv1.
    let a1 = case_id(&app, &zone, &campaign, "a1").await;
    let filtered = official
        .get(&format!("{page_path}?state=assigned&park_id={}", zone.p1))
        .await;
    filtered.assert_status(200);
    assert!(filtered.text.contains(&a1));
    official
        .get(&format!("{page_path}?state=visited"))
        .await
        .assert_status(422);
    let missing = official
        .post_csrf(
            &format!("{page_path}/assign"),
            &[("mode", "manual"), ("case_id", &a1)],
        )
        .await;
    missing.assert_status(422);
    assert!(missing.text.contains("surveyor_id"));
    official
        .post_csrf(&format!("{page_path}/assign"), &[("mode", "other")])
        .await
        .assert_status(422);
    let by_hand = official
        .post_csrf(
            &format!("{page_path}/assign"),
            &[
                ("mode", "manual"),
                ("case_id", &a1),
                ("surveyor_id", &zone.sv2.0),
            ],
        )
        .await;
    by_hand.assert_status(303);
    let a1_now = case_of(&app, &zone, &campaign, "a1").await;
    assert_eq!(a1_now["assignee_id"], zone.sv2.0.as_str());
    let audit = app
        .get(
            "/api/v1/audit?action=survey.case.assign&limit=100",
            Some(&zone.admin),
        )
        .await;
    audit.assert_status(200);
    let moves = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["object_id"] == a1.as_str())
        .count();
    assert!(
        moves >= 2,
        "every hand a1 passed through is audited: {}",
        audit.text
    );

    // Closed: no more assignment.
    official
        .post_csrf(&format!("{page_path}/status"), &[("status", "closed")])
        .await
        .assert_status(303);
    let closed = official.get(&page_path).await;
    assert!(closed.text.contains("已结束") && !closed.text.contains("自动分配"));
}
api_test!(an_official_creates_starts_and_assigns_a_campaign);

async fn an_official_returns_a_case_then_approves_it_and_the_ledger_counts_it(app: TestApp) {
    let zone = office_zone(&app).await;
    let (campaign, case) = a1_assigned(&app, &zone).await;
    surveyed(&app, &zone.sv1.1, &case, answers(), 1).await;
    let mut official = session(&app, "offa").await;
    let review_path = format!("/console/survey/review/{case}");
    let ledger_path = format!("/console/survey/campaigns/{campaign}/ledger");
    let ledger = official.get(&ledger_path).await;
    assert!(
        ledger.text.contains(">0 / 2<"),
        "a1 and a2 in SA × P1, none approved"
    );

    // Bad decisions: the error page, nothing changes.
    let version = crate::survey::case_version(&app, &zone.regulator, &case)
        .await
        .to_string();
    for (form, status) in [
        (vec![("decision", "maybe")], 422),
        (vec![("decision", "return")], 422),
        (vec![("decision", "reject")], 422),
        (vec![("decision", "approve"), ("case_version", "x")], 422),
        (vec![("decision", "unapprove"), ("note", "无")], 409),
        (vec![("decision", "approve"), ("case_version", "999")], 409),
        (
            vec![
                ("decision", "return"),
                ("comment_key", "nosuch"),
                ("comment", "无此项"),
            ],
            422,
        ),
    ] {
        official
            .post_csrf(&review_path, &form)
            .await
            .assert_status(status);
    }

    // Returned with a comment on the employees.
    let returned = official
        .post_csrf(
            &review_path,
            &[
                ("case_version", &version),
                ("comment_key", "name"),
                ("comment", ""),
                ("comment_key", "employees"),
                ("comment", "人数与社保记录不符，请核实"),
                ("note", ""),
                ("decision", "return"),
            ],
        )
        .await;
    returned.assert_status(303);
    assert_eq!(returned.header("location"), Some(review_path.as_str()));
    let found = app
        .get(
            &format!("/api/v1/survey/cases/{case}"),
            Some(&zone.regulator),
        )
        .await;
    assert_eq!(found.body["review"], "returned");
    let page = official.get(&review_path).await;
    assert!(page.text.contains("退回修改") && page.text.contains("人数与社保记录不符"));

    // Fixed by the surveyor: the page shows what changed; then approved.
    let mut fixed = answers();
    fixed["employees"] = json!(24);
    surveyed(&app, &zone.sv1.1, &case, fixed, 2).await;
    let queue = official
        .get(&format!("/console/survey/campaigns/{campaign}/review"))
        .await;
    assert!(queue.text.contains(&review_path));
    let page = official.get(&review_path).await;
    assert!(page.text.contains("与第 1 版相比的修改"), "{}", page.text);
    assert!(page.text.contains("<td>从业人员</td>"));
    let approved = official
        .post_csrf(&review_path, &[("decision", "approve")])
        .await;
    approved.assert_status(303);
    let found = app
        .get(
            &format!("/api/v1/survey/cases/{case}"),
            Some(&zone.regulator),
        )
        .await;
    assert_eq!(found.body["review"], "approved");
    official
        .post_csrf(&review_path, &[("decision", "approve")])
        .await
        .assert_status(409);
    let ledger = official.get(&ledger_path).await;
    assert!(ledger.text.contains(">1 / 2<"), "{}", ledger.text);
    let approved_queue = official
        .get(&format!(
            "/console/survey/campaigns/{campaign}/review?review=approved"
        ))
        .await;
    assert!(approved_queue.text.contains(&review_path));
    official
        .get(&format!(
            "/console/survey/campaigns/{campaign}/review?review=bogus"
        ))
        .await
        .assert_status(422);

    // Un-approved with a reason: back in the queue, audited as the API does.
    official
        .post_csrf(&review_path, &[("decision", "unapprove")])
        .await
        .assert_status(422);
    official
        .post_csrf(
            &review_path,
            &[("decision", "unapprove"), ("note", "营业收入需复核")],
        )
        .await
        .assert_status(303);
    let audit = app
        .get(
            "/api/v1/audit?action=survey.case.review&limit=100",
            Some(&zone.admin),
        )
        .await;
    audit.assert_status(200);
    let decisions = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["object_id"] == case.as_str())
        .count();
    assert_eq!(decisions, 3, "{}", audit.text);
}
api_test!(an_official_returns_a_case_then_approves_it_and_the_ledger_counts_it);

async fn the_scores_page_ranks_the_approved_answers_and_exports_them(app: TestApp) {
    let zone = office_zone(&app).await;
    let (campaign, case) = a1_assigned(&app, &zone).await;
    surveyed(&app, &zone.sv1.1, &case, answers(), 1).await;
    crate::survey::review(
        &app,
        &zone.regulator,
        &case,
        json!({ "decision": "approve" }),
    )
    .await
    .assert_status(200);
    let path = format!("/console/survey/campaigns/{campaign}/scores");
    let mut regulator = session(&app, "reg").await;
    let before = regulator.get(&path).await;
    before.assert_status(200);
    assert!(before.text.contains("还没有评分"));
    regulator
        .post(&format!("{path}/run"), &[])
        .await
        .assert_status(403);
    let run = regulator.post_csrf(&format!("{path}/run"), &[]).await;
    run.assert_status(303);
    assert_eq!(run.header("location"), Some(path.as_str()));

    let mut official = session(&app, "offa").await;
    let scores = official.get(&path).await;
    scores.assert_status(200);
    assert!(scores.text.contains("id=\"scores\""));
    assert!(scores.text.contains("福州甲一化工有限公司"));
    assert!(
        scores.text.contains("A 类（重点培育）"),
        "one score, the top class"
    );
    let none = official.get(&format!("{path}?class=D")).await;
    assert!(!none.text.contains("id=\"scores\""));
    official
        .get(&format!("{path}?class=Z"))
        .await
        .assert_status(422);
    official
        .get(&format!(
            "/console/survey/campaigns/{campaign}/scores.csv?class=Z"
        ))
        .await
        .assert_status(422);
    for export in ["scores.xlsx", "scores.csv?class=A"] {
        official
            .get(&format!("/console/survey/campaigns/{campaign}/{export}"))
            .await
            .assert_status(200);
    }

    for username in ["sv1", "offc"] {
        let mut other = session(&app, username).await;
        other.get(&path).await.assert_status(404);
        other
            .get(&format!("/console/survey/campaigns/{campaign}/scores.xlsx"))
            .await
            .assert_status(404);
        other
            .post_csrf(&format!("{path}/run"), &[])
            .await
            .assert_status(404);
    }
}
api_test!(the_scores_page_ranks_the_approved_answers_and_exports_them);

async fn an_official_assigns_notes_and_closes_a_demand(app: TestApp) {
    let zone = office_zone(&app).await;
    let (campaign, case) = a1_assigned(&app, &zone).await;
    surveyed(&app, &zone.sv1.1, &case, answers(), 1).await;
    crate::survey::review(
        &app,
        &zone.regulator,
        &case,
        json!({ "decision": "approve" }),
    )
    .await
    .assert_status(200);
    let listed = app
        .get(
            &format!("/api/v1/survey/demands?campaign_id={campaign}"),
            Some(&zone.regulator),
        )
        .await;
    let demand = listed.body["items"][0]["id"].as_str().unwrap().to_owned();
    let list_path = format!("/console/survey/campaigns/{campaign}/demands");
    let path = format!("/console/survey/demands/{demand}");
    let due_on = (chrono::Utc::now() + chrono::TimeDelta::days(7))
        .format("%Y-%m-%d")
        .to_string();

    let mut official = session(&app, "offa").await;
    let ledger = official.get(&list_path).await;
    ledger.assert_status(200);
    assert!(ledger.text.contains("园区道路限高影响货车进出") && ledger.text.contains(&path));
    official
        .get(&format!("{list_path}?state=open&overdue=true"))
        .await
        .assert_status(200);
    official
        .get(&format!("{list_path}?state=bogus"))
        .await
        .assert_status(422);
    official.get(&path).await.assert_status(200);

    for form in [
        vec![("due_on", due_on.as_str())],
        vec![("unit_id", zone.sa.as_str()), ("due_on", "2020-01-01")],
        vec![("unit_id", zone.sa.as_str()), ("due_on", "明天")],
    ] {
        official
            .post_csrf(&format!("{path}/assign"), &form)
            .await
            .assert_status(422);
    }
    official
        .post_csrf(
            &format!("{path}/assign"),
            &[("unit_id", &zone.sa), ("due_on", &due_on)],
        )
        .await
        .assert_status(303);
    for _ in 0..2 {
        official
            .post_csrf(
                &format!("{path}/notes"),
                &[
                    ("text", "已联系交通部门现场查看"),
                    ("client_id", "console-note-1"),
                ],
            )
            .await
            .assert_status(303);
    }
    official
        .post_csrf(
            &format!("{path}/notes"),
            &[("text", ""), ("client_id", "console-note-2")],
        )
        .await
        .assert_status(422);
    official
        .post_csrf(&format!("{path}/close"), &[])
        .await
        .assert_status(422);
    official
        .post_csrf(&format!("{path}/close"), &[("resolution", "限高架已调整")])
        .await
        .assert_status(303);
    let page = official.get(&path).await;
    assert!(page.text.contains("已销号") && page.text.contains("限高架已调整"));
    assert_eq!(
        page.text.matches("已联系交通部门现场查看").count(),
        1,
        "one note"
    );
    official
        .post_csrf(&format!("{path}/close"), &[("resolution", "再次销号")])
        .await
        .assert_status(409);

    for username in ["sv1", "offc"] {
        let mut other = session(&app, username).await;
        other.get(&path).await.assert_status(404);
        other
            .post_csrf(
                &format!("{path}/notes"),
                &[("text", "越权"), ("client_id", "console-note-3")],
            )
            .await
            .assert_status(404);
    }
    session(&app, "sv1")
        .await
        .get(&list_path)
        .await
        .assert_status(404);
    session(&app, "offc")
        .await
        .get(&list_path)
        .await
        .assert_status(404);
}
api_test!(an_official_assigns_notes_and_closes_a_demand);
