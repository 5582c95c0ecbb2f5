//! A surveyor on a 390x844 phone in headless Chromium: signs in to their cases,
//! records a failed phone attempt, a site visit with a photo, and fills the
//! questionnaire while the network is cut. The draft stays on the phone across a
//! reload and is sent exactly once when the network is back; a return's comment shows
//! next to its field, the surveyor fixes it and resubmits, the official approves.
//! A photo taken offline for a photo question is uploaded first when the network is
//! back, and the answers then name it.
//!
//! How the network is cut, honestly: first ChromeDriver's network conditions put the
//! browser offline (Chrome's DevTools emulation: `navigator.onLine` turns false, the
//! `offline` event fires, every request fails). A page cannot be reloaded with no
//! network at all (these pages have no service worker), so for the reload the
//! browser is back online but DevTools blocks the writes' addresses (`Network.
//! setBlockedURLs`): the page loads, its script's POST fails at the network layer as
//! on a flaky line, and the draft must survive. Lifting the block and loading again
//! is the reconnection. The server is never told anything.
//!
//! Needs Debian's `chromium` and `chromium-driver` (see `browser`).

use fantoccini::Client;
use serde_json::{Value, json};

use crate::browser::{
    Chromium, PHONE, Screen, assert_fits, at_sizes, click, find, offline, script, wait_for,
};
use crate::helpers::{TestApp, USER_PASSWORD, picture};
use crate::survey::{a1_assigned, review, zone};

/// Where the screenshots go, for a person to look at.
const SHOTS: &str = "/tmp/shots-field";

/// Makes requests to addresses matching `patterns` fail in the network layer.
async fn block(client: &Client, patterns: &[&str]) {
    for (cmd, params) in [
        ("Network.enable", json!({})),
        ("Network.setBlockedURLs", json!({ "urls": patterns })),
    ] {
        client
            .issue_cmd(Chromium {
                path: "goog/cdp/execute",
                body: json!({ "cmd": cmd, "params": params }),
            })
            .await
            .unwrap();
    }
}

async fn screenshot(client: &Client, name: &str) {
    std::fs::create_dir_all(SHOTS).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(format!("{SHOTS}/{name}.png"), png).unwrap();
}

