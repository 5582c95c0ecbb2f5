//! `TestApp`: the real application on a random port with a fresh database (a SQLite
//! file in a temporary directory, or a fresh PostgreSQL schema when
//! `TEST_POSTGRES_URL` is set), and a client that checks every response against
//! openapi.yaml.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::Digest;
use tempfile::TempDir;
use truckpass::config::Settings;
use truckpass::startup::Application;

/// The password of the first admin in every test app.
pub const ADMIN_PASSWORD: &str = "Ledger-Kiln-47-Orbit";
/// A password that passes the policy, for users created in tests.
pub const USER_PASSWORD: &str = "Quartz-Violin-83-Harbor";
/// The password the admin gives an account created with `create_user`; the user
/// replaces it with `USER_PASSWORD` at first sign-in, as every new account must.
pub const INITIAL_PASSWORD: &str = "Copper-Meadow-29-Signal";

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the test body `async fn $name(app: TestApp)` once on SQLite and once on
/// PostgreSQL (when `TEST_POSTGRES_URL` is set), each on a fresh app and database,
/// as the tests `$name::sqlite` and `$name::postgres`. `with(|settings| ..)` adjusts
/// the settings before the app starts.
///
/// The body is an ordinary function (not part of the macro invocation) so that
/// rustfmt formats it.
macro_rules! api_test {
    ($name:ident) => {
        api_test!($name, with(|_settings| {}));
    };
    ($name:ident, with($configure:expr)) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let backend = $crate::helpers::Backend::Sqlite;
                if let Some(app) = $crate::helpers::TestApp::spawn(backend, $configure).await {
                    super::$name(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let backend = $crate::helpers::Backend::Postgres;
                if let Some(app) = $crate::helpers::TestApp::spawn(backend, $configure).await {
                    super::$name(app).await;
                }
            }
        }
    };
}
pub(crate) use api_test;

/// A running application.
pub struct TestApp {
    pub address: String,
    pub backend: Backend,
    pub database_url: String,
    pub data_dir: TempDir,
    pub client: reqwest::Client,
    /// The generated password of the first admin, when the settings gave none.
    pub initial_admin_password: Option<String>,
    /// The settings it runs with.
    pub settings: Settings,
}

/// A response, with its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl TestResponse {
    /// The `code` of a problem+json body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
}

