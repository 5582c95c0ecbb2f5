//! The enterprise roster: create, list, show, update, scope, import and export.

use reqwest::Method;
use serde_json::{Value, json};
use truckpass::enterprises::roster::{self, ExportRow};
use truckpass::exports::PAGE_ROWS;
use truckpass::exports::sheet::write_xlsx;

use crate::helpers::{TestApp, api_test, credit_code};

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn admin_creates_shows_filters_and_updates_enterprises(app: TestApp) {
    let admin = app.admin_token().await;
    let chem = app.create_sector(&admin, "HG").await;
    let east = app.create_park(&admin, "EAST").await;
    let west = app.create_park(&admin, "WEST").await;
    let created = app
        .post(
            "/api/v1/enterprises",
            Some(&admin),
            json!({
                "name": "福州恒信化工有限公司",
                "credit_code": "91350100m000100y43",
                "sector_id": chem,
                "park_id": east,
                "address": "高新大道 8 号",
                "key_enterprise": true,
                "longitude": 119.2965,
                "latitude": 26.0745,
            }),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.body["credit_code"], "91350100M000100Y43");
    assert_eq!(created.body["sector_name"], "HG行业");
    assert_eq!(created.body["park_name"], "EAST园区");
    assert_eq!(created.body["status"], "operating");
    let id = created.body["id"].as_str().unwrap().to_owned();
    app.create_enterprise(&admin, "福州西区机械有限公司", &chem, &west)
        .await;

    assert_eq!(
        names(
            &app.get(&format!("/api/v1/enterprises?park_id={west}"), Some(&admin))
                .await
                .body
        ),
        vec!["福州西区机械有限公司"]
    );
    assert_eq!(
        names(
            &app.get("/api/v1/enterprises?key_enterprise=true", Some(&admin))
                .await
                .body
        ),
        vec!["福州恒信化工有限公司"]
    );
    assert_eq!(
        names(
            &app.get("/api/v1/enterprises?q=%E6%81%92%E4%BF%A1", Some(&admin))
                .await
                .body
        ),
        vec!["福州恒信化工有限公司"]
    );
    assert_eq!(
        names(
            &app.get("/api/v1/enterprises?q=m000100", Some(&admin))
                .await
                .body
        ),
        vec!["福州恒信化工有限公司"]
    );
    let first = app.get("/api/v1/enterprises?limit=1", Some(&admin)).await;
    assert_eq!(names(&first.body).len(), 1);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/enterprises?limit=1&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    assert_eq!(names(&second.body), vec!["福州西区机械有限公司"]);

    let updated = app
        .patch(
            &format!("/api/v1/enterprises/{id}"),
            Some(&admin),
            json!({ "status": "suspended", "park_id": west }),
        )
        .await;
    updated.assert_status(200);
    assert_eq!(updated.body["status"], "suspended");
    assert_eq!(updated.body["park_name"], "WEST园区");
    assert_eq!(updated.body["name"], "福州恒信化工有限公司");
    assert_eq!(
        names(
            &app.get("/api/v1/enterprises?status=suspended", Some(&admin))
                .await
                .body
        ),
        vec!["福州恒信化工有限公司"]
    );
    let shown = app
        .get(&format!("/api/v1/enterprises/{id}"), Some(&admin))
        .await;
    assert_eq!(shown.body["longitude"], json!(119.2965));
}
api_test!(admin_creates_shows_filters_and_updates_enterprises);

async fn a_patch_clears_the_location_only_with_both_coordinates_null(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    let id = app
        .create_enterprise(&admin, "福州恒信化工有限公司", &sector, &park)
        .await;
    let path = format!("/api/v1/enterprises/{id}");
    let placed = app
        .patch(
            &path,
            Some(&admin),
            json!({ "longitude": 119.2965, "latitude": 26.0745 }),
        )
        .await;
    placed.assert_status(200);
    assert_eq!(placed.body["latitude"], json!(26.0745));

    for (body, missing) in [
        (json!({ "longitude": null }), "latitude"),
        (json!({ "latitude": null }), "longitude"),
        (
            json!({ "longitude": null, "latitude": 26.0745 }),
            "longitude",
        ),
    ] {
        let refused = app.patch(&path, Some(&admin), body).await;
        refused.assert_status(422);
        assert_eq!(refused.body["errors"][0]["field"], missing);
        assert_eq!(refused.body["errors"][0]["code"], "required");
    }
    assert_eq!(
        app.get(&path, Some(&admin)).await.body["longitude"],
        json!(119.2965)
    );

    let cleared = app
        .patch(
            &path,
            Some(&admin),
            json!({ "longitude": null, "latitude": null }),
        )
        .await;
    cleared.assert_status(200);
    assert!(cleared.body["longitude"].is_null());
    assert!(cleared.body["latitude"].is_null());
}
api_test!(a_patch_clears_the_location_only_with_both_coordinates_null);

