//! The driver's flow in a real browser: headless Chromium at a phone's size, driven
//! through ChromeDriver, fills the form behind a code, gets an error under the ID
//! field, corrects it with the page's X key, lands on the pass and scans its QR, then
//! finds the next form filled in (ID and phone masked) and registers with it as it
//! stands, survives a lost cookie and erases what was saved.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the test says so and
//! passes, unless `TEST_REQUIRE_BROWSER=1` (as in CI) makes that a failure.
//!
//! The enterprise contact signs in to the console on a phone and approves a filing;
//! the regulator reads the dashboard there.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, CONTRACT, TestApp, decode_qr};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// A common phone's viewport, in CSS pixels.
const WIDTH: u32 = 390;
const HEIGHT: u32 = 844;
/// Where the app says it is: the pass's QR code carries this.
const PUBLIC_BASE_URL: &str = "http://truckpass.test";
/// How long any one wait for the page may take.
const WAIT: Duration = Duration::from_secs(15);

/// A wrong check character, and the right one (the last character).
const WRONG_ID: &str = "110105194912310021";
const RIGHT_ID: &str = "11010519491231002X";

/// A ChromeDriver on a free local port, killed when dropped.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    /// Starts ChromeDriver; `None` (after saying why) when the browser is not
    /// installed and `TEST_REQUIRE_BROWSER` does not demand it.
    fn start() -> Option<Self> {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|path| !Path::new(path).exists())
            .collect();
        if !missing.is_empty() {
            let required = std::env::var("TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "TEST_REQUIRE_BROWSER=1 but {} missing: apt-get install chromium chromium-driver",
                missing.join(" and ")
            );
            // Straight to stderr, past the test harness's capture, so a plain
            // `cargo test` shows that the browser test did not run.
            let _ = writeln!(
                std::io::stderr(),
                "browser test skipped: {} missing (apt-get install chromium chromium-driver)",
                missing.join(" and ")
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < WAIT,
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(driver)
    }

    /// A browser session at the phone's size.
    async fn session(&self) -> Client {
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-extensions",
                    "--no-first-run",
                    format!("--window-size={WIDTH},{HEIGHT}"),
                ],
                "mobileEmulation": {
                    "deviceMetrics": { "width": WIDTH, "height": HEIGHT, "pixelRatio": 1.0 },
                },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("capabilities are an object")
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_on_a_phone_registers_fixes_an_error_and_is_remembered_until_erased() {
    let Some(chromedriver) = ChromeDriver::start() else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, |settings| {
        settings.public_base_url = Some(PUBLIC_BASE_URL.into());
    })
    .await
    .expect("SQLite always runs");
    let client = chromedriver.session().await;
    let started = Instant::now();
    // The flow runs as its own task so that a failed assertion still closes the
    // browser session before the panic goes on.
    let outcome = tokio::spawn(driver_flow(client.clone(), app)).await;
    let elapsed = started.elapsed();
    client.close().await.expect("the session closes");
    match outcome {
        Ok(()) => eprintln!("browser flow took {elapsed:.1?}"),
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => panic!("browser flow did not finish: {error}"),
    }
}

