//! Photo questions of the survey's questionnaire: a kind only questionnaires may use,
//! answered with the ids of photos uploaded to the same case (checked where the
//! answers come in, nothing stored otherwise), and shown as pictures to the surveyor
//! and the reviewer, the diff included.

use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp, TestResponse, USER_PASSWORD, api_test};
use crate::survey::{
    Zone, a1_assigned, answers, case_of, case_version, field_codes, photo, review, submit, zone,
};

/// Uploads a small PNG to a case as `token`: the stored photo's id.
async fn uploaded(app: &TestApp, token: &str, case: &str, client_id: &str) -> String {
    let picture = crate::helpers::picture(64, 48, image::ImageFormat::Png);
    let stored = photo(
        app,
        token,
        case,
        &format!("client_id={client_id}"),
        "image/png",
        picture,
    )
    .await;
    stored.assert_status(201);
    stored.body["id"].as_str().unwrap().to_owned()
}

/// A running campaign of sector SA whose questionnaire asks for a status and for
/// site photos (required), with a1's and a2's cases assigned to surveyor sv1: the
/// two case ids.
async fn photo_campaign(app: &TestApp, zone: &Zone) -> (String, String) {
    let created = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&zone.regulator),
            json!({ "name": "厂区照片摸排", "starts_on": "2026-12-07", "ends_on": "2026-12-31",
                    "sector_ids": [zone.sa] }),
        )
        .await;
    created.assert_status(201);
    let campaign = created.body["id"].as_str().unwrap().to_owned();
    let saved = app
        .put(
            &format!("/api/v1/survey/campaigns/{campaign}/questionnaire"),
            Some(&zone.regulator),
            json!({ "fields": [
                { "key": "status", "label": "经营状态", "type": "single_choice",
                  "options": ["在营", "关闭"], "required": true },
                { "key": "site_photos", "label": "厂区照片", "type": "photo", "required": true },
            ]}),
        )
        .await;
    saved.assert_status(200);
    assert_eq!(saved.body["fields"][1]["type"], "photo");
    assert_eq!(saved.body["fields"][1]["required"], true);
    app.patch(
        &format!("/api/v1/survey/campaigns/{campaign}"),
        Some(&zone.regulator),
        json!({ "status": "running" }),
    )
    .await
    .assert_status(200);
    let mut ids = Vec::new();
    for enterprise in ["a1", "a2"] {
        let case = case_of(app, zone, &campaign, enterprise).await;
        ids.push(case["id"].as_str().unwrap().to_owned());
    }
    app.post(
        &format!("/api/v1/survey/campaigns/{campaign}/cases/assign"),
        Some(&zone.regulator),
        json!({ "case_ids": ids, "surveyor_id": zone.sv1.0 }),
    )
    .await
    .assert_status(200);
    (ids[0].clone(), ids[1].clone())
}

/// The case's answers as the API gives them.
async fn stored_answers(app: &TestApp, token: &str, case: &str) -> TestResponse {
    let found = app
        .get(&format!("/api/v1/survey/cases/{case}/answers"), Some(token))
        .await;
    found.assert_status(200);
    found
}