async fn invalid_enterprises_are_refused_field_by_field(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    let bad = app
        .post(
            "/api/v1/enterprises",
            Some(&admin),
            json!({
                "name": "ACME Ltd",
                "credit_code": "91350100M000100Y44",
                "sector_id": sector,
                "park_id": park,
                "longitude": 119.3,
            }),
        )
        .await;
    bad.assert_status(422);
    let mut fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, vec!["credit_code", "latitude", "name"]);

    let unknown_units = app
        .post(
            "/api/v1/enterprises",
            Some(&admin),
            json!({
                "name": "福州化工有限公司", "credit_code": credit_code("x"),
                "sector_id": park, "park_id": "nope",
            }),
        )
        .await;
    unknown_units.assert_status(422);
    assert_eq!(unknown_units.body["errors"].as_array().unwrap().len(), 2);

    app.create_enterprise(&admin, "福州恒信化工有限公司", &sector, &park)
        .await;
    let duplicate = app
        .post(
            "/api/v1/enterprises",
            Some(&admin),
            json!({
                "name": "另一家化工有限公司", "credit_code": credit_code("福州恒信化工有限公司"),
                "sector_id": sector, "park_id": park,
            }),
        )
        .await;
    duplicate.assert_status(409);
    assert_eq!(duplicate.code(), "credit_code_taken");
    assert_eq!(
        names(&app.get("/api/v1/enterprises", Some(&admin)).await.body).len(),
        1
    );
}
api_test!(invalid_enterprises_are_refused_field_by_field);

