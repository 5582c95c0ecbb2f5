//! Which enterprise an enterprise page is about: a contact's own, or the one named by
//! `?enterprise=` (admins, officials and the regulator, within their scope; the
//! services' scoped queries turn a foreign id into the 404 page).

use actix_web::HttpRequest;

use crate::console::PageError;
use crate::console::session::{Posted, Signed};
use crate::domain::id::EnterpriseId;
use crate::error::ApiError;

/// The query parameter naming the enterprise.
pub const PARAMETER: &str = "enterprise";

/// The enterprise of a page: the one named in the query, else the caller's own; a
/// caller with neither gets the 404 page.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The enterprise.
    pub id: EnterpriseId,
    /// Whether it was named in the query (links then name it again).
    named: bool,
}

impl Chosen {
    /// Reads the request's query.
    pub fn of(req: &HttpRequest, signed: &Signed) -> Result<Self, PageError> {
        let query = Posted::parse(req.query_string().as_bytes());
        match query.value(PARAMETER).map(str::trim) {
            Some(id) if !id.is_empty() => Ok(Self {
                id: EnterpriseId::from(id.to_owned()),
                named: true,
            }),
            _ => signed
                .caller
                .scope
                .enterprise_id
                .clone()
                .map(|id| Self { id, named: false })
                .ok_or_else(|| ApiError::not_found().into()),
        }
    }

    /// An enterprise named by id (as the roster's pages link to the code page).
    pub fn named(id: EnterpriseId) -> Self {
        Self { id, named: true }
    }

    /// `path`, naming the enterprise again when the request did.
    pub fn link(&self, path: &str) -> String {
        if self.named {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(PARAMETER, self.id.as_str())
                .finish();
            format!("{path}?{query}")
        } else {
            path.to_owned()
        }
    }
}
