//! A gate guard on a 390x844 phone in headless Chromium: signs in and lands on the
//! scanner, then scans passes from pictures of their QR codes (the pass page's own
//! QR image, given to the page's 拍照识别 file input; the page's script decodes it
//! with the vendored jsQR and posts the scan): an approved pass is green 准予入园 with
//! its masked plate, the same again red 该车辆已在园内, switched to exit green
//! 准予离园, and a cancelled pass red 通行证已被取消; then a third pass held up to the
//! camera (Chromium's fake camera playing a picture of its QR code) is green. The
//! scans are read back through the API. Then the network is cut (DevTools network
//! emulation): a signed approved pass is green offline, one cancelled since is red
//! from the revocation list the page kept; back online, both reach the server once.
//!
//! Needs Debian's `chromium` and `chromium-driver` (see `browser`).

use std::time::Instant;

use fantoccini::Client;

use serde_json::{Value, json};
use sha2::Digest;

use crate::browser::{
    OFFICE, PHONE, Screen, WAIT, assert_fits, at_sizes, at_sizes_with, click, find, offline,
    script, sign_in, wait_for,
};
use crate::gate::{approved_pass, gate, pass_arriving};
use crate::helpers::{Staff, TestApp, USER_PASSWORD};
use crate::registrations::{approve, cancel};

/// Where the app says it is: the pass's QR code carries this.
const PUBLIC_BASE_URL: &str = "http://truckpass.test";
/// Where the screenshots go, for a person to look at.
const SHOTS: &str = "/tmp/shots-gate";

/// The pass page's QR image of `token`, written to a PNG file: its path.
async fn qr_picture(app: &TestApp, token: &str, name: &str) -> String {
    let page = app.get(&format!("/p/{token}"), None).await;
    page.assert_status(200);
    let marker = "src=\"data:image/png;base64,";
    let start = page.text.find(marker).expect("the pass's QR image") + marker.len();
    let encoded = page.text[start..].split('"').next().unwrap();
    let png = data_encoding::BASE64.decode(encoded.as_bytes()).unwrap();
    let path = std::env::temp_dir().join(format!("gate-{}-{name}.png", std::process::id()));
    std::fs::write(&path, png).unwrap();
    path.to_string_lossy().into_owned()
}

/// Gives the picture at `path` to the page's 拍照识别 input.
async fn scan_picture(client: &Client, path: &str) {
    find(client, "#shot").await.send_keys(path).await.unwrap();
}

