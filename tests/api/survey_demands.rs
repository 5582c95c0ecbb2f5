//! The survey's issue ledger (诉求台账): demands taken from approved answers (once,
//! however often a case is approved; un-approving retracts the untouched ones),
//! assigned to a unit with a deadline, followed up with idempotent notes and closed
//! (销号); overdue and closure rates per sector × park and unit; who sees and does what;
//! bad input.

use chrono::TimeDelta;
use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, USER_PASSWORD, api_test};
use crate::survey::{
    Zone, a1_assigned, answers, case_of, case_version, decided_with_a_reason, field_codes, review,
    submit, zone,
};

/// A zone day `days` from today, as `due_on` takes it.
fn day_from_today(days: i64) -> String {
    (truckpass::domain::zone::today() + TimeDelta::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The default answers with these `(category, description)` demand rows.
fn answers_with(demands: &[(&str, &str)]) -> Value {
    let mut answers = answers();
    answers["demands"] = demands
        .iter()
        .map(|(category, description)| json!({ "category": category, "description": description }))
        .collect();
    answers
}

/// The assigned surveyor submits `answers` on `case` and the regulator approves them.
async fn submit_and_approve(app: &TestApp, zone: &Zone, case: &str, answers: Value, n: usize) {
    let version = case_version(app, &zone.sv1.1, case).await;
    let body = json!({
        "answers": answers, "client_id": format!("demand-answers-{n}"), "case_version": version,
    });
    submit(app, &zone.sv1.1, case, body)
        .await
        .assert_status(201);
    review(app, &zone.regulator, case, json!({ "decision": "approve" }))
        .await
        .assert_status(200);
}

/// The demands the caller sees (of `campaign` unless it is empty), with a query.
async fn demands(app: &TestApp, token: &str, campaign: &str, query: &str) -> Vec<Value> {
    let of_campaign = if campaign.is_empty() {
        String::new()
    } else {
        format!("&campaign_id={campaign}")
    };
    let page = app
        .get(
            &format!("/api/v1/survey/demands?limit=100{of_campaign}{query}"),
            Some(token),
        )
        .await;
    page.assert_status(200);
    page.body["items"].as_array().unwrap().clone()
}

/// The id of the caller's demand with this description.
fn id_of<'a>(items: &'a [Value], description: &str) -> &'a str {
    items
        .iter()
        .find(|d| d["description"] == description)
        .and_then(|d| d["id"].as_str())
        .unwrap()
}

async fn assign(
    app: &TestApp,
    token: &str,
    demand: &str,
    unit: &str,
    due_on: &str,
) -> TestResponse {
    app.post(
        &format!("/api/v1/survey/demands/{demand}/assign"),
        Some(token),
        json!({ "unit_id": unit, "due_on": due_on }),
    )
    .await
}

async fn note(
    app: &TestApp,
    token: &str,
    demand: &str,
    text: &str,
    client_id: &str,
) -> TestResponse {
    app.post(
        &format!("/api/v1/survey/demands/{demand}/notes"),
        Some(token),
        json!({ "text": text, "client_id": client_id }),
    )
    .await
}

async fn close(app: &TestApp, token: &str, demand: &str, resolution: &str) -> TestResponse {
    app.post(
        &format!("/api/v1/survey/demands/{demand}/close"),
        Some(token),
        json!({ "resolution": resolution }),
    )
    .await
}

/// How many audit entries of `action` there are on `object`.
async fn audited(app: &TestApp, zone: &Zone, action: &str, object: &str) -> usize {
    let page = app
        .get(
            &format!("/api/v1/audit?action={action}&object_id={object}&limit=100"),
            Some(&zone.admin),
        )
        .await;
    page.assert_status(200);
    page.body["items"].as_array().unwrap().len()
}

const ROAD: (&str, &str) = ("物流", "园区道路限高影响货车进出");
const LOAN: (&str, &str) = ("融资", "希望申请技改贷款贴息");
const LAND: (&str, &str) = ("用地", "扩产需新增用地 20 亩");