async fn driver_flow(client: Client, app: TestApp) {
    // 1. Two enterprises with codes.
    let (_, [first, second]) = app
        .coded_enterprises(["福州恒信化工有限公司", "福州永安钢铁有限公司"])
        .await;
    let (first_code, second_code) = (first.code, second.code);

    // 2. The form behind the first code, fitting the phone's width.
    client
        .goto(&format!("{}/r/{first_code}", app.address))
        .await
        .unwrap();
    let heading = wait_for(&client, "h1").await.text().await.unwrap();
    assert_eq!(heading, "福州恒信化工有限公司");
    for name in [
        "driver_name",
        "document_type",
        "document_number",
        "phone",
        "plate",
        "vehicle_type",
        "origin_province",
        "origin_city",
        "origin_county",
        "cargo",
        "purpose",
        "expected_arrival",
        "people_in_cab",
        "consent",
    ] {
        field(&client, name).await;
    }
    assert_eq!(
        script(&client, "return window.innerWidth").await,
        json!(WIDTH)
    );
    assert_fits(&client).await;
    assert_eq!(value(&client, "document_type").await, "resident_id");
    let arrival = value(&client, "expected_arrival").await;
    assert!(
        arrival.len() == 16 && arrival.ends_with(":00"),
        "arrival pre-filled with the next full hour: {arrival:?}"
    );
    assert_eq!(value(&client, "people_in_cab").await, "1");

    // 3. Filled in like a driver would, with a wrong check character in the ID.
    type_into(&client, "driver_name", "张三").await;
    type_into(&client, "document_number", WRONG_ID).await;
    type_into(&client, "phone", "13800138000").await;
    type_into(&client, "plate", "闽A12345").await;
    select(&client, "vehicle_type", "heavy_truck").await;
    select(&client, "origin_province", "350000").await;
    wait_for(&client, "select[name=origin_city] option[value='350100']").await;
    select(&client, "origin_city", "350100").await;
    wait_for(&client, "select[name=origin_county] option[value='350102']").await;
    select(&client, "origin_county", "350102").await;
    type_into(&client, "cargo", "钢材").await;
    find(&client, "input[name=purpose][value=deliver]")
        .await
        .click()
        .await
        .unwrap();
    find(&client, "#consent").await.click().await.unwrap();
    find(&client, "#go").await.click().await.unwrap();

    // 4. The form again, the error under the ID field, everything else kept.
    let error = wait_for(&client, "#document_number-err")
        .await
        .text()
        .await
        .unwrap();
    assert!(error.contains("校验位"), "check character error: {error:?}");
    assert_eq!(navigation_status(&client).await, 422);
    let summary = find(&client, "p[role=alert]").await.text().await.unwrap();
    assert!(
        summary.contains("有 1 处"),
        "only the ID is wrong: {summary}"
    );
    let number = find(&client, "#document_number").await;
    assert_eq!(
        number.attr("aria-describedby").await.unwrap().as_deref(),
        Some("document_number-err")
    );
    for (name, expected) in [
        ("driver_name", "张三"),
        ("document_number", WRONG_ID),
        ("phone", "13800138000"),
        ("plate", "闽A12345"),
        ("vehicle_type", "heavy_truck"),
        ("origin_province", "350000"),
        ("origin_city", "350100"),
        ("origin_county", "350102"),
        ("cargo", "钢材"),
        ("expected_arrival", arrival.as_str()),
        ("people_in_cab", "1"),
    ] {
        assert_eq!(value(&client, name).await, expected, "{name} kept");
    }
    assert!(checked(&client, "input[name=purpose][value=deliver]").await);
    assert!(checked(&client, "#consent").await, "consent kept");
    assert_fits(&client).await;

    // 5. Corrected with the page's X key; the pass.
    let number = find(&client, "#document_number").await;
    number.clear().await.unwrap();
    number.send_keys(&RIGHT_ID[..17]).await.unwrap();
    let x_key = find(&client, "#idx").await;
    assert!(
        x_key.is_displayed().await.unwrap(),
        "X key for resident IDs"
    );
    assert_eq!(
        number.attr("inputmode").await.unwrap().as_deref(),
        Some("numeric")
    );
    x_key.click().await.unwrap();
    assert_eq!(value(&client, "document_number").await, RIGHT_ID);
    find(&client, "#go").await.click().await.unwrap();
    let qr = wait_for(&client, "img[alt='通行凭证二维码']").await;
    let url = client.current_url().await.unwrap();
    let pass_token = url
        .path()
        .strip_prefix("/p/")
        .unwrap_or_else(|| panic!("landed on the pass, not {url}"))
        .to_owned();
    let pass_text = find(&client, ".card").await.text().await.unwrap();
    assert!(pass_text.contains("待企业审核"), "{pass_text}");
    assert!(pass_text.contains("闽A***45"), "masked plate: {pass_text}");
    assert!(
        !pass_text.contains("闽A12345"),
        "full plate shown: {pass_text}"
    );
    assert_fits(&client).await;

    // 6. The QR code scans to the pass, on the screen and in the image itself.
    let pass_url = format!("{PUBLIC_BASE_URL}/p/{pass_token}");
    let screenshot = client.screenshot().await.unwrap();
    assert_eq!(decode_qr(&screenshot), vec![pass_url.clone()], "on screen");
    let src = qr.attr("src").await.unwrap().unwrap_or_default();
    let png = data_encoding::BASE64
        .decode(
            src.strip_prefix("data:image/png;base64,")
                .expect("a data: URL")
                .as_bytes(),
        )
        .unwrap();
    assert_eq!(decode_qr(&png), vec![pass_url], "in the image");

    // 7. The second enterprise's form is filled in from last time, the ID and phone
    //    masked; the key's cookie is out of the page script's reach, its copy in
    //    localStorage came by the one-time hand-over cookie.
    client
        .goto(&format!("{}/r/{second_code}", app.address))
        .await
        .unwrap();
    wait_for(&client, "form#reg[data-prefilled]").await;
    assert_eq!(
        find(&client, "h1").await.text().await.unwrap(),
        "福州永安钢铁有限公司"
    );
    let card = find(&client, ".card").await.text().await.unwrap();
    assert!(card.contains("已填入您上次登记的信息"), "{card}");
    assert_prefilled(&client).await;
    let key = client
        .get_named_cookie("tp_driver")
        .await
        .expect("the driver key cookie")
        .value()
        .to_owned();
    let page_cookies = script(&client, "return document.cookie").await;
    assert!(
        !page_cookies.as_str().unwrap_or_default().contains(&key),
        "HttpOnly: {page_cookies}"
    );
    assert!(
        client.get_named_cookie("tp_driver_new").await.is_err(),
        "the hand-over cookie is gone"
    );
    assert_eq!(
        local_key(&client).await,
        json!(key),
        "mirrored in localStorage"
    );
    assert_eq!(profile_status(&app, &key).await, 200);

    // 8. A lost cookie comes back from localStorage, and with it the filled form.
    client.delete_cookie("tp_driver").await.unwrap();
    client
        .goto(&format!("{}/r/{second_code}", app.address))
        .await
        .unwrap();
    wait_for(&client, "form#reg[data-prefilled]").await;
    assert_prefilled(&client).await;
    let restored = client.get_named_cookie("tp_driver").await.unwrap();
    assert_eq!(restored.value(), key);
    assert_eq!(restored.http_only(), Some(true), "HttpOnly again");
    let reloaded = script(&client, "return sessionStorage.getItem('tp_driver')").await;
    assert_eq!(
        reloaded,
        json!("1"),
        "the script restored the cookie and reloaded"
    );

    // 9. The pre-filled form, masked values and all, registers as it stands; the
    //    browser gets a new key, and the old one is worth nothing.
    type_into(&client, "cargo", "焦炭").await;
    find(&client, "input[name=purpose][value=pick_up]")
        .await
        .click()
        .await
        .unwrap();
    find(&client, "#consent").await.click().await.unwrap();
    find(&client, "#go").await.click().await.unwrap();
    wait_for(&client, "img[alt='通行凭证二维码']").await;
    let pass_text = find(&client, ".card").await.text().await.unwrap();
    assert!(pass_text.contains("福州永安钢铁有限公司"), "{pass_text}");
    let new_key = client
        .get_named_cookie("tp_driver")
        .await
        .unwrap()
        .value()
        .to_owned();
    assert_ne!(new_key, key, "a new key with every registration");
    assert_eq!(local_key(&client).await, json!(new_key), "its copy too");
    assert_eq!(profile_status(&app, &key).await, 404);
    assert!(
        pass_text.contains("取消本次登记"),
        "the driver's own browser may cancel: {pass_text}"
    );

    // 10. 「清除我的信息」 empties the form and forgets the key everywhere.
    client
        .goto(&format!("{}/r/{first_code}", app.address))
        .await
        .unwrap();
    wait_for(&client, "form#reg[data-prefilled]").await;
    let forget = find(&client, "form[action$='/forget'] button").await;
    assert_eq!(forget.text().await.unwrap(), "清除我的信息");
    forget.click().await.unwrap();
    wait_for(&client, "form#reg[data-cleared]").await;
    let card = find(&client, ".card").await.text().await.unwrap();
    assert!(card.contains("已清除您保存的信息"), "{card}");
    for name in ["driver_name", "document_number", "phone", "plate"] {
        assert_eq!(value(&client, name).await, "", "{name} emptied");
    }
    assert_eq!(value(&client, "origin_county").await, "");
    assert!(
        client.get_named_cookie("tp_driver").await.is_err(),
        "the cookie is gone"
    );
    assert_eq!(local_key(&client).await, Value::Null, "localStorage too");
    assert_eq!(
        profile_status(&app, &new_key).await,
        404,
        "the profile is erased"
    );
}

