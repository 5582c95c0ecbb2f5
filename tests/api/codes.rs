//! One code per enterprise: QR images decoded by a real decoder, posters, rotation,
//! suspension, the public page and scan counts.

use std::io::Read;

use serde_json::json;

use crate::helpers::{TestApp, api_test, decode_qr};

fn png_size(png_bytes: &[u8]) -> (u32, u32) {
    let reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .unwrap();
    (reader.info().width, reader.info().height)
}

async fn setup(app: &TestApp) -> (String, String) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    let id = app
        .create_enterprise(&admin, "福州恒信化工有限公司", &sector, &park)
        .await;
    (admin, id)
}

async fn the_qr_png_decodes_to_the_public_url_of_the_code(app: TestApp) {
    let (admin, id) = setup(&app).await;
    let code = app
        .get(&format!("/api/v1/enterprises/{id}/code"), Some(&admin))
        .await;
    code.assert_status(200);
    let token = code.body["token"].as_str().unwrap();
    assert_eq!(token.len(), 26, "128 random bits in base32");
    let url = code.body["url"].as_str().unwrap().to_owned();
    assert!(url.ends_with(&format!("/r/{token}")));
    assert!(!url.contains(&id), "codes never carry internal ids");

    for query in [
        "",
        "?size=300&margin=2&ecc=H",
        "?ecc=L&size=64",
        "?size=4096&margin=0&ecc=Q",
    ] {
        let png = app
            .get(
                &format!("/api/v1/enterprises/{id}/code.png{query}"),
                Some(&admin),
            )
            .await;
        png.assert_status(200);
        assert_eq!(png.header("content-type"), Some("image/png"));
        assert_eq!(decode_qr(&png.bytes), vec![url.clone()], "query {query}");
    }
    let svg = app
        .get(
            &format!("/api/v1/enterprises/{id}/code.svg?size=256"),
            Some(&admin),
        )
        .await;
    svg.assert_status(200);
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(svg.text.contains("<svg") && svg.text.contains("<path"));

    for bad in [
        "?size=10",
        "?size=5000",
        "?margin=17",
        "?ecc=X",
        "?colour=red",
    ] {
        let response = app
            .get(
                &format!("/api/v1/enterprises/{id}/code.png{bad}"),
                Some(&admin),
            )
            .await;
        response.assert_status(422);
    }
}
api_test!(the_qr_png_decodes_to_the_public_url_of_the_code);