async fn approving_takes_each_demand_once_and_unapproving_retracts_the_untouched(app: TestApp) {
    let zone = zone(&app).await;
    let (campaign, case) = a1_assigned(&app, &zone).await;
    submit_and_approve(&app, &zone, &case, answers_with(&[ROAD, LOAN]), 1).await;

    let taken = demands(&app, &zone.regulator, &campaign, "").await;
    assert_eq!(taken.len(), 2);
    for demand in &taken {
        assert_eq!(demand["state"], "open");
        assert_eq!(demand["case_id"], case.as_str());
        assert_eq!(demand["enterprise_id"], zone.enterprise("a1"));
        assert_eq!(demand["enterprise_name"], "福州甲一化工有限公司");
        assert_eq!(demand["sector_id"], zone.sa.as_str());
        assert_eq!(demand["park_id"], zone.p1.as_str());
        assert_eq!(demand["unit_id"], Value::Null);
        assert_eq!(demand["overdue"], false);
        assert_eq!(
            audited(
                &app,
                &zone,
                "survey.demand.create",
                demand["id"].as_str().unwrap()
            )
            .await,
            1
        );
    }
    let road = id_of(&taken, ROAD.1).to_owned();
    let loan = id_of(&taken, LOAN.1).to_owned();
    assign(&app, &zone.regulator, &road, &zone.p1, &day_from_today(7))
        .await
        .assert_status(200);

    // Un-approving retracts the demand nobody has started on; the assigned one stays.
    decided_with_a_reason(&app, &zone.regulator, &case, "unapprove", "联系电话有误").await;
    let kept = demands(&app, &zone.regulator, &campaign, "").await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["id"], road.as_str());
    assert_eq!(
        audited(&app, &zone, "survey.demand.retract", &loan).await,
        1
    );
    let gone = app
        .get(
            &format!("/api/v1/survey/demands/{loan}"),
            Some(&zone.regulator),
        )
        .await;
    gone.assert_status(404);

    // Returned, fixed with one more demand, approved again: the rows already held are
    // not taken twice, the retracted one comes back and the new one is added.
    review(
        &app,
        &zone.regulator,
        &case,
        json!({ "decision": "return", "note": "请补充诉求" }),
    )
    .await
    .assert_status(200);
    submit_and_approve(
        &app,
        &zone,
        &case,
        answers_with(&[ROAD, LOAN, LAND, ROAD]),
        2,
    )
    .await;
    let again = demands(&app, &zone.regulator, &campaign, "").await;
    let mut described: Vec<&str> = again
        .iter()
        .map(|d| d["description"].as_str().unwrap())
        .collect();
    described.sort_unstable();
    let mut expected = vec![ROAD.1, LOAN.1, LAND.1];
    expected.sort_unstable();
    assert_eq!(described, expected);
    assert_eq!(id_of(&again, ROAD.1), road);
    assert_eq!(
        again.iter().find(|d| d["id"] == road.as_str()).unwrap()["unit_id"],
        zone.p1.as_str()
    );

    // A case approved without demands takes none.
    let a2 = case_of(&app, &zone, &campaign, "a2").await;
    let a2 = a2["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/survey/campaigns/{campaign}/cases/assign"),
        Some(&zone.regulator),
        json!({ "case_ids": [a2], "surveyor_id": zone.sv1.0 }),
    )
    .await
    .assert_status(200);
    submit_and_approve(&app, &zone, a2, answers_with(&[]), 3).await;
    assert_eq!(demands(&app, &zone.regulator, &campaign, "").await.len(), 3);
}
api_test!(approving_takes_each_demand_once_and_unapproving_retracts_the_untouched);