/// Two sectors, two parks, enterprise A in S1/P1 and B in S2/P2, and a user of every role.
struct World {
    a: String,
    b: String,
    tokens: Vec<(&'static str, String)>,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin_token().await;
    let s1 = app.create_sector(&admin, "S1").await;
    let s2 = app.create_sector(&admin, "S2").await;
    let p1 = app.create_park(&admin, "P1").await;
    let p2 = app.create_park(&admin, "P2").await;
    let a = app
        .create_enterprise(&admin, "甲化工有限公司", &s1, &p1)
        .await;
    let b = app
        .create_enterprise(&admin, "乙机械有限公司", &s2, &p2)
        .await;
    app.create_user(&admin, "reg", "regulator", &[], &[]).await;
    app.create_user(&admin, "sec1", "sector_official", &[&s1], &[])
        .await;
    app.create_user(&admin, "park2", "park_official", &[], &[&p2])
        .await;
    app.create_user(&admin, "sur1", "surveyor", &[&s1], &[])
        .await;
    app.create_contact(&admin, "contact_a", &a).await;
    let mut tokens = vec![("admin", admin)];
    for name in ["reg", "sec1", "park2", "sur1", "contact_a"] {
        tokens.push((
            name,
            app.tokens(name, crate::helpers::USER_PASSWORD).await.0,
        ));
    }
    World { a, b, tokens }
}

async fn every_role_sees_exactly_its_own_enterprises_in_every_way(app: TestApp) {
    let world = world(&app).await;
    for (who, token) in &world.tokens {
        let (sees_a, sees_b) = match *who {
            "admin" | "reg" => (true, true),
            "sec1" | "sur1" | "contact_a" => (true, false),
            "park2" => (false, true),
            _ => unreachable!(),
        };
        let listed = names(&app.get("/api/v1/enterprises", Some(token)).await.body);
        assert_eq!(
            listed.contains(&"甲化工有限公司".to_owned()),
            sees_a,
            "{who} list"
        );
        assert_eq!(
            listed.contains(&"乙机械有限公司".to_owned()),
            sees_b,
            "{who} list"
        );
        for (id, visible) in [(&world.a, sees_a), (&world.b, sees_b)] {
            let expected = if visible { 200 } else { 404 };
            for path in ["", "/code", "/code.png", "/code.svg", "/code/scans"] {
                let response = app
                    .get(&format!("/api/v1/enterprises/{id}{path}"), Some(token))
                    .await;
                assert_eq!(response.status, expected, "{who} GET {path} of {id}");
            }
            let filtered = app
                .get(
                    &format!(
                        "/api/v1/enterprises?q={}",
                        &credit_code(if *id == world.a {
                            "甲化工有限公司"
                        } else {
                            "乙机械有限公司"
                        })[..12]
                    ),
                    Some(token),
                )
                .await;
            assert_eq!(
                names(&filtered.body).len(),
                usize::from(visible),
                "{who} filter"
            );
        }
        let csv = app.get("/api/v1/enterprises/export.csv", Some(token)).await;
        csv.assert_status(200);
        assert_eq!(csv.text.contains("甲化工有限公司"), sees_a, "{who} export");
        assert_eq!(csv.text.contains("乙机械有限公司"), sees_b, "{who} export");
        let xlsx = app
            .get("/api/v1/enterprises/export.xlsx", Some(token))
            .await;
        xlsx.assert_status(200);
        let exported: Vec<String> = roster::read(&xlsx.bytes)
            .unwrap()
            .iter()
            .map(|r| r.cells[&roster::Column::Name].clone())
            .collect();
        assert_eq!(
            exported.contains(&"乙机械有限公司".to_owned()),
            sees_b,
            "{who} xlsx"
        );
    }
    let contact = &world
        .tokens
        .iter()
        .find(|(who, _)| *who == "contact_a")
        .unwrap()
        .1;
    let rotate_other = app
        .post(
            &format!("/api/v1/enterprises/{}/code/rotate", world.b),
            Some(contact),
            json!({}),
        )
        .await;
    rotate_other.assert_status(404);
    app.post(
        &format!("/api/v1/enterprises/{}/code/rotate", world.a),
        Some(contact),
        json!({}),
    )
    .await
    .assert_status(200);
    let official = &world
        .tokens
        .iter()
        .find(|(who, _)| *who == "sec1")
        .unwrap()
        .1;
    app.post(
        &format!("/api/v1/enterprises/{}/code/rotate", world.a),
        Some(official),
        json!({}),
    )
    .await
    .assert_status(403);
    let zip = app
        .get(
            &format!("/api/v1/posters.zip?ids={}", world.b),
            Some(official),
        )
        .await;
    zip.assert_status(404);
}
api_test!(every_role_sees_exactly_its_own_enterprises_in_every_way);

fn csv_file(rows: &[&str]) -> Vec<u8> {
    let mut text = String::from("企业名称,统一社会信用代码,行业,园区,地址,重点企业,状态\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text.into_bytes()
}

async fn import(
    app: &TestApp,
    token: &str,
    query: &str,
    content_type: &str,
    file: Vec<u8>,
) -> crate::helpers::TestResponse {
    app.call_raw(
        Method::POST,
        &format!("/api/v1/enterprises/import{query}"),
        Some(token),
        content_type,
        file,
    )
    .await
}

async fn a_roster_with_a_bad_row_writes_nothing_unless_partial(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_sector(&admin, "HG").await;
    app.create_park(&admin, "EAST").await;
    let good1 = format!(
        "福州一号化工有限公司,{},HG,EAST园区,高新大道1号,是,在营",
        credit_code("1")
    );
    let good2 = format!("福州二号化工有限公司,{},hg,EAST,,否,停产", credit_code("2"));
    let bad = "福州三号化工有限公司,91350100M000100Y44,不存在的行业,EAST,,也许,在营";
    let file = csv_file(&[&good1, "", bad, &good2]);

    let refused = import(&app, &admin, "", "text/csv", file.clone()).await;
    refused.assert_status(200);
    assert_eq!(refused.body["written"], false);
    assert_eq!(refused.body["rejected"], 1);
    assert_eq!(refused.body["inserted"], 2);
    let errors = refused.body["errors"].as_array().unwrap();
    let cells: Vec<(u64, &str)> = errors
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap()))
        .collect();
    assert_eq!(
        cells,
        vec![(4, "credit_code"), (4, "sector"), (4, "key_enterprise")],
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .all(|e| !e["message"].as_str().unwrap().is_ascii())
    );
    assert_eq!(
        names(&app.get("/api/v1/enterprises", Some(&admin)).await.body).len(),
        0
    );

    let dry = import(
        &app,
        &admin,
        "?dry_run=true&partial=true",
        "text/csv",
        file.clone(),
    )
    .await;
    assert_eq!(dry.body["written"], false);
    assert_eq!(
        names(&app.get("/api/v1/enterprises", Some(&admin)).await.body).len(),
        0
    );

    let partial = import(&app, &admin, "?partial=true", "text/csv", file.clone()).await;
    partial.assert_status(200);
    assert_eq!(partial.body["written"], true);
    assert_eq!(partial.body["inserted"], 2);
    let listed = app
        .get("/api/v1/enterprises?status=suspended", Some(&admin))
        .await;
    assert_eq!(names(&listed.body), vec!["福州二号化工有限公司"]);