/// Waits until `css` matches, then returns the element.
async fn wait_for(client: &Client, css: &str) -> Element {
    match client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element,
        Err(error) => {
            let url = client.current_url().await.map(|u| u.to_string());
            let source = client.source().await.unwrap_or_default();
            panic!("{css} did not appear: {error}\nat {url:?}:\n{source}")
        }
    }
}

async fn find(client: &Client, css: &str) -> Element {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} not on the page: {e}"))
}

/// The form's control named `name` (the first, for radio buttons).
async fn field(client: &Client, name: &str) -> Element {
    find(client, &format!("form#reg [name={name}]")).await
}

async fn value(client: &Client, name: &str) -> String {
    field(client, name)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn checked(client: &Client, css: &str) -> bool {
    find(client, css).await.is_selected().await.unwrap()
}

async fn type_into(client: &Client, name: &str, text: &str) {
    let input = field(client, name).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

async fn select(client: &Client, name: &str, value: &str) {
    field(client, name)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("{name}: no option {value}: {e}"));
}

async fn script(client: &Client, source: &str) -> Value {
    client.execute(source, vec![]).await.unwrap()
}

/// No horizontal scrolling at the phone's width.
async fn assert_fits(client: &Client) {
    let width = script(client, "return document.documentElement.scrollWidth").await;
    assert!(
        width.as_u64().is_some_and(|w| w <= u64::from(WIDTH)),
        "page is {width} px wide"
    );
}

/// The HTTP status of the page's last navigation.
async fn navigation_status(client: &Client) -> Value {
    script(
        client,
        "return performance.getEntriesByType('navigation')[0].responseStatus",
    )
    .await
}

async fn local_key(client: &Client) -> Value {
    script(client, "return localStorage.getItem('tp_driver')").await
}

/// The form holds what the driver registered with last time, the ID and phone masked.
async fn assert_prefilled(client: &Client) {
    for (name, expected) in [
        ("driver_name", "张三"),
        ("document_type", "resident_id"),
        ("document_number", "110105********002X"),
        ("phone", "138****8000"),
        ("plate", "闽A12345"),
        ("vehicle_type", "heavy_truck"),
        ("origin_province", "350000"),
        ("origin_city", "350100"),
        ("origin_county", "350102"),
    ] {
        assert_eq!(value(client, name).await, expected, "{name} pre-filled");
    }
}

/// The status of `GET /api/v1/public/drivers/me` with a driver key.
async fn profile_status(app: &TestApp, key: &str) -> u16 {
    let path = "/api/v1/public/drivers/me";
    let request = app
        .client
        .get(format!("{}{path}", app.address))
        .header("x-driver-key", key);
    let response = TestApp::read(request.send().await.unwrap()).await;
    CONTRACT.check(&Method::GET, path, &response);
    response.status
}

/// The enterprise contact at the gate, on a phone: signs in to the console, opens the
/// filings (htmx loaded under the console's CSP), approves one on its page and the
/// API sees it approved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_on_a_phone_signs_in_to_the_console_and_approves_a_filing() {
    on_a_phone(console_flow).await;
}