/// The base URL of the PostgreSQL server for tests, if any.
pub fn postgres_base_url() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Creates a fresh schema on the test server and returns a URL whose connections use it.
pub fn fresh_postgres_schema(base: &str) -> String {
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut conn = PgConnection::establish(base).expect("TEST_POSTGRES_URL must connect");
    diesel::sql_query(format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .expect("create schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    // The application name lets a test find (and end) its own app's connections.
    format!("{base}{separator}options=-csearch_path%3D{schema}&application_name={schema}")
}

impl TestApp {
    /// Starts the app on `backend` with test settings, adjusted by `configure`.
    /// `None` when the backend is PostgreSQL and no test server is configured.
    pub async fn spawn(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Option<TestApp> {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database_url = match backend {
            Backend::Sqlite => format!(
                "sqlite://{}",
                data_dir.path().join("truckpass.db").display()
            ),
            Backend::Postgres => match postgres_base_url() {
                Some(base) => fresh_postgres_schema(&base),
                None => {
                    eprintln!("skipped on PostgreSQL: TEST_POSTGRES_URL is not set");
                    return None;
                }
            },
        };
        let mut settings = Settings {
            listen: "127.0.0.1:0".into(),
            data_dir: data_dir.path().to_path_buf(),
            database_url: Some(database_url.clone().into()),
            admin_password: Some(ADMIN_PASSWORD.into()),
            workers: 2,
            db_pool_size: 4,
            // Every test calls from 127.0.0.1; the limits' own tests set them.
            public_rate_per_ip: 0,
            public_rate_per_code: 0,
            ..Settings::default()
        };
        configure(&mut settings);
        let app = Application::build(settings.clone()).expect("application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let initial_admin_password = app.initial_admin_password().map(str::to_owned);
        tokio::spawn(app.run_until_stopped());
        // The server closes a connection idle for 5 s (actix's keep-alive); a client
        // that kept it longer could send on it as it closes (hyper's
        // `IncompleteMessage`), as a browser test's pauses on a loaded machine do.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("client");
        Some(TestApp {
            address,
            backend,
            database_url,
            data_dir,
            client,
            initial_admin_password,
            settings,
        })
    }

    /// Starts a second instance of the application on the same database and data
    /// directory (so with the same keys), as a second replica would run; returns its
    /// address.
    pub fn twin(&self) -> String {
        let app = Application::build(self.settings.clone()).expect("the twin builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        address
    }

    /// Sends a request and checks the response against openapi.yaml.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        self.call_with(method, path, token, body, &[]).await
    }

    /// [`TestApp::call`] with extra request headers.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{}", self.address, path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let response = Self::read(response).await;
        CONTRACT.check(&method, path, &response);
        response
    }

    /// Sends a raw body (files) and checks the response against openapi.yaml.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> TestResponse {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{}", self.address, path))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = Self::read_bytes(request.send().await.expect("request sent")).await;
        CONTRACT.check(&method, path, &response);
        response
    }

    /// Reads a reqwest response.
    pub async fn read(response: reqwest::Response) -> TestResponse {
        Self::read_bytes(response).await
    }

    pub async fn read_bytes(response: reqwest::Response) -> TestResponse {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body read").to_vec();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            text,
            body,
            bytes,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.call(Method::DELETE, path, token, None).await
    }

    pub async fn login(&self, username: &str, password: &str) -> TestResponse {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({ "username": username, "password": password }),
        )
        .await
    }

    /// Signs in and returns (access token, refresh token).
    pub async fn tokens(&self, username: &str, password: &str) -> (String, String) {
        let response = self.login(username, password).await;
        response.assert_status(200);
        let access = response.body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned();
        let refresh = response.body["refresh_token"]
            .as_str()
            .expect("refresh token")
            .to_owned();
        (access, refresh)
    }

    /// An access token of the first admin.
    pub async fn admin_token(&self) -> String {
        self.tokens("admin", ADMIN_PASSWORD).await.0
    }

    /// Creates a sector and returns its id.
    pub async fn create_sector(&self, admin: &str, code: &str) -> String {
        let body = json!({
            "code": code, "name": format!("{code}行业"), "authority": format!("{code}主管局"),
        });
        let response = self.post("/api/v1/sectors", Some(admin), body).await;
        response.assert_status(201);
        response.body["id"].as_str().expect("sector id").to_owned()
    }

    /// Creates a park and returns its id.
    pub async fn create_park(&self, admin: &str, code: &str) -> String {
        let body = json!({ "code": code, "name": format!("{code}园区") });
        let response = self.post("/api/v1/parks", Some(admin), body).await;
        response.assert_status(201);
        response.body["id"].as_str().expect("park id").to_owned()
    }

    /// Creates a user with `role` and scope who has chosen `USER_PASSWORD` at first
    /// sign-in; returns its id.
    pub async fn create_user(
        &self,
        admin: &str,
        username: &str,
        role: &str,
        sector_ids: &[&str],
        park_ids: &[&str],
    ) -> String {
        let body = json!({
            "username": username,
            "display_name": format!("测试{username}"),
            "password": INITIAL_PASSWORD,
            "role": role,
            "sector_ids": sector_ids,
            "park_ids": park_ids,
        });
        self.create_account(admin, username, body).await
    }

    /// Creates the account of `body` (whose password is `INITIAL_PASSWORD`), signs in
    /// as the new user and changes the password to `USER_PASSWORD`; returns its id.
    async fn create_account(&self, admin: &str, username: &str, body: Value) -> String {
        let response = self.post("/api/v1/users", Some(admin), body).await;
        response.assert_status(201);
        let (token, _) = self.tokens(username, INITIAL_PASSWORD).await;
        let change = json!({ "current_password": INITIAL_PASSWORD, "new_password": USER_PASSWORD });
        self.put("/api/v1/me/password", Some(&token), change)
            .await
            .assert_status(200);
        response.body["id"].as_str().expect("user id").to_owned()
    }

    /// Creates an enterprise and returns its id.
    pub async fn create_enterprise(
        &self,
        admin: &str,
        name: &str,
        sector: &str,
        park: &str,
    ) -> String {
        let body = json!({
            "name": name,
            "credit_code": credit_code(name),
            "sector_id": sector,
            "park_id": park,
            "address": "高新大道 1 号",
        });
        let response = self.post("/api/v1/enterprises", Some(admin), body).await;
        response.assert_status(201);
        response.body["id"]
            .as_str()
            .expect("enterprise id")
            .to_owned()
    }

    /// The current code token of an enterprise.
    pub async fn code_token(&self, token: &str, enterprise: &str) -> String {
        let response = self
            .get(
                &format!("/api/v1/enterprises/{enterprise}/code"),
                Some(token),
            )
            .await;
        response.assert_status(200);
        response.body["token"]
            .as_str()
            .expect("code token")
            .to_owned()
    }

    /// The admin's token and, in a new sector HG and park EAST, one enterprise per
    /// name with its current code token.
    pub async fn coded_enterprises<const N: usize>(
        &self,
        names: [&str; N],
    ) -> (String, [Coded; N]) {
        let admin = self.admin_token().await;
        let sector = self.create_sector(&admin, "HG").await;
        let park = self.create_park(&admin, "EAST").await;
        let mut coded = Vec::with_capacity(N);
        for name in names {
            let id = self.create_enterprise(&admin, name, &sector, &park).await;
            let code = self.code_token(&admin, &id).await;
            coded.push(Coded { id, code });
        }
        (admin, coded.try_into().expect("one per name"))
    }

    /// One signed-in user per role, with the scope each needs: officials and the
    /// surveyor in sector S1 / park P1, the contact of enterprise `staff.enterprise` there.
    pub async fn staff(&self) -> Staff {
        let admin = self.admin_token().await;
        let sector = self.create_sector(&admin, "S1").await;
        let park = self.create_park(&admin, "P1").await;
        let enterprise = self
            .create_enterprise(&admin, "福州第一化工有限公司", &sector, &park)
            .await;
        let mut tokens = HashMap::new();
        tokens.insert("admin", admin.clone());
        for (name, role, sectors, parks) in [
            ("regulator1", "regulator", vec![], vec![]),
            ("sector1", "sector_official", vec![sector.as_str()], vec![]),
            ("park1", "park_official", vec![], vec![park.as_str()]),
            ("surveyor1", "surveyor", vec![sector.as_str()], vec![]),
        ] {
            self.create_user(&admin, name, role, &sectors, &parks).await;
            tokens.insert(role, self.tokens(name, USER_PASSWORD).await.0);
        }
        self.create_contact(&admin, "contact1", &enterprise).await;
        tokens.insert(
            "enterprise_contact",
            self.tokens("contact1", USER_PASSWORD).await.0,
        );
        self.create_at_enterprise(&admin, "guard1", "gate_guard", &enterprise)
            .await;
        tokens.insert("gate_guard", self.tokens("guard1", USER_PASSWORD).await.0);
        Staff {
            tokens,
            sector,
            park,
            enterprise,
        }
    }

    /// Creates an enterprise contact for `enterprise`, as `create_user` does.
    pub async fn create_contact(&self, admin: &str, username: &str, enterprise: &str) -> String {
        self.create_at_enterprise(admin, username, "enterprise_contact", enterprise)
            .await
    }

    /// Creates a user of `role` (an enterprise contact or a gate guard) for
    /// `enterprise`, as `create_user` does.
    pub async fn create_at_enterprise(
        &self,
        admin: &str,
        username: &str,
        role: &str,
        enterprise: &str,
    ) -> String {
        let body = json!({
            "username": username,
            "display_name": "企业人员",
            "password": INITIAL_PASSWORD,
            "role": role,
            "enterprise_id": enterprise,
        });
        self.create_account(admin, username, body).await
    }

    /// A direct connection to the app's database, for tests that inspect or tamper.
    pub fn raw_connection(&self) -> truckpass::db::DbConnection {
        use diesel::SqliteConnection;
        match self.backend {
            Backend::Sqlite => {
                let path = self.database_url.trim_start_matches("sqlite://");
                let mut conn = SqliteConnection::establish(path).expect("sqlite");
                // Waits for the running app's writes instead of failing with
                // "database is locked".
                diesel::sql_query("PRAGMA busy_timeout = 5000")
                    .execute(&mut conn)
                    .expect("busy timeout");
                truckpass::db::DbConnection::Sqlite(conn)
            }
            Backend::Postgres => truckpass::db::DbConnection::Postgresql(
                PgConnection::establish(&self.database_url).expect("pg"),
            ),
        }
    }
}

/// An enterprise and its current code token.
#[derive(Debug)]
pub struct Coded {
    /// Enterprise id.
    pub id: String,
    /// Current code token.
    pub code: String,
}

/// Signed-in staff of every role and the units they belong to.
pub struct Staff {
    pub tokens: HashMap<&'static str, String>,
    pub sector: String,
    pub park: String,
    pub enterprise: String,
}

/// A valid unified social credit code derived from `seed` (same seed, same code).
pub fn credit_code(seed: &str) -> String {
    const CHARSET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let digest = sha2::Sha256::digest(seed.as_bytes());
    let body: String = digest
        .iter()
        .take(10)
        .map(|b| char::from(CHARSET[usize::from(*b) % 31]))
        .collect();
    let first17 = format!("9135010{body}");
    let check =
        truckpass::domain::enterprise::CreditCode::check_char(&first17).expect("check char");
    format!("{first17}{check}")
}

impl Staff {
    pub fn token(&self, role: &str) -> &str {
        self.tokens
            .get(role)
            .map(String::as_str)
            .expect("role has a token")
    }
}

/// openapi.yaml, parsed once, with compiled validators cached by JSON pointer.
pub struct Contract {
    pub document: Value,
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

pub static CONTRACT: LazyLock<Contract> = LazyLock::new(|| {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    let document: Value = serde_norway::from_str(&text).expect("openapi.yaml parses");
    Contract {
        document,
        validators: Mutex::new(HashMap::new()),
    }
});

/// Escapes one segment of a JSON pointer.
pub fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

impl Contract {
    /// Every (method, path template) the document describes.
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut operations = Vec::new();
        for (path, item) in self.document["paths"].as_object().expect("paths") {
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_some() {
                    operations.push((method.to_owned(), path.clone()));
                }
            }
        }
        operations.sort();
        operations
    }

    /// The template describing a concrete path: literal segments beat parameters.
    pub fn template_for(&self, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or(path);
        let segments: Vec<&str> = path.split('/').collect();
        self.document["paths"]
            .as_object()?
            .keys()
            .filter_map(|template| {
                let parts: Vec<&str> = template.split('/').collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut literal = 0;
                for (part, segment) in parts.iter().zip(&segments) {
                    if part.starts_with('{') {
                        if segment.is_empty() {
                            return None;
                        }
                    } else if part == segment {
                        literal += 1;
                    } else {
                        return None;
                    }
                }
                Some((literal, template.clone()))
            })
            .max()
            .map(|(_, template)| template)
    }

    /// Validates `instance` against the schema at a JSON pointer into the document.
    pub fn validate(&self, pointer: &str, instance: &Value) -> Result<(), String> {
        let cached = self
            .validators
            .lock()
            .expect("validator cache")
            .get(pointer)
            .cloned();
        let validator = match cached {
            Some(validator) => validator,
            None => {
                let fragment: String = pointer
                    .chars()
                    .map(|c| match c {
                        '{' => "%7B".to_owned(),
                        '}' => "%7D".to_owned(),
                        other => other.to_string(),
                    })
                    .collect();
                let mut root = self.document.clone();
                root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
                root["$ref"] = json!(format!("#{fragment}"));
                let validator = std::sync::Arc::new(
                    jsonschema::draft202012::new(&root)
                        .unwrap_or_else(|e| panic!("schema at {pointer} compiles: {e}")),
                );
                self.validators
                    .lock()
                    .expect("validator cache")
                    .insert(pointer.to_owned(), validator.clone());
                validator
            }
        };
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Panics when the response's status or body is not what the document says.
    pub fn check(&self, method: &Method, path: &str, response: &TestResponse) {
        let method = method.as_str().to_lowercase();
        let content_type = response
            .header("content-type")
            .map(|value| {
                value
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default();
        let operation = self
            .template_for(path)
            .filter(|template| self.document["paths"][template].get(&method).is_some());
        let Some(template) = operation else {
            // Not a described operation: it must at least be a problem.
            assert!(
                response.status >= 400,
                "{method} {path} is not in openapi.yaml but answered {}",
                response.status
            );
            assert_eq!(
                content_type, "application/problem+json",
                "{method} {path}: {}",
                response.text
            );
            if let Err(e) = self.validate("/components/schemas/Problem", &response.body) {
                panic!(
                    "{method} {path}: problem body does not match: {e}\n{}",
                    response.text
                );
            }
            return;
        };
        let base = format!("/paths/{}/{method}/responses", escape_pointer(&template));
        let status = response.status.to_string();
        let mut response_spec = self
            .document
            .pointer(&base)
            .and_then(|responses| responses.get(&status))
            .unwrap_or_else(|| {
                panic!(
                    "{method} {template} answered {status}, which openapi.yaml does not list: {}",
                    response.text
                )
            })
            .clone();
        let mut spec_pointer = format!("{base}/{status}");
        if let Some(reference) = response_spec.get("$ref").and_then(Value::as_str) {
            spec_pointer = reference.trim_start_matches('#').to_owned();
            response_spec = self
                .document
                .pointer(&spec_pointer)
                .expect("response $ref resolves")
                .clone();
        }
        let Some(content) = response_spec.get("content") else {
            assert!(
                response.text.is_empty(),
                "{method} {template} {status} has no content in openapi.yaml but sent {}",
                response.text
            );
            return;
        };
        assert!(
            content.get(&content_type).is_some(),
            "{method} {template} {status}: content type {content_type:?} is not in openapi.yaml"
        );
        if content_type.ends_with("json") {
            let schema_pointer = format!(
                "{spec_pointer}/content/{}/schema",
                escape_pointer(&content_type)
            );
            if let Err(e) = self.validate(&schema_pointer, &response.body) {
                panic!(
                    "{method} {template} {status}: body does not match openapi.yaml: {e}\n{}",
                    response.text
                );
            }
        }
    }
}

/// A PNG as 8-bit gray: (width, height, pixels).
fn gray_png(png_bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = info.color_type.samples();
    let (width, height) = (info.width as usize, info.height as usize);
    let gray = buffer
        .iter()
        .step_by(channels)
        .take(width * height)
        .copied()
        .collect();
    (width, height, gray)
}

/// Decodes every QR code in a gray image, sampling large images down to about 1000
/// pixels (the decoder's arithmetic overflows on very large images in debug builds).
fn decode_gray(width: usize, height: usize, gray: &[u8]) -> Vec<String> {
    let step = (width.max(height) / 1000).max(1);
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width / step, height / step, |x, y| {
            gray[(y * step) * width + x * step]
        });
    image
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, content)| content))
        .collect()
}