async fn a_photo_question_is_a_survey_kind_that_driver_forms_refuse(app: TestApp) {
    let zone = zone(&app).await;
    let photo_field = json!({ "key": "cargo_photo", "label": "货物照片", "type": "photo" });

    // Neither the zone's driver form nor an enterprise's may ask for photos.
    for path in [
        "/api/v1/form-template".to_owned(),
        format!(
            "/api/v1/enterprises/{}/form-template",
            zone.enterprise("a1")
        ),
    ] {
        let refused = app
            .put(
                &path,
                Some(&zone.admin),
                json!({ "fields": [
                    { "key": "health", "label": "健康申报", "type": "yes_no" },
                    photo_field,
                ]}),
            )
            .await;
        refused.assert_status(422);
        assert_eq!(
            field_codes(&refused),
            vec![("fields[1].type".to_owned(), "kind_not_allowed".to_owned())],
            "{path}"
        );
        let kept = app.get(&path, Some(&zone.admin)).await;
        kept.assert_status(200);
        assert!(
            !kept.text.contains("cargo_photo"),
            "{path} stored nothing: {}",
            kept.text
        );
    }

    // A questionnaire may, though not inside repeat rows; the default has one.
    let created = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&zone.regulator),
            json!({ "name": "专项摸排", "starts_on": "2026-12-07", "ends_on": "2026-12-31",
                    "sector_ids": [zone.sa] }),
        )
        .await;
    created.assert_status(201);
    let path = format!(
        "/api/v1/survey/campaigns/{}/questionnaire",
        created.body["id"].as_str().unwrap()
    );
    let default = app.get(&path, Some(&zone.regulator)).await;
    let storefront = default.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["key"] == "storefront_photos")
        .cloned()
        .unwrap();
    assert_eq!(storefront["type"], "photo");
    assert_eq!(storefront["required"], false);

    let in_rows = app
        .put(
            &path,
            Some(&zone.regulator),
            json!({ "fields": [
                { "key": "products", "label": "主要产品", "type": "repeat",
                  "fields": [{ "key": "name", "label": "名称", "type": "text" }, photo_field] },
            ]}),
        )
        .await;
    in_rows.assert_status(422);
    assert_eq!(
        field_codes(&in_rows),
        vec![(
            "fields[0].fields[1].type".to_owned(),
            "kind_not_allowed".to_owned()
        )]
    );
    let saved = app
        .put(
            &path,
            Some(&zone.regulator),
            json!({ "fields": [photo_field] }),
        )
        .await;
    saved.assert_status(200);
    assert_eq!(saved.body["version"], 2);
    assert_eq!(saved.body["fields"][0]["type"], "photo");
}
api_test!(a_photo_question_is_a_survey_kind_that_driver_forms_refuse);

async fn a_photo_answer_names_photos_of_the_same_case_or_nothing_is_stored(app: TestApp) {
    let zone = zone(&app).await;
    let (case, other_case) = photo_campaign(&app, &zone).await;
    let token = zone.sv1.1.as_str();
    let ours = uploaded(&app, token, &case, "site-photo-1").await;
    let theirs = uploaded(&app, token, &other_case, "site-photo-2").await;
    let version = case_version(&app, token, &case).await;
    let body = |photos: Value, client_id: &str| {
        json!({
            "answers": { "status": "在营", "site_photos": photos },
            "client_id": client_id, "case_version": version,
        })
    };

    let unknown_id = "0192f0c8-0000-7000-8000-000000000000";
    for (photos, code) in [
        (json!([]), "required"),
        (Value::Null, "required"),
        (json!(["photo-1"]), "invalid_photo"),
        (json!([ours, 12]), "invalid_photo"),
        (json!([ours, ours.to_uppercase()]), "duplicate_photo"),
        (json!([unknown_id]), "unknown_photo"),
        (json!([ours, theirs]), "unknown_photo"),
    ] {
        let refused = submit(&app, token, &case, body(photos.clone(), "answer-0001")).await;
        refused.assert_status(422);
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json"),
            "{photos}"
        );
        assert_eq!(
            field_codes(&refused),
            vec![("answers.site_photos".to_owned(), code.to_owned())],
            "{photos}"
        );
        let message = refused.body["errors"][0]["message"].as_str().unwrap();
        assert!(!message.is_ascii(), "a Chinese message: {message}");
        // Nothing stored: no answers, the case where it was.
        let found = stored_answers(&app, token, &case).await;
        assert!(found.body["current"].is_null(), "{photos}");
        assert_eq!(found.body["case"]["review"], "unsubmitted");
        assert_eq!(found.body["case"]["version"], version);
    }

    // The case's own photo (one id counts as a list of one) is taken and given back.
    let taken = submit(&app, token, &case, body(json!(ours), "answer-0002")).await;
    taken.assert_status(201);
    assert_eq!(
        taken.body["answers"]["answers"]["site_photos"],
        json!([ours])
    );
    let again = submit(&app, token, &case, body(json!(ours), "answer-0002")).await;
    again.assert_status(200);
    assert_eq!(again.body["answers"]["version"], 1);
    let found = stored_answers(&app, token, &case).await;
    assert_eq!(
        found.body["current"]["answers"]["site_photos"],
        json!([ours])
    );
    assert_eq!(found.body["case"]["review"], "received");

    // The other case's photo is its own answer there, and the picture is where the
    // id says.
    let version = case_version(&app, token, &other_case).await;
    let there = submit(
        &app,
        token,
        &other_case,
        json!({
            "answers": { "status": "在营", "site_photos": [theirs] },
            "client_id": "answer-0003", "case_version": version,
        }),
    )
    .await;
    there.assert_status(201);
    let picture = app
        .get(&format!("/api/v1/survey/photos/{ours}"), Some(token))
        .await;
    picture.assert_status(200);
    assert_eq!(picture.header("content-type"), Some("image/jpeg"));
}
api_test!(a_photo_answer_names_photos_of_the_same_case_or_nothing_is_stored);

