//! Diesel table definitions, written with the SQL types both backends share.

#![expect(missing_docs, reason = "diesel::table! generates undocumented items")]

diesel::table! {
    org_units (id) {
        id -> Text,
        kind -> Text,
        code -> Text,
        name -> Text,
        authority -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        must_change_password -> Bool,
        token_version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        enterprise_id -> Nullable<Text>,
        phone_sealed -> Text,
        phone_index -> Text,
        phone_masked -> Text,
    }
}

diesel::table! {
    user_scopes (user_id, org_unit_id) {
        user_id -> Text,
        org_unit_id -> Text,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        user_id -> Text,
        token_hash -> Text,
        token_version -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        throttle_key -> Text,
        failed_at -> Timestamp,
        pending -> Bool,
    }
}

diesel::table! {
    login_devices (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    console_sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        token_version -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        seq -> Nullable<BigInt>,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_name -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        action -> Text,
        object_type -> Nullable<Text>,
        object_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        outcome -> Text,
        details -> Text,
        prev_hash -> Nullable<Text>,
        hash -> Nullable<Text>,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    enterprises (id) {
        id -> Text,
        name -> Text,
        credit_code -> Text,
        sector_id -> Text,
        park_id -> Text,
        address -> Text,
        key_enterprise -> Bool,
        status -> Text,
        longitude -> Nullable<Double>,
        latitude -> Nullable<Double>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        contact_person -> Text,
        contact_phone_sealed -> Text,
        contact_phone_index -> Text,
        contact_phone_masked -> Text,
    }
}

diesel::table! {
    enterprise_codes (id) {
        id -> Text,
        enterprise_id -> Text,
        token -> Text,
        suspended -> Bool,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    code_scans (code_id, day) {
        code_id -> Text,
        day -> Text,
        scans -> BigInt,
    }
}

diesel::table! {
    form_templates (id) {
        id -> Text,
        scope -> Text,
        version -> Integer,
        fields -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    registrations (id) {
        id -> Text,
        enterprise_id -> Text,
        pass_token -> Text,
        idempotency_key -> Nullable<Text>,
        status -> Text,
        driver_name -> Text,
        document_type -> Text,
        document_sealed -> Text,
        document_index -> Text,
        document_masked -> Text,
        phone_sealed -> Text,
        phone_index -> Text,
        phone_masked -> Text,
        plate -> Text,
        trailer_plate -> Nullable<Text>,
        vehicle_type -> Text,
        origin_region -> Text,
        cargo -> Text,
        purpose -> Text,
        expected_arrival -> Timestamp,
        arrival_day -> Text,
        people_in_cab -> Integer,
        answers -> Text,
        zone_form_version -> Integer,
        enterprise_form_version -> Integer,
        consent_version -> Text,
        valid_from -> Timestamp,
        valid_until -> Timestamp,
        reject_reason -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decided_by -> Nullable<Text>,
        created_at -> Timestamp,
        driver_id -> Nullable<Text>,
        request_hash -> Nullable<Text>,
        suspended_at -> Nullable<Timestamp>,
        suspended_by -> Nullable<Text>,
        suspend_reason -> Nullable<Text>,
    }
}

diesel::table! {
    driver_profiles (id) {
        id -> Text,
        key_hash -> Text,
        profile -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    enterprise_settings (enterprise_id) {
        enterprise_id -> Text,
        auto_approve -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    rate_counters (bucket, window_start) {
        bucket -> Text,
        window_start -> BigInt,
        hits -> Integer,
    }
}

diesel::joinable!(registrations -> enterprises (enterprise_id));
diesel::joinable!(enterprise_codes -> enterprises (enterprise_id));
diesel::joinable!(enterprise_settings -> enterprises (enterprise_id));
diesel::joinable!(code_scans -> enterprise_codes (code_id));
diesel::joinable!(users -> enterprises (enterprise_id));
diesel::joinable!(user_scopes -> users (user_id));
diesel::joinable!(user_scopes -> org_units (org_unit_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::table! {
    activation_codes (user_id) {
        user_id -> Text,
        code_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(login_devices -> users (user_id));
diesel::joinable!(console_sessions -> users (user_id));
diesel::joinable!(activation_codes -> users (user_id));

diesel::table! {
    survey_campaigns (id) {
        id -> Text,
        name -> Text,
        starts_on -> Text,
        ends_on -> Text,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    survey_campaign_scope (campaign_id, org_unit_id) {
        campaign_id -> Text,
        org_unit_id -> Text,
    }
}

diesel::table! {
    survey_cases (id) {
        id -> Text,
        campaign_id -> Text,
        enterprise_id -> Text,
        assignee_id -> Nullable<Text>,
        state -> Text,
        next_method -> Text,
        attempts -> Integer,
        last_method -> Nullable<Text>,
        last_outcome -> Nullable<Text>,
        last_visit_at -> Nullable<Timestamp>,
        urgency -> Integer,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        review -> Text,
        sector_id -> Text,
        park_id -> Text,
        active -> Bool,
    }
}

diesel::table! {
    survey_visits (id) {
        id -> Text,
        case_id -> Text,
        surveyor_id -> Text,
        method -> Text,
        outcome -> Text,
        notes -> Text,
        visited_at -> Timestamp,
        client_id -> Text,
        created_at -> Timestamp,
        longitude -> Nullable<Double>,
        latitude -> Nullable<Double>,
    }
}

diesel::table! {
    survey_questionnaires (id) {
        id -> Text,
        campaign_id -> Text,
        version -> Integer,
        fields -> Text,
        rules -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    survey_answers (id) {
        id -> Text,
        case_id -> Text,
        version -> Integer,
        questionnaire_version -> Integer,
        answers -> Text,
        explanations -> Text,
        warnings -> Text,
        client_id -> Text,
        digest -> Text,
        submitted_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    survey_reviews (id) {
        id -> Text,
        case_id -> Text,
        answer_version -> Integer,
        decision -> Text,
        comments -> Text,
        note -> Text,
        reviewer_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(survey_campaign_scope -> survey_campaigns (campaign_id));
diesel::joinable!(survey_campaign_scope -> org_units (org_unit_id));
diesel::table! {
    survey_photos (id) {
        id -> Text,
        case_id -> Text,
        visit_id -> Nullable<Text>,
        uploaded_by -> Text,
        client_id -> Text,
        upload_sha256 -> Text,
        width -> Integer,
        height -> Integer,
        byte_size -> Integer,
        content -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    survey_scoring_rules (id) {
        id -> Text,
        campaign_id -> Text,
        version -> Integer,
        rules -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    survey_scores (campaign_id, version, case_id) {
        campaign_id -> Text,
        version -> Integer,
        case_id -> Text,
        enterprise_id -> Text,
        sector_id -> Text,
        park_id -> Text,
        answer_version -> Integer,
        score -> Integer,
        grade -> Text,
        rank -> Integer,
        sector_rank -> Integer,
        park_rank -> Integer,
        explanation -> Text,
        scored_at -> Timestamp,
    }
}

diesel::joinable!(survey_cases -> survey_campaigns (campaign_id));
diesel::joinable!(survey_cases -> enterprises (enterprise_id));
diesel::joinable!(survey_cases -> users (assignee_id));
diesel::joinable!(survey_visits -> survey_cases (case_id));
diesel::joinable!(survey_visits -> users (surveyor_id));
diesel::joinable!(survey_photos -> survey_cases (case_id));
diesel::joinable!(survey_questionnaires -> survey_campaigns (campaign_id));
diesel::joinable!(survey_answers -> survey_cases (case_id));
diesel::joinable!(survey_reviews -> survey_cases (case_id));
diesel::joinable!(survey_scoring_rules -> survey_campaigns (campaign_id));
diesel::joinable!(survey_scores -> enterprises (enterprise_id));

diesel::table! {
    survey_demands (id) {
        id -> Text,
        campaign_id -> Text,
        case_id -> Text,
        enterprise_id -> Text,
        sector_id -> Text,
        park_id -> Text,
        row_digest -> Text,
        answer_version -> Integer,
        category -> Text,
        description -> Text,
        state -> Text,
        unit_id -> Nullable<Text>,
        due_on -> Nullable<Text>,
        assigned_by -> Nullable<Text>,
        assigned_at -> Nullable<Timestamp>,
        resolution -> Nullable<Text>,
        closed_by -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    survey_demand_notes (id) {
        id -> Text,
        demand_id -> Text,
        author_id -> Text,
        text -> Text,
        client_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(survey_demand_notes -> survey_demands (demand_id));

diesel::table! {
    survey_discoveries (id) {
        id -> Text,
        campaign_id -> Text,
        reported_by -> Text,
        client_id -> Text,
        name -> Text,
        credit_code -> Nullable<Text>,
        address -> Text,
        sector_id -> Text,
        park_id -> Text,
        contact_person -> Text,
        contact_phone_sealed -> Text,
        contact_phone_index -> Text,
        contact_phone_masked -> Text,
        notes -> Text,
        state -> Text,
        candidates -> Text,
        enterprise_id -> Nullable<Text>,
        case_id -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    gates (id) {
        id -> Text,
        enterprise_id -> Text,
        name -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    gate_scans (id) {
        id -> Text,
        enterprise_id -> Text,
        gate_id -> Text,
        nonce -> Text,
        kind -> Text,
        raw_code -> Text,
        registration_id -> Nullable<Text>,
        result -> Text,
        reason -> Nullable<Text>,
        dwell_seconds -> Nullable<Integer>,
        automatic -> Bool,
        scanned_by -> Nullable<Text>,
        client_time -> Nullable<Timestamp>,
        created_at -> Timestamp,
        annulled_at -> Nullable<Timestamp>,
        annulled_by -> Nullable<Text>,
        offline -> Bool,
        conflict -> Nullable<Text>,
    }
}

diesel::table! {
    gate_presence (registration_id) {
        registration_id -> Text,
        enterprise_id -> Text,
        gate_id -> Text,
        entry_scan_id -> Text,
        entered_at -> Timestamp,
    }
}

diesel::table! {
    gate_settings (enterprise_id) {
        enterprise_id -> Text,
        checkout_hour -> Nullable<Integer>,
        overstay_hours -> Nullable<Integer>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    blacklist (id) {
        id -> Text,
        enterprise_id -> Nullable<Text>,
        kind -> Text,
        plate -> Nullable<Text>,
        document_type -> Nullable<Text>,
        document_index -> Nullable<Text>,
        document_masked -> Nullable<Text>,
        reason -> Text,
        expires_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
        lifted_at -> Nullable<Timestamp>,
        lifted_by -> Nullable<Text>,
    }
}

diesel::joinable!(gate_scans -> gates (gate_id));
diesel::joinable!(gate_presence -> registrations (registration_id));
diesel::joinable!(gate_presence -> gates (gate_id));

diesel::table! {
    guard_gates (user_id, gate_id) {
        user_id -> Text,
        gate_id -> Text,
    }
}

diesel::joinable!(guard_gates -> users (user_id));
diesel::joinable!(guard_gates -> gates (gate_id));

diesel::allow_tables_to_appear_in_same_query!(
    org_units,
    users,
    user_scopes,
    refresh_tokens,
    login_failures,
    login_devices,
    console_sessions,
    activation_codes,
    audit_log,
    audit_head,
    enterprises,
    enterprise_codes,
    code_scans,
    form_templates,
    registrations,
    driver_profiles,
    enterprise_settings,
    rate_counters,
    survey_campaigns,
    survey_campaign_scope,
    survey_cases,
    survey_visits,
    survey_photos,
    survey_questionnaires,
    survey_answers,
    survey_reviews,
    survey_demands,
    survey_demand_notes,
    survey_discoveries,
    survey_scoring_rules,
    survey_scores,
    gates,
    gate_scans,
    gate_presence,
    gate_settings,
    guard_gates,
    blacklist,
);

// The coverage ledger groups cases by their enterprise's place and their state.
diesel::allow_columns_to_appear_in_same_group_by_clause!(
    enterprises::sector_id,
    enterprises::park_id,
    survey_cases::state,
    survey_cases::review,
);