    let again = import(&app, &admin, "", "text/csv", csv_file(&[&good1, &good2])).await;
    assert_eq!(
        (
            again.body["unchanged"].as_u64(),
            again.body["inserted"].as_u64()
        ),
        (Some(2), Some(0))
    );
    let renamed = good1.replace("福州一号化工有限公司", "福州一号新材料有限公司");
    let changed = import(&app, &admin, "", "text/csv", csv_file(&[&renamed, &good2])).await;
    assert_eq!(changed.body["updated"], 1);
    assert_eq!(
        names(
            &app.get(
                "/api/v1/enterprises?q=%E6%96%B0%E6%9D%90%E6%96%99",
                Some(&admin)
            )
            .await
            .body
        ),
        vec!["福州一号新材料有限公司"]
    );
    let twice = import(&app, &admin, "", "text/csv", csv_file(&[&good1, &good1])).await;
    assert_eq!(twice.body["errors"][0]["code"], "duplicate_in_file");
}
api_test!(a_roster_with_a_bad_row_writes_nothing_unless_partial);

async fn xlsx_rosters_import_and_exports_read_back(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_sector(&admin, "JX").await;
    app.create_park(&admin, "WEST").await;
    let rows: Vec<ExportRow> = (0..30)
        .map(|i| ExportRow {
            name: format!("福州第{i}机械有限公司"),
            credit_code: credit_code(&format!("jx{i}")),
            sector: "JX行业".into(),
            park: "WEST".into(),
            address: format!("工业路 {i} 号"),
            contact_person: format!("联系人{i}"),
            contact_phone: format!("139{i:08}"),
            key_enterprise: i % 2 == 0,
            status: "在营".into(),
            longitude: Some(119.0 + f64::from(i) / 100.0),
            latitude: Some(26.0),
        })
        .collect();
    let file = write_xlsx(&rows).unwrap();
    let report = import(
        &app,
        &admin,
        "",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        file,
    )
    .await;
    report.assert_status(200);
    assert_eq!(report.body["inserted"], 30, "{}", report.text);
    let listed = app
        .get(
            "/api/v1/enterprises?key_enterprise=true&limit=100",
            Some(&admin),
        )
        .await;
    assert_eq!(names(&listed.body).len(), 15);

    let exported = app
        .get("/api/v1/enterprises/export.csv", Some(&admin))
        .await;
    assert!(
        exported.bytes.starts_with(b"\xEF\xBB\xBF"),
        "UTF-8 BOM for Excel"
    );
    assert!(
        exported
            .header("content-type")
            .unwrap()
            .starts_with("text/csv")
    );
    let read_back = roster::read(&exported.bytes).unwrap();
    assert_eq!(read_back.len(), 30);
    let reimport = import(&app, &admin, "", "text/csv", exported.bytes.clone()).await;
    assert_eq!(reimport.body["unchanged"], 30, "{}", reimport.text);
}
api_test!(xlsx_rosters_import_and_exports_read_back);

