//! Real browsers: headless Chromium driven through ChromeDriver, at a phone's size
//! and at an office screen's, checking that no page needs sideways scrolling.
//!
//! The driver, on a phone, fills the form behind a code, gets an error under the ID
//! field, corrects it with the page's X key, lands on the pass and scans its QR, then
//! finds the next form filled in (ID and phone masked) and registers with it as it
//! stands, survives a lost cookie and erases what was saved.
//!
//! Each console role's main flow, on a phone and on an office screen: the enterprise
//! contact sees only its own enterprise's filings, rejects one with a reason and
//! approves another and finds the driver's passes changed, and adds an extra field
//! (seen in the live preview, then on the driver's form); the admin uploads a roster
//! with a bad row and sees it in the preview, nothing written; a sector official sees
//! only its sector's enterprises and opens one. Each signs out, and the back button
//! then shows the sign-in, not what was there. The regulator reads the dashboard.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the tests say so and
//! pass, unless `TEST_REQUIRE_BROWSER=1` (as in CI) makes that a failure.

use std::fmt;
use std::future::Future;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::Method;
use serde_json::{Value, json};
use truckpass::config::Settings;

use crate::helpers::{ADMIN_PASSWORD, Backend, CONTRACT, TestApp, USER_PASSWORD, decode_qr};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where the app says it is: the pass's QR code carries this.
const PUBLIC_BASE_URL: &str = "http://truckpass.test";
/// How long any one wait for the page may take.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// A wrong check character, and the right one (the last character).
const WRONG_ID: &str = "110105194912310021";
const RIGHT_ID: &str = "11010519491231002X";

/// The size of the browser's viewport, in CSS pixels, and whether it is a phone
/// (touch, mobile user agent and viewport rules, as Chromium emulates them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Screen {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) phone: bool,
}

/// A common phone.
pub(crate) const PHONE: Screen = Screen {
    width: 390,
    height: 844,
    phone: true,
};
/// A common office laptop's screen.
pub(crate) const OFFICE: Screen = Screen {
    width: 1366,
    height: 768,
    phone: false,
};

impl fmt::Display for Screen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.phone { "phone" } else { "office" };
        write!(f, "{}x{} ({kind})", self.width, self.height)
    }
}

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

    /// A browser session whose viewport is `screen`, Chromium started with `extra`
    /// arguments too.
    async fn session(&self, screen: Screen, extra: &[String]) -> Client {
        let mut options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-extensions",
                "--no-first-run",
                format!("--window-size={},{}", screen.width, screen.height),
            ],
        });
        if let Some(args) = options["args"].as_array_mut() {
            args.extend(extra.iter().map(|arg| json!(arg)));
        }
        if screen.phone {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {
                    "width": screen.width, "height": screen.height, "pixelRatio": 1.0,
                },
            });
        }
        let Value::Object(capabilities) = json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }) else {
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

/// Runs `flow` at each of `screens`, each in a fresh browser session against a fresh
/// app (set up by `configure`), one ChromeDriver for them all; says how long each
/// took. The flow runs as its own task so that a failed assertion still closes the
/// browser session before the panic goes on.
pub(crate) async fn at_sizes<F, Fut>(screens: &[Screen], configure: impl Fn(&mut Settings), flow: F)
where
    F: Fn(Client, TestApp, Screen) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    at_sizes_with(screens, &[], configure, flow).await;
}

