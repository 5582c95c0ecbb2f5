//! The one error type of the API: every failure becomes `application/problem+json`
//! with a stable `code` ([`ErrorCode`]) and a Chinese `detail`; causes of 5xx are
//! logged, never sent.

mod code;

use std::fmt;

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

pub use code::ErrorCode;

/// Seconds a client is told to wait when the database is unavailable.
const DATABASE_RETRY_AFTER_SECS: u64 = 2;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as sent (`password`, `sector_ids[1]`).
    pub field: String,
    /// Stable snake_case code.
    pub code: &'static str,
    /// Chinese message for people.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The same error filed under `field` (a domain parser's error, named as the body
    /// names the value).
    pub fn named(self, field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            ..self
        }
    }
}

/// Collects the field errors of a whole body, so the client learns every problem at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value, or records the error and gives `None`.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|error| self.0.push(error)).ok()
    }

    /// Records an error.
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// `Ok` when nothing was recorded, else a 422 with every error.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }

    /// The 422 for what was recorded, when a value is missing.
    pub fn into_error(self) -> ApiError {
        ApiError::validation(self.0)
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What was recorded.
    pub fn into_list(self) -> Vec<FieldError> {
        self.0
    }
}

/// An API failure.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: String,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
    connection_lost: bool,
    source: Option<anyhow::Error>,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    code: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl ApiError {
    /// An error with a stable code (which carries the status) and a Chinese detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_secs: None,
            connection_lost: false,
            source: None,
        }
    }

    /// The same error, telling the client to retry after `secs` (`Retry-After`).
    pub fn with_retry_after(self, secs: u64) -> Self {
        Self {
            retry_after_secs: Some(secs.max(1)),
            ..self
        }
    }

    /// 422: well-formed, but fields are invalid.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            errors,
            ..Self::new(ErrorCode::ValidationFailed, "提交的数据有误，请按提示修改")
        }
    }

    /// 422 for a single field.
    pub fn field(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, code, message)])
    }

    /// 403: authenticated but the role may not do this.
    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "您的账号无权进行此操作")
    }

    /// 404: missing, or outside the caller's scope.
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "未找到该对象")
    }

    /// 500: a bug or an unexpected failure; the cause is logged, not sent.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(ErrorCode::InternalError, "服务器内部错误，请稍后重试")
        }
    }

    /// 503 `database_unavailable` with `Retry-After`: the database cannot be reached
    /// (down, restarting, failing over) or did not answer in time.
    pub fn unavailable(source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            retry_after_secs: Some(DATABASE_RETRY_AFTER_SECS),
            ..Self::new(
                ErrorCode::DatabaseUnavailable,
                "数据库暂时不可用，请稍后重试",
            )
        }
    }

    /// Whether the database connection it came from was lost (the pool then drops it).
    pub fn connection_lost(&self) -> bool {
        self.connection_lost
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The invalid fields of a 422, for a page that shows each message next to its
    /// field.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Seconds to wait, for a 429 or a busy 503.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after_secs
    }

    /// What caused a server error, for logging one that cannot become a response (a
    /// streamed body that has begun).
    pub fn cause(&self) -> Option<&anyhow::Error> {
        self.source.as_ref()
    }

    /// The Chinese detail with every field message, for the command line.
    pub fn message(&self) -> String {
        let fields: Vec<String> = self
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        if fields.is_empty() {
            self.detail.clone()
        } else {
            format!("{}（{}）", self.detail, fields.join("；"))
        }
    }

    fn title(&self) -> &'static str {
        match self.code.status().as_u16() {
            400 => "请求无效",
            401 => "未登录或登录已失效",
            403 => "无权限",
            404 => "未找到",
            405 => "不支持的请求方法",
            409 => "状态冲突",
            410 => "已失效",
            413 => "请求体过大",
            415 => "不支持的媒体类型",
            422 => "数据校验失败",
            429 => "请求过于频繁",
            503 => "服务暂不可用",
            _ => "服务器错误",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code.status().as_u16(), self.code)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let status = self.code.status();
        if let Some(source) = self.source.as_ref().filter(|_| status.is_server_error()) {
            tracing::error!(code = self.code.as_str(), error = ?source, "request failed");
        }
        let problem = Problem {
            kind: format!("urn:truckpass:problem:{}", self.code),
            title: self.title(),
            status: status.as_u16(),
            code: self.code.as_str(),
            detail: &self.detail,
            errors: &self.errors,
        };
        let mut response = HttpResponse::build(status);
        response
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)))
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self::validation(vec![error])
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => Self::not_found(),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Self::new(ErrorCode::AlreadyExists, "数据已存在，请勿重复提交")
            }
            // The connection broke (the server went away, restarts, fails over): the
            // request may be retried once the database is back.
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => Self {
                connection_lost: true,
                ..Self::unavailable(error)
            },
            other => Self::internal(other),
        }
    }
}