/// Runs a console flow in a phone's browser against a fresh app on SQLite, closing
/// the browser session also when the flow fails; nothing without the browser (see
/// [`ChromeDriver::start`]).
async fn on_a_phone<Flow>(flow: fn(Client, TestApp) -> Flow)
where
    Flow: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(chromedriver) = ChromeDriver::start() else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, |_| {})
        .await
        .expect("SQLite always runs");
    let client = chromedriver.session().await;
    let outcome = tokio::spawn(flow(client.clone(), app)).await;
    client.close().await.expect("the session closes");
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("console flow did not finish: {error}"),
        }
    }
}

/// Signs in to the console's home page as `username` (with `USER_PASSWORD`), which
/// fits the phone.
async fn console_sign_in(client: &Client, app: &TestApp, username: &str) {
    use crate::helpers::USER_PASSWORD;

    client
        .goto(&format!("{}/console/", app.address))
        .await
        .unwrap();
    wait_for(client, "form[action='/console/login']").await;
    find(client, "#username")
        .await
        .send_keys(username)
        .await
        .unwrap();
    find(client, "#password")
        .await
        .send_keys(USER_PASSWORD)
        .await
        .unwrap();
    find(client, "button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    wait_for(client, ".stats").await;
    assert_fits(client).await;
}

async fn console_flow(client: Client, app: TestApp) {
    use crate::helpers::USER_PASSWORD;
    use crate::registrations::{plate, registered, registration_id};

    let (admin, [own]) = app.coded_enterprises(["福州恒信化工有限公司"]).await;
    app.create_contact(&admin, "contact1", &own.id).await;
    registered(&app, &own.code, 1).await;
    let id = registration_id(&app, &admin, &plate(1)).await;

    console_sign_in(&client, &app, "contact1").await;

    find(&client, "a[href='/console/registrations']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&client, "#list").await;
    assert_fits(&client).await;
    let htmx = script(&client, "return typeof window.htmx").await;
    assert_eq!(htmx, "object", "htmx runs under the console's CSP");
    find(&client, &format!("a[href='/console/registrations/{id}']"))
        .await
        .click()
        .await
        .unwrap();
    wait_for(
        &client,
        &format!("form[action='/console/registrations/{id}/approve'] button"),
    )
    .await
    .click()
    .await
    .unwrap();
    wait_for(&client, ".s-approved").await;

    let (contact, _) = app.tokens("contact1", USER_PASSWORD).await;
    let response = app
        .get(&format!("/api/v1/registrations/{id}"), Some(&contact))
        .await;
    assert_eq!(response.body["status"], "approved");
}

/// The regulator on a phone opens the dashboard from the navigation: its charts are
/// drawn on the server, and nothing scrolls sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regulator_on_a_phone_reads_the_dashboard() {
    on_a_phone(dashboard_flow).await;
}

async fn dashboard_flow(client: Client, app: TestApp) {
    use crate::registrations::registered;

    let (admin, [own]) = app.coded_enterprises(["福州恒信化工有限公司"]).await;
    app.create_user(&admin, "regulator1", "regulator", &[], &[])
        .await;
    registered(&app, &own.code, 1).await;

    console_sign_in(&client, &app, "regulator1").await;
    find(&client, "a[href='/console/dashboard']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&client, "svg.chart").await;
    assert_fits(&client).await;
    let charts = script(
        &client,
        "return document.querySelectorAll('svg.chart').length",
    )
    .await;
    assert_eq!(charts, 3, "filings and scans per day, filings per status");
}
