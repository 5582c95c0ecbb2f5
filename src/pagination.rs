//! Keyset pagination: `limit` (default 20, at most 100) and an opaque `cursor`.

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, FieldError};

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;

/// A validated page request: how many rows, after which key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows to return.
    pub limit: i64,
    /// The sort key of the last row already seen.
    pub after: Option<String>,
}

impl PageRequest {
    /// Validates raw `limit` and `cursor` query values.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation(vec![FieldError::new(
                "limit",
                "invalid_limit",
                format!("limit 须在 1 到 {MAX_LIMIT} 之间"),
            )]));
        }
        let after = cursor
            .map(|raw| {
                BASE64URL_NOPAD
                    .decode(raw.as_bytes())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    // Every issued cursor names a row; an empty one was never issued,
                    // nor one holding NUL (which PostgreSQL cannot compare).
                    .filter(|key| !key.is_empty() && !key.contains('\0'))
                    .ok_or_else(|| {
                        ApiError::validation(vec![FieldError::new(
                            "cursor",
                            "invalid_cursor",
                            "分页游标无效，请从第一页重新查询",
                        )])
                    })
            })
            .transpose()?;
        Ok(Self { limit, after })
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the fetched rows to a page and computes the next cursor from `key`.
    pub fn page<T: Serialize>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> Page<T> {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if has_more {
            rows.last()
                .map(|row| BASE64URL_NOPAD.encode(key(row).as_bytes()))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_and_bounds() {
        assert_eq!(
            PageRequest::parse(None, None).map(|p| p.limit).ok(),
            Some(DEFAULT_LIMIT)
        );
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(101), None).is_err());
        assert!(PageRequest::parse(None, Some("%%%")).is_err());
        assert!(PageRequest::parse(None, Some("")).is_err());
        assert!(PageRequest::parse(None, Some("AA")).is_err());
    }

    #[test]
    fn next_cursor_points_after_the_last_row_and_only_when_more_exist() {
        let request = PageRequest {
            limit: 2,
            after: None,
        };
        let page = request.page(vec![1, 2, 3], |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        let cursor = page.next_cursor.unwrap_or_default();
        assert_eq!(
            PageRequest::parse(None, Some(&cursor))
                .ok()
                .and_then(|p| p.after),
            Some("2".into())
        );
        assert!(
            request
                .page(vec![1, 2], |n| n.to_string())
                .next_cursor
                .is_none()
        );
    }
}
