//! Registration forms as data: the zone's and each enterprise's extra fields, versioned.

use serde_json::{Value, json};

use crate::helpers::{TestApp, USER_PASSWORD, api_test};

fn sample_fields() -> Value {
    json!([
        { "key": "health", "label": "健康申报：本人无发热症状", "type": "yes_no", "required": true },
        {
            "key": "vehicle_kind", "label": "车辆类型补充", "type": "single_choice",
            "options": ["危化品运输车", "普通货车"],
        },
        { "key": "tonnage", "label": "载重吨位", "type": "number", "min": 0, "max": 100 },
    ])
}

async fn the_zone_template_is_versioned_on_every_change(app: TestApp) {
    let admin = app.admin_token().await;
    let empty = app.get("/api/v1/form-template", Some(&admin)).await;
    empty.assert_status(200);
    assert_eq!(empty.body["version"], 0);
    assert_eq!(empty.body["fields"], json!([]));

    let saved = app
        .put(
            "/api/v1/form-template",
            Some(&admin),
            json!({ "fields": sample_fields() }),
        )
        .await;
    saved.assert_status(200);
    assert_eq!(saved.body["version"], 1);
    assert_eq!(
        saved.body["fields"][1]["options"],
        json!(["危化品运输车", "普通货车"])
    );
    let same = app
        .put(
            "/api/v1/form-template",
            Some(&admin),
            json!({ "fields": sample_fields() }),
        )
        .await;
    assert_eq!(
        same.body["version"], 1,
        "an unchanged save makes no new version"
    );

    let mut fewer = sample_fields();
    fewer.as_array_mut().unwrap().pop();
    let changed = app
        .put(
            "/api/v1/form-template",
            Some(&admin),
            json!({ "fields": fewer }),
        )
        .await;
    assert_eq!(changed.body["version"], 2);
    assert_eq!(
        app.get("/api/v1/form-template", Some(&admin)).await.body["fields"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let audit = app
        .get("/api/v1/audit?action=form_template.update", Some(&admin))
        .await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 2);
}
api_test!(the_zone_template_is_versioned_on_every_change);

async fn invalid_templates_are_refused_field_by_field(app: TestApp) {
    let admin = app.admin_token().await;
    let bad = json!({ "fields": [
        { "key": "plate", "label": "车牌", "type": "text" },
        { "key": "cargo_note", "label": "说明", "type": "number", "min_length": 2 },
        { "key": "kind", "label": "类型", "type": "single_choice" },
        { "key": "kind", "label": "重复", "type": "text" },
    ]});
    let response = app.put("/api/v1/form-template", Some(&admin), bad).await;
    response.assert_status(422);
    let fields: Vec<&str> = response.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for expected in [
        "fields[0].key",
        "fields[1].min_length",
        "fields[2].options",
        "fields[3].key",
    ] {
        assert!(
            fields.contains(&expected),
            "{expected} missing from {fields:?}"
        );
    }
    let unknown = app
        .put(
            "/api/v1/form-template",
            Some(&admin),
            json!({ "fields": [{ "key": "a", "label": "甲", "type": "text", "colour": "red" }] }),
        )
        .await;
    unknown.assert_status(422);
    let too_many: Vec<Value> = (0..31)
        .map(|i| json!({ "key": format!("f{i}"), "label": "字段", "type": "text" }))
        .collect();
    app.put(
        "/api/v1/form-template",
        Some(&admin),
        json!({ "fields": too_many }),
    )
    .await
    .assert_status(422);
    assert_eq!(
        app.get("/api/v1/form-template", Some(&admin)).await.body["version"],
        0,
        "nothing saved"
    );
}
api_test!(invalid_templates_are_refused_field_by_field);

async fn an_enterprise_s_contact_keeps_its_own_form_and_no_other(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    let mine = app
        .create_enterprise(&admin, "甲化工有限公司", &sector, &park)
        .await;
    let other = app
        .create_enterprise(&admin, "乙化工有限公司", &sector, &park)
        .await;
    app.create_contact(&admin, "contact_a", &mine).await;
    let contact = app.tokens("contact_a", USER_PASSWORD).await.0;
    app.create_user(&admin, "sec", "sector_official", &[&sector], &[])
        .await;
    let official = app.tokens("sec", USER_PASSWORD).await.0;

    let body = json!({ "fields": sample_fields() });
    let saved = app
        .put(
            &format!("/api/v1/enterprises/{mine}/form-template"),
            Some(&contact),
            body.clone(),
        )
        .await;
    saved.assert_status(200);
    assert_eq!(saved.body["version"], 1);
    app.put(
        &format!("/api/v1/enterprises/{other}/form-template"),
        Some(&contact),
        body.clone(),
    )
    .await
    .assert_status(404);
    app.get(
        &format!("/api/v1/enterprises/{other}/form-template"),
        Some(&contact),
    )
    .await
    .assert_status(404);
    app.put(
        &format!("/api/v1/enterprises/{mine}/form-template"),
        Some(&official),
        body,
    )
    .await
    .assert_status(403);
    let seen = app
        .get(
            &format!("/api/v1/enterprises/{mine}/form-template"),
            Some(&official),
        )
        .await;
    assert_eq!(seen.body["fields"][0]["key"], "health");
    assert_eq!(
        app.get(
            &format!("/api/v1/enterprises/{other}/form-template"),
            Some(&admin)
        )
        .await
        .body["version"],
        0
    );
    assert_eq!(
        app.get("/api/v1/form-template", Some(&admin)).await.body["version"],
        0,
        "the zone's template is separate"
    );
}
api_test!(an_enterprise_s_contact_keeps_its_own_form_and_no_other);