/// Waits until the answer is `result` (accepted or refused) and says `words`.
async fn answer_says(client: &Client, result: &str, words: &str) {
    let started = Instant::now();
    let css = format!("#answer [data-result={result}]");
    loop {
        let shown = script(
            client,
            &format!("var a=document.querySelector('{css}');return a?a.textContent:''"),
        )
        .await;
        if shown.as_str().is_some_and(|text| text.contains(words)) {
            return;
        }
        assert!(
            started.elapsed() < WAIT,
            "the answer is not {result} {words}: {}",
            find(client, "#scan").await.text().await.unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn screenshot(client: &Client, name: &str) {
    std::fs::create_dir_all(SHOTS).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(format!("{SHOTS}/{name}.png"), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_scans_passes_from_pictures_and_the_camera_on_a_phone() {
    // Chromium's fake camera plays this file (written by the flow before the camera
    // opens), the permission granted as a guard would.
    let args = [
        "--use-fake-ui-for-media-stream".to_owned(),
        "--use-fake-device-for-media-stream".to_owned(),
        format!("--use-file-for-fake-video-capture={}", camera_file()),
    ];
    at_sizes_with(
        &[PHONE],
        &args,
        |settings| settings.public_base_url = Some(PUBLIC_BASE_URL.into()),
        guard_flow,
    )
    .await;
}

/// The fake camera's video: MJPEG frames.
fn camera_file() -> String {
    std::env::temp_dir()
        .join(format!("gate-camera-{}.mjpeg", std::process::id()))
        .to_string_lossy()
        .into_owned()
}

/// Puts the QR code of the PNG at `png` in the middle of a 640x480 camera frame and
/// writes it as the fake camera's video.
fn film(png: &str) {
    let qr = image::open(png).unwrap().to_rgb8();
    let mut frame = image::RgbImage::from_pixel(640, 480, image::Rgb([235, 235, 235]));
    let x = (640 - i64::from(qr.width().min(640))) / 2;
    let y = (480 - i64::from(qr.height().min(480))) / 2;
    image::imageops::overlay(&mut frame, &qr, x, y);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&frame)
        .unwrap();
    std::fs::write(camera_file(), jpeg).unwrap();
}

async fn guard_flow(client: Client, app: TestApp, screen: Screen) {
    // 1. The enterprise's gate, an approved pass and a cancelled one (through the API).
    let staff = app.staff().await;
    gate(&app, &staff, "东门").await;
    let (approved, _) = approved_pass(&app, &staff, 1).await;
    let code = app
        .code_token(staff.token("admin"), &staff.enterprise)
        .await;
    let (cancelled, cancelled_id, key) =
        pass_arriving(&app, &code, 2, chrono::TimeDelta::hours(1)).await;
    approve(&app, staff.token("enterprise_contact"), &cancelled_id)
        .await
        .assert_status(200);
    cancel(&app, &cancelled, Some(&key))
        .await
        .assert_status(200);
    let approved_qr = qr_picture(&app, &approved, "approved").await;
    let cancelled_qr = qr_picture(&app, &cancelled, "cancelled").await;

    // 2. The guard signs in and lands on the scanner, the camera's buttons shown.
    client
        .goto(&format!("{}/console/login", app.address))
        .await
        .unwrap();
    find(&client, "#username")
        .await
        .send_keys("guard1")
        .await
        .unwrap();
    find(&client, "#password")
        .await
        .send_keys(USER_PASSWORD)
        .await
        .unwrap();
    click(&client, "button[type=submit]").await;
    wait_for(&client, "#scan-form").await;
    assert_eq!(client.current_url().await.unwrap().path(), "/console/gate");
    assert!(
        find(&client, "#camera").await.is_displayed().await.unwrap(),
        "gate.js shows the camera's buttons"
    );
    assert_fits(&client, screen).await;
    screenshot(&client, "scanner").await;

    // 3. The approved pass: green, with its masked plate.
    scan_picture(&client, &approved_qr).await;
    answer_says(&client, "accepted", "准予入园").await;
    answer_says(&client, "accepted", "闽A***01").await;
    assert!(
        find(&client, "#mismatch")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    assert_fits(&client, screen).await;
    screenshot(&client, "entry").await;

    // 4. The same again: red, already inside.
    scan_picture(&client, &approved_qr).await;
    answer_says(&client, "refused", "该车辆已在园内").await;
    screenshot(&client, "again").await;

    // 5. Switched to exit: green, out.
    click(&client, ".seg input[value=exit] + span").await;
    scan_picture(&client, &approved_qr).await;
    answer_says(&client, "accepted", "准予离园").await;

    // 6. Back to entry, the cancelled pass: red with the reason.
    click(&client, ".seg input[value=entry] + span").await;
    scan_picture(&client, &cancelled_qr).await;
    answer_says(&client, "refused", "通行证已被取消").await;
    screenshot(&client, "cancelled").await;

    // 7. A third pass through the camera: green, then the camera off.
    let (camera, _) = approved_pass(&app, &staff, 3).await;
    film(&qr_picture(&app, &camera, "camera").await);
    click(&client, "#cam-start").await;
    answer_says(&client, "accepted", "闽A***03").await;
    click(&client, "#cam-start").await;
    assert!(!find(&client, "#cam").await.is_displayed().await.unwrap());
    screenshot(&client, "camera").await;

    // 8. On the server, each scan once, in order (the camera may have read the third
    //    pass again before it was turned off: a refusal, never a second entry).
    let log = app
        .get(
            &format!("/api/v1/enterprises/{}/gate/events", staff.enterprise),
            Some(staff.token("gate_guard")),
        )
        .await;
    log.assert_status(200);
    let seen: Vec<(String, String, String)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["result"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("entry", "refused", "cancelled"),
        ("exit", "accepted", ""),
        ("entry", "refused", "already_inside"),
        ("entry", "accepted", ""),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
    .collect();
    let (camera_scans, picture_scans) = seen.split_at(seen.len() - 4);
    assert_eq!(picture_scans, expected);
    let (last, again) = camera_scans.split_last().expect("the camera's scan");
    assert_eq!(
        last,
        &("entry".to_owned(), "accepted".to_owned(), String::new())
    );
    assert!(
        again.iter().all(|scan| scan.2 == "already_inside"),
        "{again:?}"
    );
    for path in [approved_qr, cancelled_qr, camera_file()] {
        let _ = std::fs::remove_file(path);
    }

    offline_flow(&client, &app, &staff, screen).await;
}

/// The network cut: an approved pass is green on its signature alone, one cancelled
/// after its picture was taken is red from the revocation list the page kept, both
/// queued; back online, both are on the server once, as the gate decided.
async fn offline_flow(client: &Client, app: &TestApp, staff: &Staff, screen: Screen) {
    // 9. Two approved passes photographed (their QR codes signed); the second then
    //    cancelled by its driver. The scanner, loaded again, keeps the list with it.
    let (signed, _) = approved_pass(app, staff, 4).await;
    let code = app
        .code_token(staff.token("admin"), &staff.enterprise)
        .await;
    let (revoked, revoked_id, key) =
        pass_arriving(app, &code, 5, chrono::TimeDelta::hours(1)).await;
    approve(app, staff.token("enterprise_contact"), &revoked_id)
        .await
        .assert_status(200);
    let signed_qr = qr_picture(app, &signed, "signed").await;
    let revoked_qr = qr_picture(app, &revoked, "revoked").await;
    cancel(app, &revoked, Some(&key)).await.assert_status(200);
    client
        .goto(&format!("{}/console/gate", app.address))
        .await
        .unwrap();
    wait_for(client, "#net[data-online=yes]").await;
    let hash = hex::encode(sha2::Sha512::digest(revoked.as_bytes()))[..32].to_owned();
    let kept = format!(
        "var l=JSON.parse(localStorage.getItem('tp_gate_{}_revocations')||'null');\
         return !!l&&l.entries.some(function(e){{return e.pass==='{hash}'}})",
        staff.enterprise
    );
    let started = Instant::now();
    while script(client, &kept).await != json!(true) {
        assert!(
            started.elapsed() < WAIT,
            "the page keeps the revocation list"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let before = events(app, staff).await.len();

    // 10. Offline: green on the signature, red from the list, both queued here.
    offline(client, true).await;
    scan_picture(client, &signed_qr).await;
    answer_says(client, "accepted", "准予入园").await;
    answer_says(client, "accepted", "闽A***04").await;
    wait_for(client, "#answer [data-offline=yes]").await;
    scan_picture(client, &revoked_qr).await;
    answer_says(client, "refused", "通行证已被取消").await;
    wait_for(client, "#net[data-online=no][data-queued='2']").await;
    assert!(
        find(client, "#net")
            .await
            .text()
            .await
            .unwrap()
            .contains("离线"),
        "the page says it is offline"
    );
    assert_fits(client, screen).await;
    screenshot(client, "offline").await;
    assert_eq!(
        events(app, staff).await.len(),
        before,
        "nothing reached the server"
    );

    // 11. Back online: the queue goes up, once.
    offline(client, false).await;
    let started = Instant::now();
    loop {
        let state = script(
            client,
            "var n=document.getElementById('net');return n.dataset.online+' '+n.dataset.queued",
        )
        .await;
        if state == json!("yes 0") {
            break;
        }
        assert!(
            started.elapsed() < WAIT * 2,
            "the queue is uploaded: {state}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let log = events(app, staff).await;
    assert_eq!(log.len(), before + 2, "each offline scan once");
    let (newest, next) = (&log[0], &log[1]);
    assert_eq!(next["pass"]["plate"], "闽A***04");
    assert_eq!(
        (
            &next["type"],
            &next["result"],
            &next["offline"],
            &next["conflict"]
        ),
        (
            &json!("entry"),
            &json!("accepted"),
            &json!(true),
            &Value::Null
        )
    );
    assert!(next["client_time"].is_string());
    assert_eq!(
        (&newest["result"], &newest["reason"], &newest["offline"]),
        (&json!("refused"), &json!("cancelled"), &json!(true))
    );
    for path in [signed_qr, revoked_qr] {
        let _ = std::fs::remove_file(path);
    }
}

/// The enterprise's scan log, newest first.
async fn events(app: &TestApp, staff: &Staff) -> Vec<Value> {
    let log = app
        .get(
            &format!("/api/v1/enterprises/{}/gate/events", staff.enterprise),
            Some(staff.token("gate_guard")),
        )
        .await;
    log.assert_status(200);
    log.body["items"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_names_the_gates_on_a_phone_and_an_office_screen() {
    at_sizes(&[PHONE, OFFICE], |_| {}, contact_gates_flow).await;
}

/// The enterprise's contact opens 门岗设置 from the gate's tabs, adds two gates through
/// the form and retires one; the page fits the screen throughout.
async fn contact_gates_flow(client: Client, app: TestApp, screen: Screen) {
    let staff = app.staff().await;
    sign_in(&client, &app, "contact1", USER_PASSWORD).await;
    client
        .goto(&format!("{}/console/gate", app.address))
        .await
        .unwrap();
    click(&client, ".tabs a[href='/console/gate/gates']").await;
    wait_for(&client, "form[action='/console/gate/gates']").await;
    for name in ["东门", "西门"] {
        let input = find(
            &client,
            "form[action='/console/gate/gates'] input[name=name]",
        )
        .await;
        input.send_keys(name).await.unwrap();
        click(&client, "form[action='/console/gate/gates'] button").await;
        // The page after the post says so (the one before it may still be showing).
        let said = format!(
            "var n=document.querySelector('p.notice[role=status]');\
             return !!n&&n.textContent.indexOf('{name}')>=0"
        );
        let started = Instant::now();
        while script(&client, &said).await != json!(true) {
            assert!(started.elapsed() < WAIT, "added {name}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    assert_fits(&client, screen).await;
    click(&client, "input[name=active][value=false] ~ p button").await;
    wait_for(&client, "input[name=active][value=true]").await;
    assert_fits(&client, screen).await;
    screenshot(
        &client,
        &format!("gates-{}x{}", screen.width, screen.height),
    )
    .await;
    let gates = app
        .get(
            &format!("/api/v1/enterprises/{}/gates", staff.enterprise),
            Some(staff.token("enterprise_contact")),
        )
        .await;
    let active: Vec<bool> = gates.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["active"].as_bool().unwrap())
        .collect();
    assert_eq!(active.len(), 2);
    assert_eq!(active.iter().filter(|a| !**a).count(), 1, "one retired");
}