async fn a_demand_is_assigned_followed_up_and_closed_once(app: TestApp) {
    let zone = zone(&app).await;
    let (campaign, case) = a1_assigned(&app, &zone).await;
    submit_and_approve(&app, &zone, &case, answers_with(&[ROAD, LOAN]), 1).await;
    let taken = demands(&app, &zone.regulator, &campaign, "").await;
    let road = id_of(&taken, ROAD.1).to_owned();

    let due = day_from_today(10);
    let assigned = assign(&app, &zone.regulator, &road, &zone.p1, &due).await;
    assigned.assert_status(200);
    assert_eq!(assigned.body["unit_id"], zone.p1.as_str());
    assert_eq!(assigned.body["unit_name"], "P1园区");
    assert_eq!(assigned.body["due_on"], due.as_str());
    assert_eq!(assigned.body["state"], "open");
    // Handed on to another unit with another deadline.
    let later = day_from_today(20);
    let moved = assign(&app, &zone.regulator, &road, &zone.sa, &later).await;
    moved.assert_status(200);
    assert_eq!(moved.body["unit_id"], zone.sa.as_str());
    assert_eq!(moved.body["due_on"], later.as_str());
    assert_eq!(audited(&app, &zone, "survey.demand.assign", &road).await, 2);

    // A note, its retry (the same note, nothing written) and a reused client id.
    let first = note(&app, &zone.regulator, &road, "已联系交警部门", "note-0001").await;
    first.assert_status(201);
    assert_eq!(first.body["text"], "已联系交警部门");
    let retry = note(&app, &zone.regulator, &road, "已联系交警部门", "note-0001").await;
    retry.assert_status(200);
    assert_eq!(retry.body["id"], first.body["id"]);
    let reused = note(&app, &zone.regulator, &road, "另一条进展", "note-0001").await;
    reused.assert_status(422);
    assert_eq!(reused.code(), "idempotency_key_reused");
    note(&app, &zone.admin, &road, "拟调整限高杆位置", "note-0002")
        .await
        .assert_status(201);
    assert_eq!(audited(&app, &zone, "survey.demand.note", &road).await, 2);

    let detail = app
        .get(
            &format!("/api/v1/survey/demands/{road}"),
            Some(&zone.regulator),
        )
        .await;
    detail.assert_status(200);
    assert_eq!(detail.body["demand"]["id"], road.as_str());
    let notes: Vec<&str> = detail.body["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["已联系交警部门", "拟调整限高杆位置"]);

    // Closed (销号) once; a closed demand takes no second closure, note or assignment.
    let closed = close(&app, &zone.regulator, &road, "限高杆已移至外环路").await;
    closed.assert_status(200);
    assert_eq!(closed.body["state"], "closed");
    assert_eq!(closed.body["resolution"], "限高杆已移至外环路");
    assert!(closed.body["closed_at"].is_string());
    for refused in [
        close(&app, &zone.regulator, &road, "再次销号").await,
        note(&app, &zone.regulator, &road, "销号后的进展", "note-0003").await,
        assign(&app, &zone.regulator, &road, &zone.p1, &due).await,
    ] {
        refused.assert_status(409);
        assert_eq!(refused.code(), "invalid_transition");
    }
    // The retry of a note written before the closure is still the same note.
    note(&app, &zone.regulator, &road, "已联系交警部门", "note-0001")
        .await
        .assert_status(200);
    assert_eq!(audited(&app, &zone, "survey.demand.close", &road).await, 1);
    let closed_list = demands(&app, &zone.regulator, &campaign, "&state=closed").await;
    assert_eq!(closed_list.len(), 1);
    assert_eq!(
        demands(&app, &zone.regulator, &campaign, "&state=open")
            .await
            .len(),
        1
    );
}
api_test!(a_demand_is_assigned_followed_up_and_closed_once);

/// The counts of a summary line, without its names.
fn counts(line: &Value) -> Value {
    json!({
        "total": line["total"], "open": line["open"], "closed": line["closed"],
        "unassigned": line["unassigned"], "overdue": line["overdue"],
        "closure_rate": line["closure_rate"], "overdue_rate": line["overdue_rate"],
    })
}

fn line<'a>(lines: &'a Value, id: &str) -> &'a Value {
    lines
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap()
}

