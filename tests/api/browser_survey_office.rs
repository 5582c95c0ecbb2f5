//! The survey's office pages in headless Chromium, on a phone and on an office
//! screen (as `browser` runs the other console flows): the official of a sector
//! creates a campaign, starts it and assigns it evenly; once the surveyor has
//! visited and submitted (through the API), the official returns the answers with a
//! comment on one field, and once they are fixed approves them, and the ledger's
//! cell counts the approval. No page scrolls sideways.
//!
//! With `TEST_SCREENSHOTS=<dir>` the review and ledger pages are saved there as PNG
//! at each size.

use fantoccini::Client;
use serde_json::json;

use crate::browser::{
    OFFICE, PHONE, Screen, assert_fits, at_sizes, click, find, open_from_navigation, script,
    sign_in, text_of, wait_for,
};
use crate::console_survey_office::surveyed;
use crate::helpers::{TestApp, USER_PASSWORD};
use crate::survey::{answers, case_of, zone};

/// Saves what the browser shows as `<TEST_SCREENSHOTS>/<name>-<width>x<height>.png`.
async fn screenshot(client: &Client, screen: Screen, name: &str) {
    let Ok(dir) = std::env::var("TEST_SCREENSHOTS") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    let path = format!("{dir}/{name}-{}x{}.png", screen.width, screen.height);
    std::fs::write(path, png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_runs_a_campaign_and_reviews_its_answers_on_a_phone_and_an_office_screen() {
    at_sizes(&[PHONE, OFFICE], |_| {}, office_flow).await;
}

async fn office_flow(client: Client, app: TestApp, screen: Screen) {
    let zone = zone(&app).await;
    app.create_user(&zone.admin, "offa", "sector_official", &[&zone.sa], &[])
        .await;

    // 1. Created from the navigation's 摸排 entry, within the official's sector.
    sign_in(&client, &app, "offa", USER_PASSWORD).await;
    open_from_navigation(&client, "/console/survey/campaigns", "form#create").await;
    assert_fits(&client, screen).await;
    find(&client, "#name")
        .await
        .send_keys("甲行业冬季摸排")
        .await
        .unwrap();
    script(
        &client,
        "document.getElementById('starts_on').value = '2026-12-07';\
         document.getElementById('ends_on').value = '2026-12-31';",
    )
    .await;
    click(
        &client,
        &format!("input[name=sector_id][value='{}']", zone.sa),
    )
    .await;
    click(&client, "form#create button[type=submit]").await;

    // 2. Started, then assigned evenly over the sector's two surveyors.
    wait_for(&client, "form[action$='/status'] input[value=running]").await;
    assert!(text_of(&client, "h1").await.contains("草稿"));
    let url = client.current_url().await.unwrap().to_string();
    let campaign = url.rsplit('/').next().unwrap().to_owned();
    click(
        &client,
        "form[action$='/status']:has(input[value=running]) button",
    )
    .await;
    wait_for(&client, "form#balanced").await;
    assert!(text_of(&client, "h1").await.contains("进行中"));
    assert_fits(&client, screen).await;
    click(&client, "form#balanced button[type=submit]").await;
    let notice = wait_for(&client, "p.notice.ok").await.text().await.unwrap();
    assert!(notice.contains("已分配 4 个摸排对象"), "{notice}");
    assert_fits(&client, screen).await;

    // 3. The surveyor of a1 visits and submits (API).
    let case = case_of(&app, &zone, &campaign, "a1").await;
    let id = case["id"].as_str().unwrap().to_owned();
    let token = if case["assignee_id"] == zone.sv1.0.as_str() {
        zone.sv1.1.clone()
    } else {
        zone.sv2.1.clone()
    };
    surveyed(&app, &token, &id, answers(), 1).await;

    // 4. From the review queue: returned with a comment on the employees.
    let base = &app.address;
    client
        .goto(&format!(
            "{base}/console/survey/campaigns/{campaign}/review"
        ))
        .await
        .unwrap();
    click(&client, &format!("a[href='/console/survey/review/{id}']")).await;
    wait_for(&client, "form#decide").await;
    assert_fits(&client, screen).await;
    screenshot(&client, screen, "review").await;
    find(&client, "textarea[aria-label='从业人员 的退回意见']")
        .await
        .send_keys("人数与社保记录不符，请核实")
        .await
        .unwrap();
    click(&client, "form#decide button[value=return]").await;
    wait_for(&client, "h1 .s-returned").await;
    let history = text_of(&client, "main").await;
    assert!(
        history.contains("从业人员：人数与社保记录不符，请核实"),
        "{history}"
    );

    // 5. Fixed (API); the ledger's cell has no approval yet.
    let mut fixed = answers();
    fixed["employees"] = json!(24);
    surveyed(&app, &token, &id, fixed, 2).await;
    client
        .goto(&format!(
            "{base}/console/survey/campaigns/{campaign}/ledger"
        ))
        .await
        .unwrap();
    let cell = format!(
        "#matrix a[href*='sector_id={}'][href*='park_id={}']",
        zone.sa, zone.p1
    );
    assert_eq!(
        wait_for(&client, &cell).await.text().await.unwrap(),
        "0 / 2"
    );

    // 6. Approved, with the change shown; the cell counts it.
    client
        .goto(&format!("{base}/console/survey/review/{id}"))
        .await
        .unwrap();
    let diff = wait_for(&client, "#diff").await.text().await.unwrap();
    assert!(diff.contains("从业人员") && diff.contains("24"), "{diff}");
    click(&client, "form#decide button[value=approve]").await;
    wait_for(&client, "h1 .s-approved").await;
    client
        .goto(&format!(
            "{base}/console/survey/campaigns/{campaign}/ledger"
        ))
        .await
        .unwrap();
    assert_eq!(
        wait_for(&client, &cell).await.text().await.unwrap(),
        "1 / 2"
    );
    wait_for(&client, "svg.chart").await;
    assert_fits(&client, screen).await;
    screenshot(&client, screen, "ledger").await;
}