async fn the_poster_is_a4_at_print_resolution_and_carries_the_code(app: TestApp) {
    let (admin, id) = setup(&app).await;
    let url = app
        .get(&format!("/api/v1/enterprises/{id}/code"), Some(&admin))
        .await
        .body["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let poster = app
        .get(
            &format!("/api/v1/enterprises/{id}/poster.png"),
            Some(&admin),
        )
        .await;
    poster.assert_status(200);
    assert_eq!(png_size(&poster.bytes), (2480, 3508));
    assert_eq!(decode_qr(&poster.bytes), vec![url]);
    assert!(
        poster
            .header("content-disposition")
            .unwrap()
            .contains("filename*=UTF-8''")
    );
}
api_test!(the_poster_is_a4_at_print_resolution_and_carries_the_code);

async fn rotating_retires_the_old_poster_with_a_friendly_410(app: TestApp) {
    let (admin, id) = setup(&app).await;
    let old = app.code_token(&admin, &id).await;
    let opened = app.get(&format!("/r/{old}"), None).await;
    opened.assert_status(200);
    assert!(opened.text.contains("福州恒信化工有限公司"));
    assert!(
        opened
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );

    let rotated = app
        .post(
            &format!("/api/v1/enterprises/{id}/code/rotate"),
            Some(&admin),
            json!({}),
        )
        .await;
    rotated.assert_status(200);
    let new = rotated.body["token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let gone = app.get(&format!("/r/{old}"), None).await;
    gone.assert_status(410);
    assert!(gone.text.contains("此码已更换，请扫描企业门口的新码"));
    app.get(&format!("/r/{new}"), None).await.assert_status(200);
    app.get(&format!("/r/{}", new.to_lowercase()), None)
        .await
        .assert_status(200);

    let audit = app
        .get("/api/v1/audit?action=code.rotate", Some(&admin))
        .await;
    assert_eq!(audit.body["items"][0]["object_id"], json!(id));
}
api_test!(rotating_retires_the_old_poster_with_a_friendly_410);

async fn a_suspended_code_says_registrations_are_paused_until_resumed(app: TestApp) {
    let (admin, id) = setup(&app).await;
    let token = app.code_token(&admin, &id).await;
    let suspended = app
        .post(
            &format!("/api/v1/enterprises/{id}/code/suspend"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(suspended.body["suspended"], true);
    let page = app.get(&format!("/r/{token}"), None).await;
    page.assert_status(200);
    assert!(page.text.contains("暂停接受外来车辆登记"));
    let rotated = app
        .post(
            &format!("/api/v1/enterprises/{id}/code/rotate"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(
        rotated.body["suspended"], true,
        "rotation keeps the suspension"
    );
    let resumed = app
        .post(
            &format!("/api/v1/enterprises/{id}/code/resume"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(resumed.body["suspended"], false);
    let page = app
        .get(
            &format!("/r/{}", resumed.body["token"].as_str().unwrap()),
            None,
        )
        .await;
    assert!(!page.text.contains("暂停"));
}
api_test!(a_suspended_code_says_registrations_are_paused_until_resumed);

async fn unknown_tokens_get_a_plain_404_page(app: TestApp) {
    let (admin, id) = setup(&app).await;
    let real = app.code_token(&admin, &id).await;
    let mut near = real.clone().into_bytes();
    near[0] = if near[0] == b'A' { b'B' } else { b'A' };
    for token in [
        String::from_utf8(near).unwrap(),
        "x".repeat(300),
        "..%2F..%2Fetc".into(),
        "%3Cscript%3E".into(),
    ] {
        let page = app.get(&format!("/r/{token}"), None).await;
        page.assert_status(404);
        assert!(!page.text.contains("福州恒信"), "no hint about other codes");
        assert_eq!(
            page.text.matches("<script>").count(),
            1,
            "only the page's own script, nothing reflected"
        );
    }
}
api_test!(unknown_tokens_get_a_plain_404_page);

async fn page_opens_are_counted_per_day_without_personal_data(app: TestApp) {
    let (admin, id) = setup(&app).await;
    let token = app.code_token(&admin, &id).await;
    for _ in 0..3 {
        app.get(&format!("/r/{token}"), None)
            .await
            .assert_status(200);
    }
    let scans = app
        .get(
            &format!("/api/v1/enterprises/{id}/code/scans"),
            Some(&admin),
        )
        .await;
    scans.assert_status(200);
    assert_eq!(scans.body["total"], 3);
    assert_eq!(scans.body["days"].as_array().unwrap().len(), 1);
    assert_eq!(scans.body["days"][0]["day"], scans.body["to"]);
    let past = app
        .get(
            &format!("/api/v1/enterprises/{id}/code/scans?from=2020-01-01&to=2020-01-31"),
            Some(&admin),
        )
        .await;
    assert_eq!(past.body["total"], 0);
    app.get(
        &format!("/api/v1/enterprises/{id}/code/scans?from=2020-02-01&to=2020-01-01"),
        Some(&admin),
    )
    .await
    .assert_status(422);
    app.get(
        &format!("/api/v1/enterprises/{id}/code/scans?from=yesterday"),
        Some(&admin),
    )
    .await
    .assert_status(422);
}
api_test!(page_opens_are_counted_per_day_without_personal_data);

async fn a_park_s_posters_come_as_one_zip(app: TestApp) {
    let (admin, first) = setup(&app).await;
    let shown = app
        .get(&format!("/api/v1/enterprises/{first}"), Some(&admin))
        .await;
    let (sector, park) = (
        shown.body["sector_id"].as_str().unwrap().to_owned(),
        shown.body["park_id"].as_str().unwrap().to_owned(),
    );
    let other_park = app.create_park(&admin, "WEST").await;
    app.create_enterprise(&admin, "福州第二化工有限公司", &sector, &park)
        .await;
    app.create_enterprise(&admin, "福州西区机械有限公司", &sector, &other_park)
        .await;

    let zip = app
        .get(&format!("/api/v1/posters.zip?park_id={park}"), Some(&admin))
        .await;
    zip.assert_status(200);
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.bytes.clone())).unwrap();
    assert_eq!(archive.len(), 2);
    let mut names: Vec<String> = archive
        .file_names()
        .map(|name| name.unwrap().into_owned())
        .collect();
    names.sort();
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("福州恒信化工有限公司.png")),
        "{names:?}"
    );
    let mut png = Vec::new();
    archive.by_index(0).unwrap().read_to_end(&mut png).unwrap();
    assert_eq!(png_size(&png), (2480, 3508));

    let none = app
        .get("/api/v1/posters.zip?ids=no-such-id", Some(&admin))
        .await;
    none.assert_status(404);
}
api_test!(a_park_s_posters_come_as_one_zip);

async fn the_public_api_tells_an_app_what_the_poster_leads_to(app: TestApp) {
    let (admin, id) = setup(&app).await;
    app.put(
        "/api/v1/form-template",
        Some(&admin),
        json!({ "fields": [
            { "key": "health", "label": "健康申报", "type": "yes_no", "required": true },
        ]}),
    )
    .await
    .assert_status(200);
    app.put(
        &format!("/api/v1/enterprises/{id}/form-template"),
        Some(&admin),
        json!({ "fields": [
            { "key": "health", "label": "本企业健康承诺", "type": "text" },
            { "key": "tonnage", "label": "载重吨位", "type": "number", "min": 0, "max": 100 },
        ]}),
    )
    .await
    .assert_status(200);
    let token = app.code_token(&admin, &id).await;

    let found = app
        .get(
            &format!("/api/v1/public/codes/{}", token.to_lowercase()),
            None,
        )
        .await;
    found.assert_status(200);
    assert_eq!(found.body["enterprise_name"], "福州恒信化工有限公司");
    assert_eq!(found.body["accepting"], true);
    assert!(found.body["notice"].is_null());
    assert_eq!(found.body["form"]["zone_version"], 1);
    assert_eq!(found.body["form"]["zone_fields"][0]["key"], "health");
    assert_eq!(
        found.body["form"]["enterprise_fields"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(
        !found.text.contains(&id),
        "no internal ids in public answers"
    );

    app.patch(
        &format!("/api/v1/enterprises/{id}"),
        Some(&admin),
        json!({ "status": "closed" }),
    )
    .await
    .assert_status(200);
    let closed = app
        .get(&format!("/api/v1/public/codes/{token}"), None)
        .await;
    assert_eq!(closed.body["accepting"], false);
    assert!(closed.body["notice"].as_str().unwrap().contains("暂停"));

    app.post(
        &format!("/api/v1/enterprises/{id}/code/rotate"),
        Some(&admin),
        json!({}),
    )
    .await
    .assert_status(200);
    let replaced = app
        .get(&format!("/api/v1/public/codes/{token}"), None)
        .await;
    replaced.assert_status(410);
    assert_eq!(replaced.code(), "code_replaced");
    let unknown = app.get("/api/v1/public/codes/NOSUCHTOKEN", None).await;
    unknown.assert_status(404);
    assert_eq!(unknown.code(), "code_not_found");

    let scans = app
        .get(
            &format!("/api/v1/enterprises/{id}/code/scans"),
            Some(&admin),
        )
        .await;
    assert_eq!(
        scans.body["total"], 3,
        "every lookup of a known code counts"
    );
}
api_test!(the_public_api_tells_an_app_what_the_poster_leads_to);

async fn poster_bundles_run_one_per_user_and_two_in_all(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    for n in 0..12 {
        app.create_enterprise(&admin, &format!("福州第{n}化工有限公司"), &sector, &park)
            .await;
    }
    for name in ["regulator1", "regulator2"] {
        app.create_user(&admin, name, "regulator", &[], &[]).await;
    }
    let regulator1 = app
        .tokens("regulator1", crate::helpers::USER_PASSWORD)
        .await
        .0;
    let regulator2 = app
        .tokens("regulator2", crate::helpers::USER_PASSWORD)
        .await
        .0;
    let path = format!("/api/v1/posters.zip?park_id={park}");
    // A bundle whose body nobody reads keeps drawing, and keeps its slot.
    let open = |token: &str| {
        app.client
            .get(format!("{}{path}", app.address))
            .bearer_auth(token)
            .send()
    };
    let first = open(&admin).await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let again = app.get(&path, Some(&admin)).await;
    again.assert_status(429);
    assert_eq!(again.code(), "too_busy");
    assert!(again.header("retry-after").is_some());
    let second = open(&regulator1).await.unwrap();
    assert_eq!(
        second.status().as_u16(),
        200,
        "another user's bundle runs beside"
    );
    let third = app.get(&path, Some(&regulator2)).await;
    third.assert_status(429);
    // Read to the end, a bundle frees its slot (as the drawing thread finishes).
    let bytes = first.bytes().await.unwrap();
    assert_eq!(
        zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .unwrap()
            .len(),
        12
    );
    let mut status = 0;
    for _ in 0..100 {
        status = app.get(&path, Some(&regulator2)).await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200, "a freed slot is taken");
    drop(second);

    let audit = app
        .get("/api/v1/audit?action=code.download", Some(&admin))
        .await;
    let formats: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["format"].as_str().unwrap())
        .collect();
    assert!(
        formats.iter().filter(|f| **f == "posters_zip").count() >= 2,
        "{formats:?}"
    );
}
api_test!(poster_bundles_run_one_per_user_and_two_in_all);

async fn bundle_entries_cannot_escape_the_folder_whatever_the_name(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    for name in [
        "中/../../../../tmp/evil",
        "化工\u{202e}gnp.exe",
        "..\\\\公司",
    ] {
        app.create_enterprise(&admin, name, &sector, &park).await;
    }
    let zip = app
        .get(&format!("/api/v1/posters.zip?park_id={park}"), Some(&admin))
        .await;
    zip.assert_status(200);
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip.bytes.clone())).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|name| name.unwrap().into_owned())
        .collect();
    assert_eq!(names.len(), 3);
    for name in &names {
        assert!(
            !name.contains('/') && !name.contains('\\') && !name.contains(".."),
            "{name}"
        );
        assert!(
            !name.contains('\u{202e}') && name.ends_with(".png"),
            "{name}"
        );
    }
}
api_test!(bundle_entries_cannot_escape_the_folder_whatever_the_name);

async fn every_copy_of_a_code_is_audited(app: TestApp) {
    let (admin, id) = setup(&app).await;
    for path in ["code", "code.png", "code.svg", "poster.png"] {
        app.get(&format!("/api/v1/enterprises/{id}/{path}"), Some(&admin))
            .await
            .assert_status(200);
    }
    let audit = app
        .get("/api/v1/audit?action=code.download", Some(&admin))
        .await;
    let mut formats: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["object_id"] == json!(id))
        .map(|e| e["details"]["format"].as_str().unwrap())
        .collect();
    formats.sort_unstable();
    assert_eq!(formats, ["png", "poster", "svg", "token"]);
}
api_test!(every_copy_of_a_code_is_audited);

#[derive(diesel::QueryableByName)]
struct Scans {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Page opens of the code with id `code_id` stored in the database.
fn stored_scans(app: &TestApp, code_id: &str) -> i64 {
    use diesel::RunQueryDsl;
    diesel::sql_query(format!(
        "SELECT CAST(COALESCE(SUM(scans), 0) AS BIGINT) AS n FROM code_scans WHERE code_id = '{code_id}'"
    ))
    .get_result::<Scans>(&mut app.raw_connection())
    .unwrap()
    .n
}

async fn page_opens_are_counted_in_memory_and_written_in_one_go(app: TestApp) {
    let (admin, id) = setup(&app).await;
    app.code_token(&admin, &id).await;
    #[derive(diesel::QueryableByName)]
    struct Code {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let code: Code = {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "SELECT id FROM enterprise_codes WHERE enterprise_id = '{id}'"
        ))
        .get_result(&mut app.raw_connection())
        .unwrap()
    };
    // A tally of its own over the same database, without the app's timer.
    let url = truckpass::db::DatabaseUrl::parse(&app.database_url).unwrap();
    let db =
        truckpass::db::Db::connect(&url, truckpass::config::SqliteSynchronous::Full, 1, 1).unwrap();
    let tally = truckpass::codes::tally::ScanTally::default();
    let before = stored_scans(&app, &code.id);
    for _ in 0..500 {
        tally.add(&truckpass::domain::id::CodeId::from(code.id.clone()));
    }
    assert_eq!(
        stored_scans(&app, &code.id),
        before,
        "counting writes nothing"
    );
    tally.flush(&db).await.unwrap();
    assert_eq!(
        stored_scans(&app, &code.id),
        before + 500,
        "one write carries them all"
    );
    tally.flush(&db).await.unwrap();
    assert_eq!(stored_scans(&app, &code.id), before + 500, "and only once");
}
api_test!(page_opens_are_counted_in_memory_and_written_in_one_go);
