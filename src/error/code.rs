//! Every stable error code of the API, with its HTTP status: the one list that
//! handlers draw from and that openapi.yaml's `Problem.code` names (a contract test
//! keeps the two equal).

use actix_web::http::StatusCode;

macro_rules! error_codes {
    ( $( $(#[$meta:meta])* $variant:ident = $code:literal, $status:ident; )+ ) => {
        /// A stable, machine-readable error code (`Problem.code`) and its status.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$meta])* $variant, )+
        }

        impl ErrorCode {
            /// Every code.
            pub const ALL: &'static [ErrorCode] = &[$( ErrorCode::$variant ),+];

            /// The snake_case code as sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( ErrorCode::$variant => $code, )+
                }
            }

            /// The HTTP status it is sent with.
            pub fn status(self) -> StatusCode {
                match self {
                    $( ErrorCode::$variant => StatusCode::$status, )+
                }
            }
        }
    };
}

error_codes! {
    /// The body is not JSON, or not the JSON expected.
    InvalidJson = "invalid_json", BAD_REQUEST;
    /// The upload broke off.
    InvalidBody = "invalid_body", BAD_REQUEST;
    /// A malformed `Idempotency-Key`.
    InvalidIdempotencyKey = "invalid_idempotency_key", BAD_REQUEST;
    /// A malformed `X-Driver-Key`.
    InvalidDriverKey = "invalid_driver_key", BAD_REQUEST;
    /// `X-Driver-Key` is missing.
    DriverKeyRequired = "driver_key_required", BAD_REQUEST;
    /// No credentials.
    Unauthenticated = "unauthenticated", UNAUTHORIZED;
    /// Wrong username or password.
    InvalidCredentials = "invalid_credentials", UNAUTHORIZED;
    /// An access token that is not ours or is malformed.
    InvalidToken = "invalid_token", UNAUTHORIZED;
    /// An access token past its expiry.
    TokenExpired = "token_expired", UNAUTHORIZED;
    /// A refresh token that is unknown, used or ended.
    InvalidRefreshToken = "invalid_refresh_token", UNAUTHORIZED;
    /// An activation code that is wrong, expired, used or replaced (or an unknown user).
    ActivationCodeInvalid = "activation_code_invalid", UNAUTHORIZED;
    /// The session was ended (sign-out, password change, disabling, reset).
    SessionEnded = "session_ended", UNAUTHORIZED;
    /// The role may not do this.
    Forbidden = "forbidden", FORBIDDEN;
    /// The password must be changed first.
    PasswordChangeRequired = "password_change_required", FORBIDDEN;
    /// Only the driver who registered may cancel the pass.
    CancelNotAllowed = "cancel_not_allowed", FORBIDDEN;
    /// Missing, or outside the caller's scope.
    NotFound = "not_found", NOT_FOUND;
    /// No such route.
    RouteNotFound = "route_not_found", NOT_FOUND;
    /// No enterprise code has the token.
    CodeNotFound = "code_not_found", NOT_FOUND;
    /// No pass has the token.
    PassNotFound = "pass_not_found", NOT_FOUND;
    /// No driver profile behind the key.
    ProfileNotFound = "profile_not_found", NOT_FOUND;
    /// The route has no such method.
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED;
    /// A unique value is taken.
    AlreadyExists = "already_exists", CONFLICT;
    /// The username is taken.
    UsernameTaken = "username_taken", CONFLICT;
    /// The last active admin cannot be demoted or disabled.
    LastAdmin = "last_admin", CONFLICT;
    /// A sector or park still has enterprises or users.
    OrgUnitInUse = "org_unit_in_use", CONFLICT;
    /// A sector's or park's code is taken.
    CodeTaken = "code_taken", CONFLICT;
    /// A sector's or park's name is taken.
    NameTaken = "name_taken", CONFLICT;
    /// Another enterprise has the credit code.
    CreditCodeTaken = "credit_code_taken", CONFLICT;
    /// The object's status does not allow the change (a registration's, a survey
    /// campaign's, a closed survey demand's).
    InvalidTransition = "invalid_transition", CONFLICT;
    /// The code or its enterprise takes no registrations now.
    NotAccepting = "not_accepting", CONFLICT;
    /// Another driver registered the plate there today.
    PlateAlreadyRegistered = "plate_already_registered", CONFLICT;
    /// The pass has ended.
    PassClosed = "pass_closed", CONFLICT;
    /// The survey campaign is not running (a draft or closed).
    CampaignNotRunning = "campaign_not_running", CONFLICT;
    /// The survey case changed since the version the client saw.
    CaseVersionConflict = "case_version_conflict", CONFLICT;
    /// A case holds as many photos as it may.
    TooManyPhotos = "too_many_photos", CONFLICT;
    /// The code was replaced by a newer one.
    CodeReplaced = "code_replaced", GONE;
    /// Retention has anonymised the personal data.
    PersonalDataPurged = "personal_data_purged", GONE;
    /// The body is over the route's limit.
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE;
    /// The body's media type is not accepted.
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE;
    /// Fields are invalid (each in `errors`).
    ValidationFailed = "validation_failed", UNPROCESSABLE_ENTITY;
    /// The retry key came with another body.
    IdempotencyKeyReused = "idempotency_key_reused", UNPROCESSABLE_ENTITY;
    /// The upload is not a JPEG, PNG or WebP picture that can be read.
    NotAnImage = "not_an_image", UNPROCESSABLE_ENTITY;
    /// The picture has more pixels than accepted.
    ImageTooLarge = "image_too_large", UNPROCESSABLE_ENTITY;
    /// The roster file has no rows.
    EmptyFile = "empty_file", UNPROCESSABLE_ENTITY;
    /// The roster CSV cannot be read.
    UnreadableCsv = "unreadable_csv", UNPROCESSABLE_ENTITY;
    /// The roster workbook cannot be read.
    UnreadableXlsx = "unreadable_xlsx", UNPROCESSABLE_ENTITY;
    /// Required roster columns are missing.
    MissingColumns = "missing_columns", UNPROCESSABLE_ENTITY;
    /// A roster column appears twice.
    DuplicateColumn = "duplicate_column", UNPROCESSABLE_ENTITY;
    /// The roster has too many rows.
    TooManyRows = "too_many_rows", UNPROCESSABLE_ENTITY;
    /// The roster workbook unpacks too large.
    WorkbookTooLarge = "workbook_too_large", UNPROCESSABLE_ENTITY;
    /// The roster has too many columns.
    TooManyColumns = "too_many_columns", UNPROCESSABLE_ENTITY;
    /// Too many public submissions.
    TooManyRequests = "too_many_requests", TOO_MANY_REQUESTS;
    /// Too many failed sign-ins.
    TooManyLoginAttempts = "too_many_login_attempts", TOO_MANY_REQUESTS;
    /// Too many heavy jobs (poster bundles, imports) at once.
    TooBusy = "too_busy", TOO_MANY_REQUESTS;
    /// A bug or an unexpected failure.
    InternalError = "internal_error", INTERNAL_SERVER_ERROR;
    /// The database cannot be reached.
    DatabaseUnavailable = "database_unavailable", SERVICE_UNAVAILABLE;
    /// Too many password hashes at once.
    HashingBusy = "hashing_busy", SERVICE_UNAVAILABLE;
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_errors() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(text.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }
}