/// Waits until the sync bar says `text`.
async fn bar_says(client: &Client, text: &str) {
    let started = std::time::Instant::now();
    loop {
        let shown = script(
            client,
            "var b=document.getElementById('sync');return b?b.textContent:''",
        )
        .await;
        if shown.as_str().is_some_and(|s| s.contains(text)) {
            return;
        }
        assert!(
            started.elapsed() < crate::browser::WAIT,
            "the bar says {shown}, not {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Sets a questionnaire field (text) as typed.
async fn fill(client: &Client, name: &str, text: &str) {
    let input = find(client, &format!("form[data-kind=answers] [name='{name}']")).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

async fn answers(app: &TestApp, token: &str, case: &str) -> Value {
    let found = app
        .get(&format!("/api/v1/survey/cases/{case}/answers"), Some(token))
        .await;
    found.assert_status(200);
    found.body
}

async fn case_photos(app: &TestApp, token: &str, case: &str) -> Vec<Value> {
    let found = app
        .get(&format!("/api/v1/survey/cases/{case}/photos"), Some(token))
        .await;
    found.assert_status(200);
    found.body["items"].as_array().unwrap().clone()
}

async fn visit_count(app: &TestApp, token: &str, case: &str) -> usize {
    let found = app
        .get(&format!("/api/v1/survey/cases/{case}"), Some(token))
        .await;
    found.body["visits"].as_array().unwrap().len()
}

/// Surveyor sv1 signs in and lands on their cases, in sync.
async fn sign_in_as_sv1(client: &Client, app: &TestApp) {
    client
        .goto(&format!("{}/console/login", app.address))
        .await
        .unwrap();
    find(client, "#username")
        .await
        .send_keys("sv1")
        .await
        .unwrap();
    find(client, "#password")
        .await
        .send_keys(USER_PASSWORD)
        .await
        .unwrap();
    click(client, "button[type=submit]").await;
    wait_for(client, "ul.cases a.case").await;
    bar_says(client, "已同步").await;
}

async fn history_has(client: &Client, visits: usize) {
    wait_for(client, &format!("ol.history li:nth-child({visits})")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_surveyor_records_visits_and_answers_through_a_network_cut_on_a_phone() {
    at_sizes(&[PHONE], |_| {}, surveyor_flow).await;
}

async fn surveyor_flow(client: Client, app: TestApp, screen: Screen) {
    // 1. The campaign, the case assigned to sv1, the officials (through the API).
    let zone = zone(&app).await;
    let (_, case) = a1_assigned(&app, &zone).await;
    let token = zone.sv1.1.clone();

    // 2. Signs in and lands on their cases.
    sign_in_as_sv1(&client, &app).await;
    assert_fits(&client, screen).await;
    screenshot(&client, "my-cases").await;

    // 3. The case; a failed phone call.
    click(&client, "ul.cases a.case").await;
    wait_for(&client, "form[data-kind=visit]").await;
    assert_fits(&client, screen).await;
    screenshot(&client, "case").await;
    click(&client, "input[name=method][value=phone]").await;
    click(&client, "input[name=outcome][value=no_answer]").await;
    click(&client, "form[data-kind=visit] button[type=submit]").await;
    history_has(&client, 1).await;
    assert_eq!(visit_count(&app, &token, &case).await, 1);

    // 4. A site visit with a photo taken on the phone.
    let photo = std::env::temp_dir().join(format!("site-{}.png", std::process::id()));
    std::fs::write(&photo, picture(64, 48, image::ImageFormat::Png)).unwrap();
    wait_for(&client, ".photos input#photo").await;
    click(&client, "input[name=method][value=site_visit]").await;
    click(&client, "input[name=outcome][value=completed]").await;
    find(&client, "input#photo")
        .await
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    click(&client, "form[data-kind=visit] button[type=submit]").await;
    history_has(&client, 2).await;
    wait_for(&client, "#sync:not([hidden])").await;
    bar_says(&client, "已同步").await;
    let photos = app
        .get(&format!("/api/v1/survey/cases/{case}/photos"), Some(&token))
        .await;
    assert_eq!(
        photos.body["items"].as_array().unwrap().len(),
        1,
        "one photo"
    );
    assert_eq!(visit_count(&app, &token, &case).await, 2);

    // 5. The questionnaire; the network goes in the middle of it.
    fill(&client, "contact_person", "王敏").await;
    fill(&client, "contact_phone", "13800138000").await;
    click(&client, "input[name=status][value='正常经营']").await;
    offline(&client, true).await;
    fill(&client, "employees", "20").await;
    fill(&client, "revenue", "3000").await;
    fill(&client, "tax", "120").await;
    fill(&client, "products[0].name", "液碱").await;
    click(&client, "input[name=receives_trucks][value=yes]").await;
    fill(&client, "trucks_per_day", "5").await;
    click(&client, "form[data-kind=answers] button[type=submit]").await;
    bar_says(&client, "离线，已保存草稿 1 条").await;
    assert!(answers(&app, &token, &case).await["current"].is_null());

    // 6. Reloaded on a line that loads pages but loses the writes: the draft stays.
    block(&client, &["*/answers"]).await;
    offline(&client, false).await;
    client.refresh().await.unwrap();
    let draft = wait_for(&client, "#drafts .draft")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        draft.contains("问卷草稿") && draft.contains("联网后自动提交"),
        "{draft}"
    );
    let kept = script(
        &client,
        "return JSON.parse(localStorage.getItem('truckpass.survey.queue')).length",
    )
    .await;
    assert_eq!(kept, json!(1));
    assert!(answers(&app, &token, &case).await["current"].is_null());

    // 7. The network is back: the draft goes, once.
    block(&client, &[]).await;
    client.refresh().await.unwrap();
    wait_for(&client, ".badge.rv-received").await;
    bar_says(&client, "已同步").await;
    client.refresh().await.unwrap();
    bar_says(&client, "已同步").await;
    let sent = answers(&app, &token, &case).await;
    assert_eq!(sent["current"]["version"], 1, "sent exactly once");
    assert_eq!(sent["current"]["answers"]["employees"], 20);
    assert_eq!(visit_count(&app, &token, &case).await, 2);

    // 8. Returned with a comment: it sits next to the field; fixed and resubmitted.
    let comments = json!({ "decision": "return",
                           "comments": { "employees": "人数与社保记录不符，请核实" } });
    review(&app, &zone.regulator, &case, comments)
        .await
        .assert_status(200);
    client.refresh().await.unwrap();
    let comment = wait_for(&client, "#q-employees .comment").await;
    assert!(comment.text().await.unwrap().contains("人数与社保记录不符"));
    assert_fits(&client, screen).await;
    screenshot(&client, "case-returned").await;
    fill(&client, "employees", "25").await;
    fill(&client, "contact_phone", "13800138000").await;
    click(&client, "form[data-kind=answers] button[type=submit]").await;
    wait_for(&client, ".badge.rv-received").await;
    bar_says(&client, "已同步").await;
    let resubmitted = answers(&app, &token, &case).await;
    assert_eq!(resubmitted["current"]["version"], 2);
    assert_eq!(resubmitted["current"]["answers"]["employees"], 25);

    // 9. The official approves.
    let approved = review(
        &app,
        &zone.regulator,
        &case,
        json!({ "decision": "approve" }),
    )
    .await;
    approved.assert_status(200);
    assert_eq!(approved.body["case"]["review"], "approved");
    std::fs::remove_file(photo).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_taken_offline_for_a_question_is_uploaded_then_answered_once() {
    at_sizes(&[PHONE], |_| {}, photo_question_flow).await;
}

async fn photo_question_flow(client: Client, app: TestApp, screen: Screen) {
    let zone = zone(&app).await;
    let (_, case) = a1_assigned(&app, &zone).await;
    let token = zone.sv1.1.clone();
    sign_in_as_sv1(&client, &app).await;
    click(&client, "ul.cases a.case").await;
    // The script shows the question's camera.
    let camera =
        "form[data-kind=answers] .photos:not([hidden]) input[data-photo-for=storefront_photos]";
    wait_for(&client, camera).await;
    fill(&client, "contact_person", "王敏").await;
    fill(&client, "contact_phone", "13800138000").await;
    click(&client, "input[name=status][value='正常经营']").await;
    fill(&client, "employees", "20").await;
    click(&client, "input[name=receives_trucks][value=no]").await;

    // Offline: the photo and the answers wait on the phone, nothing reaches the server.
    offline(&client, true).await;
    let photo = std::env::temp_dir().join(format!("front-{}.png", std::process::id()));
    std::fs::write(&photo, picture(64, 48, image::ImageFormat::Png)).unwrap();
    find(&client, camera)
        .await
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    click(&client, "form[data-kind=answers] button[type=submit]").await;
    bar_says(&client, "离线，已保存草稿 2 条").await;
    assert!(case_photos(&app, &token, &case).await.is_empty());
    assert!(answers(&app, &token, &case).await["current"].is_null());

    // Back online: the photo goes first, then the answers naming it, each once.
    offline(&client, false).await;
    wait_for(&client, ".badge.rv-received").await;
    bar_says(&client, "已同步").await;
    let stored = case_photos(&app, &token, &case).await;
    assert_eq!(stored.len(), 1, "one photo");
    let id = stored[0]["id"].as_str().unwrap();
    let sent = answers(&app, &token, &case).await;
    assert_eq!(sent["current"]["version"], 1, "sent exactly once");
    assert_eq!(sent["current"]["answers"]["storefront_photos"], json!([id]));
    // The page shows it ticked, as a picture.
    wait_for(
        &client,
        &format!("input[name=storefront_photos][value='{id}']:checked"),
    )
    .await;
    // The thumbnail loads (lazily, once it is in view).
    let started = std::time::Instant::now();
    loop {
        let width = script(
            &client,
            "var i=document.querySelector('label.shot img');i.scrollIntoView();\
             return i.complete?i.naturalWidth:0",
        )
        .await;
        if width == json!(64) {
            break;
        }
        assert!(
            started.elapsed() < crate::browser::WAIT,
            "the thumbnail is {width} px wide"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_fits(&client, screen).await;
    screenshot(&client, "photo-question").await;
    std::fs::remove_file(photo).unwrap();
}