async fn the_surveyor_ticks_photos_on_the_phone_and_the_reviewer_sees_them(app: TestApp) {
    let zone = zone(&app).await;
    let (_, case) = a1_assigned(&app, &zone).await;
    let token = zone.sv1.1.as_str();
    let first = uploaded(&app, token, &case, "front-photo-1").await;
    let second = uploaded(&app, token, &case, "front-photo-2").await;
    let version = case_version(&app, token, &case).await;
    let mut first_answers = answers();
    first_answers["storefront_photos"] = json!([first]);
    submit(
        &app,
        token,
        &case,
        json!({ "answers": first_answers, "client_id": "answer-0001", "case_version": version }),
    )
    .await
    .assert_status(201);

    // The phone page offers the case's photos, the answered one ticked, each shown
    // through the surveyor's own photo route.
    let mut sv1 = Browser::session(&app, "sv1", USER_PASSWORD).await;
    let page_path = format!("/console/survey/cases/{case}");
    let page = sv1.get(&page_path).await;
    page.assert_status(200);
    assert!(
        page.text.contains(&format!(
            "name=\"storefront_photos\" value=\"{first}\" checked"
        )),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(&format!("name=\"storefront_photos\" value=\"{second}\">"))
    );
    assert!(page.text.contains("data-photo-for=\"storefront_photos\""));
    let thumbnail = format!("/console/survey/photos/{second}");
    assert!(page.text.contains(&format!("src=\"{thumbnail}\"")));
    let shown = sv1.get(&thumbnail).await;
    shown.assert_status(200);
    assert_eq!(shown.header("content-type"), Some("image/jpeg"));
    // Another surveyor does not see it.
    let mut sv2 = Browser::session(&app, "sv2", USER_PASSWORD).await;
    sv2.get(&thumbnail).await.assert_status(404);

    // The form ticks both and posts without a script.
    let version = case_version(&app, token, &case).await.to_string();
    let mut form = vec![
        ("client_id", "answers-0002"),
        ("case_version", version.as_str()),
        ("storefront_photos", first.as_str()),
        ("storefront_photos", second.as_str()),
    ];
    form.extend(crate::console_survey_field::answer_fields());
    sv1.post_csrf(&format!("{page_path}/answers"), &form)
        .await
        .assert_status(303);
    let found = stored_answers(&app, token, &case).await;
    assert_eq!(found.body["current"]["version"], 2);
    assert_eq!(
        found.body["current"]["answers"]["storefront_photos"],
        json!([first, second])
    );
    let photo_change = found.body["diff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["field"] == "storefront_photos")
        .cloned()
        .unwrap();
    assert_eq!(photo_change["old"], json!([first]));
    assert_eq!(photo_change["new"], json!([first, second]));

    // The reviewer sees the answer and the change as pictures linking to them.
    let mut reg = Browser::session(&app, "reg", USER_PASSWORD).await;
    let review_page = reg.get(&format!("/console/survey/review/{case}")).await;
    review_page.assert_status(200);
    let link = |id: &str| format!("href=\"/console/survey/review/photos/{id}\"");
    let text = &review_page.text;
    let answers_at = text.find("问卷答案").unwrap();
    let diff_at = text.find("id=\"diff\"").unwrap();
    let label_at = text[answers_at..].find("门头照片").unwrap() + answers_at;
    let second_in_answers = text[label_at..].find(&link(&second)).unwrap() + label_at;
    assert!(second_in_answers < text[label_at..].find("</form>").unwrap() + label_at);
    assert!(text[diff_at..].contains(&link(&second)), "{text}");
    assert!(text.contains(&format!(
        "src=\"/console/survey/review/photos/{first}\" alt=\"问卷照片\""
    )));
    let picture = reg
        .get(&format!("/console/survey/review/photos/{second}"))
        .await;
    picture.assert_status(200);
    assert_eq!(picture.header("content-type"), Some("image/jpeg"));

    // And approves it as it stands.
    review(
        &app,
        &zone.regulator,
        &case,
        json!({ "decision": "approve" }),
    )
    .await
    .assert_status(200);
}
api_test!(the_surveyor_ticks_photos_on_the_phone_and_the_reviewer_sees_them);