/// Decodes every QR code in a PNG.
pub fn decode_qr(png_bytes: &[u8]) -> Vec<String> {
    let (width, height, gray) = gray_png(png_bytes);
    decode_gray(width, height, &gray)
}

/// Decodes the QR codes inside one box of a PNG, `(x, y, width, height)`, as a phone
/// framing one card of a printed sheet would.
pub fn decode_qr_in(png_bytes: &[u8], (x, y, w, h): (usize, usize, usize, usize)) -> Vec<String> {
    let (width, _, gray) = gray_png(png_bytes);
    let region: Vec<u8> = (y..y + h)
        .flat_map(|row| &gray[row * width + x..row * width + x + w])
        .copied()
        .collect();
    decode_gray(w, h, &region)
}

/// A browser of the staff console (`/console/...`): keeps every cookie it is given
/// and forgets those removed (`Max-Age=0` or an empty value), sends GET and form
/// POSTs, follows no redirect, and checks every response against openapi.yaml.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    /// The cookies it sends, by name.
    pub cookies: HashMap<String, String>,
    /// The session's CSRF token, once [`Browser::session`] has read it: what
    /// [`Browser::post_csrf`] and [`Browser::upload`] send.
    pub session_csrf: Option<String>,
}

impl<'a> Browser<'a> {
    /// A browser without cookies.
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: HashMap::new(),
            session_csrf: None,
        }
    }

    /// Sends a request with the cookies (a form when `form` is given), keeps the
    /// cookies of the response and checks it against openapi.yaml.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> TestResponse {
        let body = form.map(|form| {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            ("application/x-www-form-urlencoded", encoded.into_bytes())
        });
        self.request(method, path, body).await
    }

    /// Sends a raw body of `content_type` with the cookies, as [`Browser::send`].
    pub async fn send_body(
        &mut self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> TestResponse {
        self.request(method, path, Some((content_type, body))).await
    }

    async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> TestResponse {
        let mut request = self
            .app
            .client
            .request(method.clone(), format!("{}{path}", self.app.address));
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if !cookie.is_empty() {
            request = request.header("cookie", cookie.join("; "));
        }
        if let Some((content_type, body)) = body {
            request = request.header("content-type", content_type).body(body);
        }
        let response = TestApp::read(request.send().await.expect("request sent")).await;
        for set in response.headers.get_all("set-cookie") {
            let set = set.to_str().expect("cookie text");
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        CONTRACT.check(&method, path, &response);
        response
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        self.send(Method::GET, path, None).await
    }

    /// Posts a form as given (no CSRF field added).
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        self.send(Method::POST, path, Some(form)).await
    }

    /// The value of cookie `name`, when it has one.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Opens the sign-in form and posts it.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> TestResponse {
        let page = self.get("/console/login").await;
        page.assert_status(200);
        let csrf = csrf_of(&page);
        self.post(
            "/console/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf", &csrf),
            ],
        )
        .await
    }

    /// Signs in and checks the way home.
    pub async fn signed_in(app: &'a TestApp, username: &str, password: &str) -> Self {
        let mut browser = Self::new(app);
        let response = browser.sign_in(username, password).await;
        response.assert_status(303);
        // Surveyors land on their own cases, gate guards at the gate, everyone else
        // at home.
        let landing = response.header("location");
        assert!(
            matches!(
                landing,
                Some("/console/" | "/console/survey/my" | "/console/gate")
            ),
            "{username}: {landing:?}"
        );
        browser
    }

    /// The user of `app.staff()` with `role`, signed in.
    pub async fn of(app: &'a TestApp, role: &str) -> Self {
        let (username, password) = match role {
            "admin" => ("admin", ADMIN_PASSWORD),
            "regulator" => ("regulator1", USER_PASSWORD),
            "sector_official" => ("sector1", USER_PASSWORD),
            "park_official" => ("park1", USER_PASSWORD),
            "surveyor" => ("surveyor1", USER_PASSWORD),
            "enterprise_contact" => ("contact1", USER_PASSWORD),
            "gate_guard" => ("guard1", USER_PASSWORD),
            other => panic!("no staff user has the role {other}"),
        };
        Self::signed_in(app, username, password).await
    }

    /// Signs in (to the home page or to the forced password change alike) and
    /// remembers the session's CSRF token, read from the change-password page that
    /// every signed-in user has.
    pub async fn session(app: &'a TestApp, username: &str, password: &str) -> Self {
        let mut browser = Self::new(app);
        browser.sign_in(username, password).await.assert_status(303);
        assert!(browser.cookies.contains_key("tp_console"), "no session");
        browser.session_csrf = Some(browser.csrf_from("/console/password").await);
        browser
    }

    /// The CSRF token of the session, from the home page's sign-out form.
    pub async fn csrf(&mut self) -> String {
        self.csrf_from("/console/").await
    }

    /// The first `csrf` field of the page at `page`.
    pub async fn csrf_from(&mut self, page: &str) -> String {
        let shown = self.get(page).await;
        shown.assert_status(200);
        csrf_of(&shown)
    }

    /// Posts a form with the CSRF token read from the page at `page` first.
    pub async fn post_signed(
        &mut self,
        page: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> TestResponse {
        let csrf = self.csrf_from(page).await;
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(path, &fields).await
    }

    fn remembered_csrf(&self) -> String {
        self.session_csrf
            .clone()
            .expect("a browser of Browser::session")
    }

    /// Posts a form with the session's CSRF token remembered by [`Browser::session`].
    pub async fn post_csrf(&mut self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        let csrf = self.remembered_csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(path, &fields).await
    }

    /// Uploads `file` (`roster.csv`) as a multipart form, with the session's CSRF
    /// token remembered by [`Browser::session`] or without a CSRF field.
    pub async fn upload(&mut self, path: &str, file: &[u8], with_csrf: bool) -> TestResponse {
        let boundary = "----console-test";
        let mut body = Vec::new();
        if with_csrf {
            let field = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n",
                self.remembered_csrf()
            );
            body.extend_from_slice(field.as_bytes());
        }
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"roster.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        );
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.send_body(Method::POST, path, &content_type, body)
            .await
    }
}

/// The value of the first field `name` of a page.
pub fn field_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("a {name} field"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .expect("closed value")
        .to_owned()
}

/// The value of the first `csrf` field of a page.
pub fn csrf_of(page: &TestResponse) -> String {
    field_value(&page.text, "csrf")
}

/// The `Set-Cookie` header of cookie `name` in a response, if it sets one.
fn set_cookie_header<'r>(response: &'r TestResponse, name: &str) -> Option<&'r str> {
    let prefix = format!("{name}=");
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|cookie| cookie.starts_with(&prefix))
}

/// The `Set-Cookie` header of cookie `name` in a response.
pub fn set_cookie(response: &TestResponse, name: &str) -> String {
    set_cookie_header(response, name)
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

/// The value a response sets for cookie `name`, if it sets one.
pub fn cookie_value(response: &TestResponse, name: &str) -> Option<String> {
    set_cookie_header(response, name).map(|cookie| {
        let pair = cookie.split(';').next().unwrap_or_default();
        pair[name.len() + 1..].to_owned()
    })
}

/// A picture of `width` × `height` pixels in `format` (a gradient, so that it
/// compresses like a photo rather than to nothing).
pub fn picture(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let pixels = image::ImageBuffer::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 239) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(pixels)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}