async fn overdue_and_closure_rates_are_counted_per_sector_park_and_unit(app: TestApp) {
    let zone = zone(&app).await;
    let (campaign, a1) = a1_assigned(&app, &zone).await;
    let a3 = case_of(&app, &zone, &campaign, "a3").await;
    let a3 = a3["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/survey/campaigns/{campaign}/cases/assign"),
        Some(&zone.regulator),
        json!({ "case_ids": [a3], "surveyor_id": zone.sv1.0 }),
    )
    .await
    .assert_status(200);
    submit_and_approve(&app, &zone, &a1, answers_with(&[ROAD, LOAN, LAND]), 1).await;
    submit_and_approve(&app, &zone, &a3, answers_with(&[ROAD]), 2).await;
    let taken = demands(&app, &zone.regulator, &campaign, "").await;
    assert_eq!(taken.len(), 4);
    let of_case = |case: &str, description: &str| {
        taken
            .iter()
            .find(|d| d["case_id"] == case && d["description"] == description)
            .and_then(|d| d["id"].as_str())
            .unwrap()
            .to_owned()
    };
    let (a1_road, a1_loan, a3_road) = (
        of_case(&a1, ROAD.1),
        of_case(&a1, LOAN.1),
        of_case(&a3, ROAD.1),
    );
    let due = day_from_today(7);
    assign(&app, &zone.regulator, &a1_road, &zone.p1, &due)
        .await
        .assert_status(200);
    assign(&app, &zone.regulator, &a1_loan, &zone.sa, &due)
        .await
        .assert_status(200);
    assign(&app, &zone.regulator, &a3_road, &zone.sa, &due)
        .await
        .assert_status(200);
    close(&app, &zone.regulator, &a1_road, "已办结")
        .await
        .assert_status(200);
    // The loan's deadline passes: moved into the past in the database, as time would.
    diesel::sql_query(format!(
        "UPDATE survey_demands SET due_on = '2020-01-01' WHERE id = '{a1_loan}'"
    ))
    .execute(&mut app.raw_connection())
    .unwrap();

    let summary = app
        .get(
            &format!("/api/v1/survey/demands/summary?campaign_id={campaign}"),
            Some(&zone.regulator),
        )
        .await;
    summary.assert_status(200);
    let body = &summary.body;
    assert_eq!(body["campaign_id"], campaign.as_str());
    // a1 (SA × P1): road closed, loan overdue, land unassigned; a3 (SA × P2): road open.
    let third = 0.3333;
    assert_eq!(
        counts(&body["total"]),
        json!({ "total": 4, "open": 3, "closed": 1, "unassigned": 1, "overdue": 1,
                "closure_rate": 0.25, "overdue_rate": 0.25 })
    );
    let cells = body["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    let cell = |park: &str| cells.iter().find(|c| c["park_id"] == park).unwrap();
    assert_eq!(cell(&zone.p1)["sector_id"], zone.sa.as_str());
    assert_eq!(
        counts(cell(&zone.p1)),
        json!({ "total": 3, "open": 2, "closed": 1, "unassigned": 1, "overdue": 1,
                "closure_rate": third, "overdue_rate": third })
    );
    assert_eq!(
        counts(cell(&zone.p2)),
        json!({ "total": 1, "open": 1, "closed": 0, "unassigned": 0, "overdue": 0,
                "closure_rate": 0.0, "overdue_rate": 0.0 })
    );
    assert_eq!(
        counts(line(&body["sectors"], &zone.sa)),
        counts(&body["total"])
    );
    assert_eq!(
        counts(line(&body["parks"], &zone.p2)),
        counts(cell(&zone.p2))
    );
    // Per unit: the park took the road and closed it; the sector holds two, one overdue.
    let units = body["units"].as_array().unwrap();
    assert_eq!(units.len(), 2);
    assert_eq!(
        counts(line(&body["units"], &zone.p1)),
        json!({ "total": 1, "open": 0, "closed": 1, "unassigned": 0, "overdue": 0,
                "closure_rate": 1.0, "overdue_rate": 0.0 })
    );
    assert_eq!(
        counts(line(&body["units"], &zone.sa)),
        json!({ "total": 2, "open": 2, "closed": 0, "unassigned": 0, "overdue": 1,
                "closure_rate": 0.0, "overdue_rate": 0.5 })
    );
    assert_eq!(line(&body["units"], &zone.sa)["name"], "SA行业");

    // The list's filters agree.
    let ids = |items: Vec<Value>| -> Vec<String> {
        let mut ids: Vec<String> = items
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort_unstable();
        ids
    };
    let overdue = demands(&app, &zone.regulator, &campaign, "&overdue=true").await;
    assert_eq!(ids(overdue.clone()), [a1_loan.as_str()]);
    assert_eq!(overdue[0]["overdue"], true);
    assert_eq!(
        demands(&app, &zone.regulator, &campaign, "&overdue=false")
            .await
            .len(),
        3
    );
    let mut sector_units = vec![a1_loan.clone(), a3_road.clone()];
    sector_units.sort_unstable();
    let by_unit = demands(
        &app,
        &zone.regulator,
        &campaign,
        &format!("&unit_id={}", zone.sa),
    )
    .await;
    assert_eq!(ids(by_unit), sector_units);
    let in_p2 = demands(
        &app,
        &zone.regulator,
        &campaign,
        &format!("&park_id={}", zone.p2),
    )
    .await;
    assert_eq!(ids(in_p2), [a3_road.as_str()]);
    let in_sb = demands(
        &app,
        &zone.regulator,
        &campaign,
        &format!("&sector_id={}", zone.sb),
    )
    .await;
    assert!(in_sb.is_empty());
    // Pages follow one another.
    let first = app
        .get(
            &format!("/api/v1/survey/demands?campaign_id={campaign}&limit=3"),
            Some(&zone.regulator),
        )
        .await;
    first.assert_status(200);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/survey/demands?campaign_id={campaign}&limit=3&cursor={cursor}"),
            Some(&zone.regulator),
        )
        .await;
    rest.assert_status(200);
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["next_cursor"], Value::Null);
}
api_test!(overdue_and_closure_rates_are_counted_per_sector_park_and_unit);