/// [`at_sizes`] with Chromium started with `browser_args` too (a fake camera).
pub(crate) async fn at_sizes_with<F, Fut>(
    screens: &[Screen],
    browser_args: &[String],
    configure: impl Fn(&mut Settings),
    flow: F,
) where
    F: Fn(Client, TestApp, Screen) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(chromedriver) = ChromeDriver::start() else {
        return;
    };
    let name = std::any::type_name::<F>();
    let name = name.rsplit("::").next().unwrap_or(name);
    for &screen in screens {
        let app = TestApp::spawn(Backend::Sqlite, &configure)
            .await
            .expect("SQLite always runs");
        let client = chromedriver.session(screen, browser_args).await;
        let started = Instant::now();
        let outcome = tokio::spawn(flow(client.clone(), app, screen)).await;
        let elapsed = started.elapsed();
        client.close().await.expect("the session closes");
        match outcome {
            Ok(()) => eprintln!("{name} at {screen} took {elapsed:.1?}"),
            Err(error) => {
                eprintln!("{name} failed at {screen}");
                match error.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(error) => panic!("{name} at {screen} did not finish: {error}"),
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_on_a_phone_registers_fixes_an_error_and_is_remembered_until_erased() {
    at_sizes(
        &[PHONE],
        |settings| settings.public_base_url = Some(PUBLIC_BASE_URL.into()),
        driver_flow,
    )
    .await;
}

async fn driver_flow(client: Client, app: TestApp, screen: Screen) {
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
    assert_fits(&client, screen).await;
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
    assert_fits(&client, screen).await;

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
    assert_fits(&client, screen).await;

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
pub(crate) async fn wait_for(client: &Client, css: &str) -> Element {
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

pub(crate) async fn find(client: &Client, css: &str) -> Element {
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

pub(crate) async fn script(client: &Client, source: &str) -> Value {
    client.execute(source, vec![]).await.unwrap()
}

/// The page needs no horizontal scrolling, and is laid out for the screen's width
/// (a phone widens its layout to fit a page that overflows).
pub(crate) async fn assert_fits(client: &Client, screen: Screen) {
    let url = client.current_url().await.map(|url| url.to_string());
    let width = script(client, "return document.documentElement.scrollWidth").await;
    assert!(
        width.as_u64().is_some_and(|w| w <= u64::from(screen.width)),
        "{url:?} is {width} px wide at {screen}"
    );
    let viewport = script(client, "return window.innerWidth").await;
    assert_eq!(viewport, json!(screen.width), "{url:?} at {screen}");
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

/// Signs in on the console's sign-in form and waits for the home page.
pub(crate) async fn sign_in(client: &Client, app: &TestApp, username: &str, password: &str) {
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
        .send_keys(password)
        .await
        .unwrap();
    find(client, "button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    wait_for(client, ".stats").await;
}

/// Follows the console's navigation entry to `path` and waits for `css` there.
pub(crate) async fn open_from_navigation(client: &Client, path: &str, css: &str) {
    find(client, &format!("header nav a[href='{path}']"))
        .await
        .click()
        .await
        .unwrap();
    wait_for(client, css).await;
}

pub(crate) async fn click(client: &Client, css: &str) {
    find(client, css).await.click().await.unwrap();
}

pub(crate) async fn text_of(client: &Client, css: &str) -> String {
    find(client, css).await.text().await.unwrap()
}

/// Signs out with the header's button on a page that shows each of `shown`, then
/// goes back: the sign-in is there, none of it (the console's pages are `no-store`
/// and the session is gone, so the browser asks again and is sent to sign in).
async fn sign_out_and_go_back(client: &Client, shown: &[&str]) {
    let before = client.current_url().await.unwrap();
    let page = text_of(client, "main").await;
    for text in shown {
        assert!(
            page.contains(text),
            "{text} shown before signing out: {page}"
        );
    }
    click(client, "header form[action='/console/logout'] button").await;
    wait_for(client, "form[action='/console/login']").await;
    client.back().await.unwrap();
    wait_for(client, "form[action='/console/login']").await;
    let after = client.current_url().await.unwrap();
    assert_eq!(after.path(), "/console/login", "back from {before}");
    let source = client.source().await.unwrap();
    for text in shown {
        assert!(!source.contains(text), "{text} shown after signing out");
    }
}

/// The enterprise contact's day, at both sizes: only its own filings, a rejection with
/// a reason and an approval that the driver's passes show, an extra field added with
/// its live preview and then asked on the driver's form, and signing out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_reviews_filings_and_edits_the_form_on_a_phone_and_an_office_screen() {
    at_sizes(&[PHONE, OFFICE], |_| {}, contact_flow).await;
}

async fn contact_flow(client: Client, app: TestApp, screen: Screen) {
    use crate::registrations::{plate, registered, registration_id};

    const OWN: &str = "福州恒信化工有限公司";
    const OTHER: &str = "福州远大物流有限公司";
    const REASON: &str = "当日车辆已满";
    const NOTE: &str = "请明日再来";
    const LABEL: &str = "本车载重（吨）";

    let (admin, [own, other]) = app.coded_enterprises([OWN, OTHER]).await;
    app.create_contact(&admin, "contact1", &own.id).await;
    let rejected = registered(&app, &own.code, 1).await;
    let approved = registered(&app, &own.code, 2).await;
    registered(&app, &other.code, 3).await;
    let rejected_id = registration_id(&app, &admin, &plate(1)).await;
    let approved_id = registration_id(&app, &admin, &plate(2)).await;

    // 1. Signed in: the home page and the filings hold the own enterprise's only.
    sign_in(&client, &app, "contact1", USER_PASSWORD).await;
    assert_fits(&client, screen).await;
    let home = text_of(&client, "main").await;
    assert!(home.contains(OWN) && !home.contains(OTHER), "{home}");
    open_from_navigation(&client, "/console/registrations", "#list").await;
    assert_fits(&client, screen).await;
    let htmx = script(&client, "return typeof window.htmx").await;
    assert_eq!(htmx, "object", "htmx runs under the console's CSP");
    let list = text_of(&client, "#list").await;
    assert!(list.contains(OWN), "{list}");
    assert!(!list.contains(OTHER), "another enterprise's filing: {list}");
    let rows = client
        .find_all(Locator::Css("#list tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "{list}");

    // 2. One rejected with a reason picked and a note, the other approved.
    click(
        &client,
        &format!("a[href='/console/registrations/{rejected_id}']"),
    )
    .await;
    wait_for(&client, "#reason_choice").await;
    assert_fits(&client, screen).await;
    find(&client, "#reason_choice")
        .await
        .select_by_value(REASON)
        .await
        .unwrap();
    find(&client, "#reason_text")
        .await
        .send_keys(NOTE)
        .await
        .unwrap();
    click(
        &client,
        &format!("form[action='/console/registrations/{rejected_id}/reject'] button"),
    )
    .await;
    wait_for(&client, "h1 .s-rejected").await;
    let detail = text_of(&client, "main").await;
    assert!(detail.contains(&format!("{REASON}：{NOTE}")), "{detail}");
    assert_fits(&client, screen).await;

    click(&client, "main a[href='/console/registrations']").await;
    wait_for(&client, "#list").await;
    click(
        &client,
        &format!("a[href='/console/registrations/{approved_id}']"),
    )
    .await;
    wait_for(
        &client,
        &format!("form[action='/console/registrations/{approved_id}/approve'] button"),
    )
    .await
    .click()
    .await
    .unwrap();
    wait_for(&client, "h1 .s-approved").await;

    // 3. The driver's passes say so.
    client
        .goto(&format!("{}/p/{}", app.address, rejected.token))
        .await
        .unwrap();
    let pass = wait_for(&client, ".card").await.text().await.unwrap();
    assert!(pass.contains("未通过"), "{pass}");
    assert!(pass.contains(&format!("原因：{REASON}：{NOTE}")), "{pass}");
    assert_fits(&client, screen).await;
    client
        .goto(&format!("{}/p/{}", app.address, approved.token))
        .await
        .unwrap();
    let pass = wait_for(&client, ".card").await.text().await.unwrap();
    assert!(pass.contains("已通过，请向门岗出示本码"), "{pass}");
    assert!(!pass.contains("原因"), "{pass}");

    // 4. An extra field: added, labelled, previewed live (htmx), saved.
    client
        .goto(&format!("{}/console/fields", app.address))
        .await
        .unwrap();
    wait_for(&client, "form#editor").await;
    assert_fits(&client, screen).await;
    click(&client, "form#editor button[name=op][value=add]").await;
    let label = wait_for(&client, "input[name='fields[0].label']").await;
    // Leaving the field (Tab) is its change: the preview is drawn anew.
    label
        .send_keys(&format!("{LABEL}{}", char::from(Key::Tab)))
        .await
        .unwrap();
    wait_for(&client, "#preview [name='answers.enterprise.field_1']").await;
    let preview = text_of(&client, "#preview").await;
    assert!(preview.contains(LABEL), "{preview}");
    assert_fits(&client, screen).await;
    click(&client, "form#editor button[name=op][value=save]").await;
    wait_for(
        &client,
        &format!("input[name='fields[0].label'][value='{LABEL}']"),
    )
    .await;
    let saved = text_of(&client, "main").await;
    assert!(saved.contains("当前为第 1 版"), "{saved}");

    // 5. The driver's form asks it.
    client
        .goto(&format!("{}/r/{}", app.address, own.code))
        .await
        .unwrap();
    wait_for(&client, "form#reg [name='answers.enterprise.field_1']").await;
    let form = text_of(&client, "form#reg").await;
    assert!(form.contains(LABEL), "{form}");
    assert_fits(&client, screen).await;

    // 6. Signed out from the filings, back shows none of them.
    client
        .goto(&format!("{}/console/registrations", app.address))
        .await
        .unwrap();
    wait_for(&client, "#list").await;
    sign_out_and_go_back(&client, &[OWN]).await;
}

/// The admin imports a roster at both sizes: the file's bad row is listed in the
/// preview with its error, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_previews_a_roster_with_a_bad_row_on_a_phone_and_an_office_screen() {
    at_sizes(&[PHONE, OFFICE], |_| {}, admin_flow).await;
}

async fn admin_flow(client: Client, app: TestApp, screen: Screen) {
    use crate::console_admin::{csv_file, enterprise_count};
    use crate::helpers::credit_code;

    const LISTED: &str = "福州既有化工有限公司";
    const GOOD: &str = "福州一号化工有限公司";
    const BAD: &str = "福州二号化工有限公司";

    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    app.create_enterprise(&admin, LISTED, &sector, &park).await;
    // The second row's credit code with a wrong check character (its last).
    let code = credit_code(BAD);
    let wrong = if code.ends_with('0') { '1' } else { '0' };
    let bad_code = format!("{}{wrong}", &code[..17]);
    let good = format!("{GOOD},{},HG,EAST,高新大道1号,否,在营", credit_code(GOOD));
    let bad = format!("{BAD},{bad_code},HG,EAST,,否,在营");
    let mut file = tempfile::Builder::new()
        .prefix("roster-")
        .suffix(".csv")
        .tempfile()
        .unwrap();
    file.write_all(&csv_file(&[&good, &bad])).unwrap();
    file.flush().unwrap();
    let path = file.path().to_str().unwrap().to_owned();

    // 1. The upload form, a file with a good row and a bad one.
    sign_in(&client, &app, "admin", ADMIN_PASSWORD).await;
    assert_fits(&client, screen).await;
    open_from_navigation(&client, "/console/roster/import", "input#file[type=file]").await;
    assert_fits(&client, screen).await;
    find(&client, "input#file")
        .await
        .send_keys(&path)
        .await
        .unwrap();
    click(
        &client,
        "form[action='/console/roster/import'] button[type=submit]",
    )
    .await;
    // 2. The preview: the bad row with its error, one to add, nothing written.
    wait_for(&client, "section.card table").await;
    assert_fits(&client, screen).await;
    let errors = client
        .find_all(Locator::Css("section.card table tbody tr"))
        .await
        .unwrap();
    assert_eq!(errors.len(), 1, "one bad row");
    let cells = errors[0].find_all(Locator::Css("td")).await.unwrap();
    let mut error = Vec::new();
    for cell in cells {
        error.push(cell.text().await.unwrap());
    }
    assert_eq!(
        error[..2],
        ["3", "统一社会信用代码"],
        "the file's third line"
    );
    assert!(error[2].contains("校验位"), "{error:?}");
    let summary = text_of(&client, ".stats").await;
    assert!(
        summary.contains("新增\n1") && summary.contains("有误\n1"),
        "{summary}"
    );
    let notice = text_of(&client, "p.notice").await;
    assert!(notice.contains("尚未写入任何数据"), "{notice}");
    assert_eq!(enterprise_count(&app, &admin).await, 1, "nothing written");

    // 3. Signed out from the roster (the preview is a form's answer, which going back
    //    would post again), back shows none of it.
    open_from_navigation(&client, "/console/enterprises", "main table").await;
    assert_fits(&client, screen).await;
    sign_out_and_go_back(&client, &[LISTED]).await;
}

/// A sector official at both sizes: the roster holds its sector's enterprises only,
/// and one of them opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sector_official_sees_its_own_roster_on_a_phone_and_an_office_screen() {
    at_sizes(&[PHONE, OFFICE], |_| {}, official_flow).await;
}

async fn official_flow(client: Client, app: TestApp, screen: Screen) {
    use crate::console_oversight::{FOREIGN, OWN, roster};

    let (staff, _, _) = roster(&app).await;

    sign_in(&client, &app, "sector1", USER_PASSWORD).await;
    assert_fits(&client, screen).await;
    open_from_navigation(&client, "/console/enterprises", "main table").await;
    assert_fits(&client, screen).await;
    let list = text_of(&client, "main table").await;
    assert!(list.contains(OWN), "{list}");
    assert!(
        !list.contains(FOREIGN),
        "another sector's enterprise: {list}"
    );

    click(
        &client,
        &format!("a[href='/console/enterprises/{}']", staff.enterprise),
    )
    .await;
    let heading = wait_for(&client, "main h1").await.text().await.unwrap();
    assert_eq!(heading, OWN);
    assert_fits(&client, screen).await;

    sign_out_and_go_back(&client, &[OWN]).await;
}

/// The regulator opens the dashboard from the navigation, on a phone and on an office
/// screen: its charts are drawn on the server, and nothing scrolls sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regulator_reads_the_dashboard_on_a_phone_and_an_office_screen() {
    at_sizes(&[PHONE, OFFICE], |_| {}, dashboard_flow).await;
}

async fn dashboard_flow(client: Client, app: TestApp, screen: Screen) {
    use crate::registrations::registered;

    let (admin, [own]) = app.coded_enterprises(["福州恒信化工有限公司"]).await;
    app.create_user(&admin, "regulator1", "regulator", &[], &[])
        .await;
    registered(&app, &own.code, 1).await;

    sign_in(&client, &app, "regulator1", USER_PASSWORD).await;
    assert_fits(&client, screen).await;
    open_from_navigation(&client, "/console/dashboard", "svg.chart").await;
    assert_fits(&client, screen).await;
    let charts = script(
        &client,
        "return document.querySelectorAll('svg.chart').length",
    )
    .await;
    assert_eq!(charts, 3, "filings and scans per day, filings per status");
}

/// A ChromeDriver command of the Chromium vendor: `path` under the session.
#[derive(Debug)]
pub(crate) struct Chromium {
    pub(crate) path: &'static str,
    pub(crate) body: Value,
}

impl WebDriverCompatibleCommand for Chromium {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(self.body.to_string()))
    }
}

/// Puts the browser offline or back online (DevTools network emulation).
pub(crate) async fn offline(client: &Client, offline: bool) {
    let conditions = json!({ "network_conditions": {
        "offline": offline, "latency": 0, "download_throughput": -1, "upload_throughput": -1,
    }});
    client
        .issue_cmd(Chromium {
            path: "chromium/network_conditions",
            body: conditions,
        })
        .await
        .unwrap();
}
