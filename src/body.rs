//! Request bodies: read with a size limit, and JSON turned into typed bodies with
//! problem+json errors that name the field but never echo the input.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, web};
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{
    Deserialize, DeserializeOwned, Deserializer, Error as _, MapAccess, Unexpected, Visitor,
};

use crate::error::{ApiError, ErrorCode, FieldError};

/// Turns serde's message into a field error without echoing the input.
pub fn json_error(error: &serde_json::Error) -> ApiError {
    let message = error.to_string();
    let quoted = message.split('`').nth(1).unwrap_or_default().to_owned();
    if message.starts_with("unknown field") {
        return ApiError::field(quoted, "unknown_field", "不允许的字段");
    }
    if message.starts_with("missing field") {
        return ApiError::field(quoted, "required", "此项必填");
    }
    if message.starts_with("unknown variant") {
        return FieldError::new("", "invalid_value", "取值不在允许范围内").into();
    }
    if error.is_data() {
        return FieldError::new("", "invalid_type", "字段类型不正确").into();
    }
    ApiError::new(ErrorCode::InvalidJson, "请求体不是有效的 JSON")
}

/// A body that must be a JSON object: serde's derive would also take an array for a
/// struct (its fields in order), which a body whose fields are all optional would
/// then accept as, say, `[null, null]`.
#[derive(Debug)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fields<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(Fields(PhantomData))
            .map(Object)
    }
}

/// For an optional body field where `null` means nothing
/// (`#[serde(default, deserialize_with = "body::non_null")]`): an absent field is
/// `None`, and `null` is refused (422 `invalid_type`) like any value of the wrong type,
/// rather than taken for "leave unchanged".
pub fn non_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    // Through `Option` rather than `T` itself: an enum given `null` fails as a syntax
    // error in serde_json, which would read as invalid JSON.
    match Option::<T>::deserialize(deserializer)? {
        Some(value) => Ok(Some(value)),
        None => Err(D::Error::invalid_type(Unexpected::Unit, &"a value")),
    }
}

/// For an optional body field where `null` has a meaning of its own
/// (`#[serde(default, deserialize_with = "body::nullable")]`): absent is `None`,
/// `null` is `Some(None)`.
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Reads the whole body, refusing more than `limit` bytes with a 413.
pub async fn read_limited(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
        let chunk = chunk.map_err(|_| ApiError::new(ErrorCode::InvalidBody, "上传中断，请重试"))?;
        if body.len() + chunk.len() > limit {
            let size = if limit >= 1024 * 1024 {
                format!("{} MB", limit / 1024 / 1024)
            } else {
                format!("{} KB", limit / 1024)
            };
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("请求体不能超过 {size}"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The request's `Content-Type`, trimmed and in lower case (empty when there is none
/// or it is not text), for comparing with the media types a route takes.
pub fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// A JSON body of at most `limit` bytes (the app-wide JSON limit is larger).
pub async fn json<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<T, ApiError> {
    if !media_type(req).starts_with("application/json") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "请求体须为 JSON（Content-Type: application/json）",
        ));
    }
    let bytes = read_limited(payload, limit).await?;
    serde_json::from_slice(&bytes).map_err(|error| json_error(&error))
}