async fn officials_see_their_enterprises_demands_and_those_assigned_to_their_unit(app: TestApp) {
    let zone = zone(&app).await;
    let (campaign, case) = a1_assigned(&app, &zone).await;
    submit_and_approve(&app, &zone, &case, answers_with(&[ROAD, LOAN]), 1).await;
    let taken = demands(&app, &zone.regulator, &campaign, "").await;
    let (road, loan) = (
        id_of(&taken, ROAD.1).to_owned(),
        id_of(&taken, LOAN.1).to_owned(),
    );
    // An official of a1's sector SA, and the official of sector SC (zone.other_official).
    app.create_user(&zone.admin, "offa", "sector_official", &[&zone.sa], &[])
        .await;
    let sa_official = app.tokens("offa", USER_PASSWORD).await.0;
    let sc_official = &zone.other_official;

    // SC sees nothing of a1's demands: not found, whatever it tries.
    assert!(demands(&app, sc_official, &campaign, "").await.is_empty());
    for response in [
        app.get(&format!("/api/v1/survey/demands/{road}"), Some(sc_official))
            .await,
        assign(&app, sc_official, &road, &zone.sc, &day_from_today(5)).await,
        note(&app, sc_official, &road, "越权进展", "note-sc-01").await,
        close(&app, sc_official, &road, "越权销号").await,
    ] {
        response.assert_status(404);
    }
    let summary = app
        .get("/api/v1/survey/demands/summary", Some(sc_official))
        .await;
    summary.assert_status(200);
    assert_eq!(summary.body["total"]["total"], 0);

    // SA's official holds the enterprise: it hands the road to SC.
    assign(&app, &sa_official, &road, &zone.sc, &day_from_today(5))
        .await
        .assert_status(200);
    assert_eq!(demands(&app, &sa_official, &campaign, "").await.len(), 2);

    // SC now sees the road (and only it), follows it up and closes it, but cannot
    // hand it on.
    let seen = demands(&app, sc_official, "", "").await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["id"], road.as_str());
    app.get(&format!("/api/v1/survey/demands/{loan}"), Some(sc_official))
        .await
        .assert_status(404);
    let handing_on = assign(&app, sc_official, &road, &zone.sb, &day_from_today(5)).await;
    handing_on.assert_status(403);
    assert_eq!(handing_on.code(), "forbidden");
    note(&app, sc_official, &road, "已现场核实", "note-sc-02")
        .await
        .assert_status(201);
    close(&app, sc_official, &road, "已协调解决")
        .await
        .assert_status(200);
    let summary = app
        .get(
            &format!("/api/v1/survey/demands/summary?campaign_id={campaign}"),
            Some(sc_official),
        )
        .await;
    summary.assert_status(200);
    assert_eq!(summary.body["total"]["total"], 1);
    assert_eq!(summary.body["total"]["closed"], 1);
    assert_eq!(line(&summary.body["units"], &zone.sc)["closure_rate"], 1.0);

    // Surveyors and enterprise contacts have no part in the ledger.
    for token in [&zone.sv1.1, &zone.contact] {
        for response in [
            app.get("/api/v1/survey/demands", Some(token)).await,
            app.get("/api/v1/survey/demands/summary", Some(token)).await,
            app.get(&format!("/api/v1/survey/demands/{loan}"), Some(token))
                .await,
            note(&app, token, &loan, "无权进展", "note-sv-01").await,
        ] {
            response.assert_status(403);
        }
    }
    // An unknown id is not found, even for the zone.
    app.get(
        "/api/v1/survey/demands/019ae3b1-0000-7000-8000-000000000000",
        Some(&zone.regulator),
    )
    .await
    .assert_status(404);
}
api_test!(officials_see_their_enterprises_demands_and_those_assigned_to_their_unit);