/// Every name the list shows `token`, following its cursor: the export's order.
async fn listed_names(app: &TestApp, token: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut path = "/api/v1/enterprises?limit=100".to_owned();
    loop {
        let page = app.get(&path, Some(token)).await;
        page.assert_status(200);
        all.extend(names(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/enterprises?limit=100&cursor={cursor}"),
            None => return all,
        }
    }
}

fn exported_names(file: &[u8]) -> Vec<String> {
    roster::read(file)
        .unwrap()
        .into_iter()
        .map(|r| r.cells[&roster::Column::Name].clone())
        .collect()
}

async fn exports_of_several_pages_come_out_whole_in_order_and_scoped(app: TestApp) {
    let admin = app.admin_token().await;
    let s1 = app.create_sector(&admin, "S1").await;
    app.create_sector(&admin, "S2").await;
    app.create_park(&admin, "EAST").await;
    app.create_user(&admin, "sec1", "sector_official", &[&s1], &[])
        .await;
    let official = app.tokens("sec1", crate::helpers::USER_PASSWORD).await.0;
    // Everything: two full pages and part of a third. S1: exactly one full page, so
    // its export ends with a read that finds nothing.
    let total = 2 * PAGE_ROWS + 103;
    let in_s1 = |i: usize| i < 2 * PAGE_ROWS && i.is_multiple_of(2);
    let rows: Vec<String> = (0..total)
        .map(|i| {
            let sector = if in_s1(i) { "S1" } else { "S2" };
            format!(
                "福州第{i}号化工有限公司,{},{sector},EAST,高新大道{i}号,否,在营",
                credit_code(&format!("page{i}"))
            )
        })
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let report = import(&app, &admin, "", "text/csv", csv_file(&rows)).await;
    assert_eq!(report.body["inserted"], total, "{}", report.text);

    for (who, token, expected) in [("admin", &admin, total), ("sec1", &official, PAGE_ROWS)] {
        let listed = listed_names(&app, token).await;
        assert_eq!(listed.len(), expected, "{who}");
        let csv = app.get("/api/v1/enterprises/export.csv", Some(token)).await;
        csv.assert_status(200);
        assert_eq!(
            csv.bytes
                .windows(3)
                .filter(|w| *w == b"\xEF\xBB\xBF")
                .count(),
            1,
            "{who}: one BOM"
        );
        assert_eq!(
            csv.text.matches("企业名称").count(),
            1,
            "{who}: one header line"
        );
        assert_eq!(exported_names(&csv.bytes), listed, "{who} CSV");
        let xlsx = app
            .get("/api/v1/enterprises/export.xlsx", Some(token))
            .await;
        xlsx.assert_status(200);
        assert_eq!(exported_names(&xlsx.bytes), listed, "{who} XLSX");
    }
    let filtered = app
        .get(
            &format!("/api/v1/enterprises/export.csv?sector_id={s1}"),
            Some(&admin),
        )
        .await;
    assert_eq!(exported_names(&filtered.bytes).len(), PAGE_ROWS);
    let none = app
        .get(
            "/api/v1/enterprises/export.xlsx?q=%E6%B2%A1%E6%9C%89",
            Some(&admin),
        )
        .await;
    none.assert_status(200);
    assert_eq!(exported_names(&none.bytes), Vec::<String>::new());

    let audit = app
        .get(
            "/api/v1/audit?action=enterprise.export&limit=100",
            Some(&admin),
        )
        .await;
    let mut recorded: Vec<(String, u64)> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["details"]["format"].as_str().unwrap().to_owned(),
                e["details"]["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    recorded.reverse();
    let expected: Vec<(String, u64)> = [
        ("csv", total),
        ("xlsx", total),
        ("csv", PAGE_ROWS),
        ("xlsx", PAGE_ROWS),
        ("csv", PAGE_ROWS),
        ("xlsx", 0),
    ]
    .into_iter()
    .map(|(format, rows)| (format.to_owned(), rows as u64))
    .collect();
    assert_eq!(recorded, expected);
}

api_test!(exports_of_several_pages_come_out_whole_in_order_and_scoped);

async fn unreadable_rosters_are_refused_clearly(app: TestApp) {
    let admin = app.admin_token().await;
    let no_columns = import(
        &app,
        &admin,
        "",
        "text/csv",
        "名称,地址\n甲,乙\n".as_bytes().to_vec(),
    )
    .await;
    no_columns.assert_status(422);
    assert_eq!(no_columns.code(), "missing_columns");
    let empty = import(&app, &admin, "", "text/csv", Vec::new()).await;
    empty.assert_status(422);
    let pdf = import(&app, &admin, "", "application/pdf", b"%PDF-1.7".to_vec()).await;
    pdf.assert_status(415);
    let broken_xlsx = import(
        &app,
        &admin,
        "",
        "application/octet-stream",
        b"PK\x03\x04garbage".to_vec(),
    )
    .await;
    broken_xlsx.assert_status(422);
    let officer = app.create_user(&admin, "reg", "regulator", &[], &[]).await;
    let _ = officer;
    let regulator = app.tokens("reg", crate::helpers::USER_PASSWORD).await.0;
    import(&app, &regulator, "", "text/csv", csv_file(&[]))
        .await
        .assert_status(403);
}
api_test!(unreadable_rosters_are_refused_clearly);

async fn the_command_line_imports_a_roster_file(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_sector(&admin, "HG").await;
    app.create_park(&admin, "EAST").await;
    let good = format!(
        "福州命令行化工有限公司,{},HG,EAST,,否,在营",
        credit_code("cli")
    );
    let path = app.data_dir.path().join("roster.csv");
    std::fs::write(&path, csv_file(&[&good])).unwrap();
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_truckpass"))
            .arg("import")
            .arg(&path)
            .args(extra)
            .env("DATABASE_URL", &app.database_url)
            .env("TRUCKPASS_DATA_DIR", app.data_dir.path())
            .output()
            .unwrap()
    };
    let dry = run(&["--dry-run"]);
    assert!(dry.status.success());
    assert!(String::from_utf8_lossy(&dry.stdout).contains("未写入"));
    assert_eq!(
        names(&app.get("/api/v1/enterprises", Some(&admin)).await.body).len(),
        0
    );
    let real = run(&[]);
    assert!(
        real.status.success(),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    assert!(String::from_utf8_lossy(&real.stdout).contains("新增 1"));
    assert_eq!(
        names(&app.get("/api/v1/enterprises", Some(&admin)).await.body),
        vec!["福州命令行化工有限公司"]
    );

    std::fs::write(&path, csv_file(&["坏行,123,HG,EAST,,否,在营"])).unwrap();
    let refused = run(&[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("第 2 行"));
}
api_test!(the_command_line_imports_a_roster_file);

/// A ZIP whose one part unpacks to `unpacked` bytes of zeros (a few hundred KB packed);
/// with `declared`, the sizes its headers claim are overwritten with that lie.
fn zip_bomb(unpacked: usize, declared: Option<u32>) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    writer
        .start_file("xl/worksheets/sheet1.xml", options)
        .unwrap();
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..unpacked / zeros.len() {
        writer.write_all(&zeros).unwrap();
    }
    let mut bytes = writer.finish().unwrap().into_inner();
    if let Some(size) = declared {
        // Local header: uncompressed size at offset 22; central directory: at 24. A
        // zip64 extra field would carry the true size too, so the test writes none
        // over 4 GiB and patches the 32-bit fields.
        for (signature, offset) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
            let at = bytes.windows(4).position(|w| w == signature).unwrap() + offset;
            bytes[at..at + 4].copy_from_slice(&size.to_le_bytes());
        }
    }
    bytes
}

async fn a_workbook_that_unpacks_too_far_is_refused_before_it_is_parsed(app: TestApp) {
    let admin = app.admin_token().await;
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let honest = import(&app, &admin, "", xlsx, zip_bomb(130 << 20, None)).await;
    honest.assert_status(422);
    assert_eq!(honest.code(), "workbook_too_large");
    let lying = import(&app, &admin, "", xlsx, zip_bomb(130 << 20, Some(1000))).await;
    lying.assert_status(422);
    assert!(
        ["workbook_too_large", "unreadable_xlsx"].contains(&lying.code()),
        "{}",
        lying.text
    );
    let mut wide = String::from("企业名称,统一社会信用代码");
    wide.push_str(&",".repeat(300));
    wide.push_str("备注\n");
    let refused = import(&app, &admin, "", "text/csv", wide.into_bytes()).await;
    refused.assert_status(422);
    assert_eq!(refused.code(), "too_many_columns");
    // The service is still there.
    import(&app, &admin, "?dry_run=true", "text/csv", csv_file(&[]))
        .await
        .assert_status(200);
}
api_test!(a_workbook_that_unpacks_too_far_is_refused_before_it_is_parsed);

async fn an_enterprise_change_is_audited_with_what_it_was_and_became(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    let other_park = app.create_park(&admin, "WEST").await;
    let id = app
        .create_enterprise(&admin, "福州恒信化工有限公司", &sector, &park)
        .await;
    app.patch(
        &format!("/api/v1/enterprises/{id}"),
        Some(&admin),
        json!({ "park_id": other_park, "status": "suspended" }),
    )
    .await
    .assert_status(200);
    let audit = app
        .get(
            &format!("/api/v1/audit?action=enterprise.update&object_id={id}"),
            Some(&admin),
        )
        .await;
    let details = &audit.body["items"][0]["details"];
    assert_eq!(
        details["before"],
        json!({ "park_id": park, "status": "operating" }),
        "{}",
        audit.text
    );
    assert_eq!(
        details["after"],
        json!({ "park_id": other_park, "status": "suspended" })
    );
}
api_test!(an_enterprise_change_is_audited_with_what_it_was_and_became);

/// The roster's contact columns: a full number in a test file, and what must never
/// come back from the service.
const CONTACT_PHONE: &str = "13812345678";

fn contact_csv(rows: &[String]) -> Vec<u8> {
    let mut text = String::from("企业名称,统一社会信用代码,行业,园区,联系人,联系电话\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text.into_bytes()
}

async fn roster_contacts_import_with_every_bad_phone_reported_and_a_dry_run_writing_nothing(
    app: TestApp,
) {
    let staff = app.staff().await;
    let admin = staff.token("admin");
    let own = credit_code("福州第一化工有限公司");
    let rows = vec![
        format!("福州第一化工有限公司,{own},S1,P1,王经理,+86 138-1234-5678"),
        format!(
            "福州联系化工有限公司,{},S1,P1,李四,12345",
            credit_code("c2")
        ),
        format!(
            "福州遮盖化工有限公司,{},S1,P1,赵五,138****5678",
            credit_code("c3")
        ),
    ];
    let dry = import(&app, admin, "?dry_run=true", "text/csv", contact_csv(&rows)).await;
    dry.assert_status(200);
    assert_eq!(dry.body["written"], false);
    let errors: Vec<(u64, &str, &str)> = dry.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap(),
                e["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (3, "contact_phone", "invalid_phone"),
            (4, "contact_phone", "masked_phone"),
        ],
        "{}",
        dry.text
    );
    assert!(!dry.text.contains(CONTACT_PHONE));
    // All or nothing: not even the good row's contact was written.
    let path = format!("/api/v1/enterprises/{}", staff.enterprise);
    let before = app.get(&path, Some(admin)).await;
    assert_eq!(before.body["contact_person"], "");
    assert_eq!(before.body["contact_phone"], Value::Null);

    let written = import(&app, admin, "", "text/csv", contact_csv(&rows[..1])).await;
    assert_eq!(
        (
            written.body["written"].as_bool(),
            written.body["updated"].as_u64()
        ),
        (Some(true), Some(1)),
        "{}",
        written.text
    );
    let shown = app.get(&path, Some(admin)).await;
    assert_eq!(shown.body["contact_person"], "王经理");
    assert_eq!(shown.body["contact_phone"], "138****5678");
    // The same number written differently, or masked as exports write it, is no change.
    let again = [
        format!("福州第一化工有限公司,{own},S1,P1,王经理,13812345678"),
        format!("福州第一化工有限公司,{own},S1,P1,王经理,138****5678"),
    ];
    for row in again {
        let report = import(&app, admin, "", "text/csv", contact_csv(&[row])).await;
        assert_eq!(report.body["unchanged"], 1, "{}", report.text);
    }
    // The audit trail of the change holds the masked number only.
    let audit = app
        .get("/api/v1/audit?action=enterprise.import_update", Some(admin))
        .await;
    assert!(audit.text.contains("138****5678"), "{}", audit.text);
    assert!(!audit.text.contains(CONTACT_PHONE));

    // XLSX: the same columns, the phone given in full.
    let sheet = vec![ExportRow {
        name: "福州表格化工有限公司".into(),
        credit_code: credit_code("xlsx-contact"),
        sector: "S1".into(),
        park: "P1".into(),
        contact_person: "钱六".into(),
        contact_phone: "13912345678".into(),
        ..ExportRow::default()
    }];
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let report = import(&app, admin, "", xlsx, write_xlsx(&sheet).unwrap()).await;
    assert_eq!(report.body["inserted"], 1, "{}", report.text);
    let bad = vec![ExportRow {
        contact_phone: "0591-8888".into(),
        ..sheet[0].clone()
    }];
    let refused = import(&app, admin, "", xlsx, write_xlsx(&bad).unwrap()).await;
    assert_eq!(refused.body["errors"][0]["code"], "invalid_phone");
    assert_eq!(refused.body["errors"][0]["header"], "联系电话");
}
api_test!(roster_contacts_import_with_every_bad_phone_reported_and_a_dry_run_writing_nothing);

async fn a_contact_phone_is_masked_everywhere_and_revealed_only_with_a_reason_and_an_audit(
    app: TestApp,
) {
    let staff = app.staff().await;
    let admin = staff.token("admin");
    let row = format!(
        "福州第一化工有限公司,{},S1,P1,王经理,{CONTACT_PHONE}",
        credit_code("福州第一化工有限公司")
    );
    import(&app, admin, "", "text/csv", contact_csv(&[row]))
        .await
        .assert_status(200);
    let detail = format!("/api/v1/enterprises/{}", staff.enterprise);
    for role in [
        "admin",
        "regulator",
        "sector_official",
        "park_official",
        "surveyor",
        "enterprise_contact",
    ] {
        let token = staff.token(role);
        for path in [
            "/api/v1/enterprises",
            detail.as_str(),
            "/api/v1/enterprises/export.csv",
            "/api/v1/enterprises/export.xlsx",
        ] {
            let response = app.get(path, Some(token)).await;
            response.assert_status(200);
            assert!(
                !response.text.contains(CONTACT_PHONE),
                "{role} {path} shows the full phone"
            );
        }
        let csv = app.get("/api/v1/enterprises/export.csv", Some(token)).await;
        assert!(csv.text.contains("王经理,138****5678"), "{}", csv.text);
        let xlsx = app
            .get("/api/v1/enterprises/export.xlsx", Some(token))
            .await;
        let rows = roster::read(&xlsx.bytes).unwrap();
        assert_eq!(rows[0].cells[&roster::Column::ContactPhone], "138****5678");
        let mut browser = crate::helpers::Browser::of(&app, role).await;
        let page = browser
            .get(&format!("/console/enterprises/{}", staff.enterprise))
            .await;
        page.assert_status(200);
        assert!(page.text.contains("138****5678"), "{}", page.text);
        assert!(!page.text.contains(CONTACT_PHONE));
    }

    let reveal = format!("/api/v1/enterprises/{}/contact/reveal", staff.enterprise);
    let reason = json!({ "reason": "摸排需电话联系企业负责人" });
    for role in ["regulator", "enterprise_contact"] {
        let revealed = app
            .post(&reveal, Some(staff.token(role)), reason.clone())
            .await;
        revealed.assert_status(200);
        assert_eq!(revealed.header("cache-control"), Some("no-store"));
        assert_eq!(
            revealed.body,
            json!({ "contact_person": "王经理", "contact_phone": CONTACT_PHONE })
        );
    }
    for role in ["admin", "sector_official", "park_official", "surveyor"] {
        let refused = app
            .post(&reveal, Some(staff.token(role)), reason.clone())
            .await;
        refused.assert_status(403);
    }
    let no_reason = app
        .post(
            &reveal,
            Some(staff.token("regulator")),
            json!({ "reason": " " }),
        )
        .await;
    no_reason.assert_status(422);
    // Another enterprise's contact cannot find this one, nor anyone an unknown id.
    let other = app
        .create_enterprise(admin, "福州别家化工有限公司", &staff.sector, &staff.park)
        .await;
    app.create_contact(admin, "contact2", &other).await;
    let stranger = app
        .tokens("contact2", crate::helpers::USER_PASSWORD)
        .await
        .0;
    app.post(&reveal, Some(&stranger), reason.clone())
        .await
        .assert_status(404);
    app.post(
        "/api/v1/enterprises/019ac1f4-2e7a-7b90-8c15-4d3f6a9e1b28/contact/reveal",
        Some(staff.token("regulator")),
        reason.clone(),
    )
    .await
    .assert_status(404);
    let nothing = app
        .post(
            &format!("/api/v1/enterprises/{other}/contact/reveal"),
            Some(staff.token("regulator")),
            reason,
        )
        .await;
    assert_eq!(
        nothing.body,
        json!({ "contact_person": "", "contact_phone": null })
    );

    let audit = app
        .get(
            "/api/v1/audit?action=enterprise.contact_reveal",
            Some(staff.token("regulator")),
        )
        .await;
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{}", audit.text);
    assert!(audit.text.contains("摸排需电话联系企业负责人"));
    assert!(!audit.text.contains(CONTACT_PHONE));
}
api_test!(a_contact_phone_is_masked_everywhere_and_revealed_only_with_a_reason_and_an_audit);

async fn a_contact_is_set_on_create_and_changed_or_cleared_on_update_sealed_and_audited(
    app: TestApp,
) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    let body = |phone: &str| {
        json!({
            "name": "福州恒信化工有限公司",
            "credit_code": credit_code("恒信"),
            "sector_id": sector,
            "park_id": park,
            "contact_person": " 王经理 ",
            "contact_phone": phone,
        })
    };
    let refused = app
        .post("/api/v1/enterprises", Some(&admin), body("0591-8888"))
        .await;
    refused.assert_status(422);
    assert_eq!(refused.body["errors"][0]["field"], "contact_phone");
    assert_eq!(refused.body["errors"][0]["code"], "invalid_phone");
    let created = app
        .post(
            "/api/v1/enterprises",
            Some(&admin),
            body("+86 138 1234 5678"),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.body["contact_person"], "王经理");
    assert_eq!(created.body["contact_phone"], "138****5678");
    assert!(!created.text.contains(CONTACT_PHONE));
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/enterprises/{id}");

    // The same number again is no change; a new one is, audited masked.
    let same = app
        .patch(
            &path,
            Some(&admin),
            json!({ "contact_phone": CONTACT_PHONE }),
        )
        .await;
    same.assert_status(200);
    let changed = app
        .patch(
            &path,
            Some(&admin),
            json!({ "contact_person": "李主任", "contact_phone": "13912345678" }),
        )
        .await;
    changed.assert_status(200);
    assert_eq!(changed.body["contact_person"], "李主任");
    assert_eq!(changed.body["contact_phone"], "139****5678");
    let audit = app
        .get(
            &format!("/api/v1/audit?action=enterprise.update&object_id={id}"),
            Some(&admin),
        )
        .await;
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{}", audit.text);
    assert_eq!(
        entries[0]["details"]["before"]["contact_phone"],
        "138****5678"
    );
    assert_eq!(
        entries[0]["details"]["after"]["contact_phone"],
        "139****5678"
    );
    assert!(
        entries[1]["details"]["after"]
            .get("contact_phone")
            .is_none()
    );
    assert!(!audit.text.contains(CONTACT_PHONE) && !audit.text.contains("13912345678"));

    let bad = app
        .patch(&path, Some(&admin), json!({ "contact_phone": "12345" }))
        .await;
    bad.assert_status(422);
    let cleared = app
        .patch(&path, Some(&admin), json!({ "contact_phone": null }))
        .await;
    cleared.assert_status(200);
    assert_eq!(cleared.body["contact_phone"], Value::Null);
    assert_eq!(cleared.body["contact_person"], "李主任");
}
api_test!(a_contact_is_set_on_create_and_changed_or_cleared_on_update_sealed_and_audited);