async fn bad_input_is_refused_with_field_errors_and_writes_nothing(app: TestApp) {
    let zone = zone(&app).await;
    let (campaign, case) = a1_assigned(&app, &zone).await;
    submit_and_approve(&app, &zone, &case, answers_with(&[ROAD]), 1).await;
    let road = demands(&app, &zone.regulator, &campaign, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown_unit = "019ae3b1-0000-7000-8000-000000000000";

    let cases: Vec<(TestResponse, (&str, &str))> = vec![
        (
            assign(
                &app,
                &zone.regulator,
                &road,
                unknown_unit,
                &day_from_today(3),
            )
            .await,
            ("unit_id", "unknown_unit"),
        ),
        (
            assign(&app, &zone.regulator, &road, &zone.p1, &day_from_today(-1)).await,
            ("due_on", "out_of_range"),
        ),
        (
            assign(&app, &zone.regulator, &road, &zone.p1, &day_from_today(400)).await,
            ("due_on", "out_of_range"),
        ),
        (
            assign(&app, &zone.regulator, &road, &zone.p1, "2026/12/31").await,
            ("due_on", "invalid_date"),
        ),
        (
            note(&app, &zone.regulator, &road, "   ", "note-bad-01").await,
            ("text", "required"),
        ),
        (
            note(
                &app,
                &zone.regulator,
                &road,
                &"长".repeat(1001),
                "note-bad-02",
            )
            .await,
            ("text", "too_long"),
        ),
        (
            note(&app, &zone.regulator, &road, "进展", "x").await,
            ("client_id", "invalid_client_id"),
        ),
        (
            close(&app, &zone.regulator, &road, "").await,
            ("resolution", "required"),
        ),
    ];
    for (response, (field, code)) in cases {
        response.assert_status(422);
        assert_eq!(
            field_codes(&response),
            vec![(field.to_owned(), code.to_owned())]
        );
    }
    let missing = app
        .post(
            &format!("/api/v1/survey/demands/{road}/assign"),
            Some(&zone.regulator),
            json!({ "unit_id": zone.p1 }),
        )
        .await;
    missing.assert_status(422);
    assert_eq!(
        field_codes(&missing),
        vec![("due_on".to_owned(), "required".to_owned())]
    );
    let bad_state = app
        .get(
            "/api/v1/survey/demands?state=pending",
            Some(&zone.regulator),
        )
        .await;
    bad_state.assert_status(422);

    // Nothing was written.
    let detail = app
        .get(
            &format!("/api/v1/survey/demands/{road}"),
            Some(&zone.regulator),
        )
        .await;
    detail.assert_status(200);
    assert_eq!(detail.body["demand"]["state"], "open");
    assert_eq!(detail.body["demand"]["unit_id"], Value::Null);
    assert!(detail.body["notes"].as_array().unwrap().is_empty());
    assert_eq!(audited(&app, &zone, "survey.demand.assign", &road).await, 0);

    // A unit that holds a demand is not deleted from under it.
    let p9 = app.create_park(&zone.admin, "P9").await;
    assign(&app, &zone.regulator, &road, &p9, &day_from_today(3))
        .await
        .assert_status(200);
    let deleted = app
        .delete(&format!("/api/v1/parks/{p9}"), Some(&zone.admin))
        .await;
    deleted.assert_status(409);
    assert_eq!(deleted.code(), "org_unit_in_use");
}
api_test!(bad_input_is_refused_with_field_errors_and_writes_nothing);
