//! A driver's submission, whichever front door it came through (the JSON API or the
//! page's form): validated, sealed, and stored with its audit entry and the driver's
//! profile in one write, or refused for a reason the caller can show. The front doors
//! are thin adapters over [`Registrar::submit`].

use std::sync::Arc;

use crate::audit::{self, Actor, Event};
use crate::client::ip_bucket;
use crate::codes::tally::ScanTally;
use crate::config::Settings;
use crate::db::together::{Last, Then, insert_together};
use crate::db::{Db, DbConnection, new_id, now};
use crate::domain::id::RegistrationId;
use crate::domain::person::{DocumentNumber, Mobile};
use crate::domain::text::random_token;
use crate::domain::zone;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::personal::Vault;
use crate::ratelimit::{Exceeded, Limit, RateLimiter};
use crate::registrations::input::{Driver, RegistrationBody, RetryKey};
use crate::registrations::open::{CodeForm, CodeForms, PAUSED, REPLACED};
use crate::registrations::profiles::{self, DriverKey, Keeping, Profile};
use crate::registrations::{
    CONSENT_VERSION, Pass, PassView, Registration, RegistrationStatus, document_index,
};
use crate::state::AppState;
use crate::survey::cases::Case;

/// What registering needs: the database, the vault, the code forms, the scan tally,
/// the rate limits and the settings.
pub struct Registrar<'a> {
    db: &'a Db,
    vault: &'a Vault,
    forms: &'a CodeForms,
    scans: &'a ScanTally,
    limits: &'a RateLimiter,
    settings: &'a Settings,
}

/// A registration as submitted.
pub struct Submission {
    /// The form.
    pub body: RegistrationBody,
    /// The client's retry key.
    pub retry_key: Option<RetryKey>,
    /// The driver key the client presented, if any.
    pub driver_key: Option<DriverKey>,
    /// Who submitted, for the audit log.
    pub actor: Actor,
}

/// The pass a submission led to and the driver's new key.
pub struct Submitted {
    /// The pass.
    pub pass: PassView,
    /// The key that reaches the driver's profile from now on (the presented one no
    /// longer does).
    pub driver_key: DriverKey,
}

/// What a submission came to.
pub enum Outcome {
    /// A new registration.
    Created(Submitted),
    /// The same driver's registration, answered again: a retry, or the plate
    /// registered there that day already.
    Existing(Submitted),
    /// Nothing stored.
    Refused(Refusal),
}

/// Why a submission was not stored.
#[derive(Debug)]
pub enum Refusal {
    /// No code has the token.
    CodeNotFound,
    /// The code was replaced by a newer one.
    CodeReplaced,
    /// The code or its enterprise takes no registrations now.
    NotAccepting,
    /// Fields are missing or wrong, each with its error.
    Invalid(Vec<FieldError>),
    /// Another driver's live registration of the plate there that day.
    PlateTaken,
    /// The retry key came with another body.
    RetryKeyReused,
    /// Too many submissions from the client or to the enterprise.
    TooMany(Exceeded),
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::CodeNotFound => ApiError::new(
                ErrorCode::CodeNotFound,
                "未找到该企业码，请确认扫描的是企业门口张贴的二维码",
            ),
            Refusal::CodeReplaced => ApiError::new(ErrorCode::CodeReplaced, REPLACED),
            Refusal::NotAccepting => ApiError::new(ErrorCode::NotAccepting, PAUSED),
            Refusal::Invalid(errors) => ApiError::validation(errors),
            Refusal::PlateTaken => ApiError::new(
                ErrorCode::PlateAlreadyRegistered,
                "该车牌今天已在本企业登记。如是您本人登记，请用登记时的手机查看通行凭证；如有疑问请联系企业门岗。",
            ),
            Refusal::RetryKeyReused => ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "此重试标识已用于另一份登记，请刷新页面后重新提交",
            ),
            Refusal::TooMany(exceeded) => exceeded.into(),
        }
    }
}

/// What a scanned token leads to.
pub enum Scan {
    /// No code has it.
    Unknown,
    /// A code replaced by a newer one.
    Replaced(Arc<CodeForm>),
    /// A current code (it may be paused: see [`CodeForm::accepting`]).
    Current(Arc<CodeForm>),
}

/// Why [`Registrar::submit`] stopped early: a refusal, or a failure.
enum Stop {
    Refused(Refusal),
    Failed(ApiError),
}

impl From<Refusal> for Stop {
    fn from(refusal: Refusal) -> Self {
        Stop::Refused(refusal)
    }
}

impl From<Exceeded> for Stop {
    fn from(exceeded: Exceeded) -> Self {
        Stop::Refused(Refusal::TooMany(exceeded))
    }
}

impl From<ApiError> for Stop {
    fn from(error: ApiError) -> Self {
        Stop::Failed(error)
    }
}

/// What the write of a submission came to.
enum Stored {
    Created(Box<Registration>),
    Existing(Box<Registration>),
    Refused(Refusal),
}

impl<'a> Registrar<'a> {
    /// The registrar of the application.
    pub fn of(state: &'a AppState) -> Self {
        Self {
            db: &state.db,
            vault: &state.vault,
            forms: &state.code_forms,
            scans: &state.scans,
            limits: &state.limits,
            settings: &state.settings,
        }
    }

    /// Counts a public submission (registration, cancellation, erasure) against its
    /// client's limit (an IPv4 address, or an IPv6 /64).
    pub fn limit_ip(&self, ip: &str) -> Result<(), Exceeded> {
        self.limits.hit(&Limit {
            bucket: format!("ip:{}", ip_bucket(ip)),
            per_minute: self.settings.public_rate_per_ip,
        })
    }

    /// What a scanned token leads to; with `count`, the scan of an existing code is
    /// counted (page opens and submissions, not re-renders of the form).
    pub async fn scan(&self, token: &str, count: bool) -> Result<Scan, ApiError> {
        let Some(form) = self.forms.find(self.db, token).await? else {
            return Ok(Scan::Unknown);
        };
        if count {
            self.scans.add(&form.code.id);
        }
        Ok(if form.replaced() {
            Scan::Replaced(form)
        } else {
            Scan::Current(form)
        })
    }

    /// Registers at the enterprise behind a code: validates everything, seals personal
    /// data, and stores the registration with its audit entry and the driver's profile
    /// (under a new key) in one write. A retry (same retry key, same body) or the same
    /// driver registering the plate there again that day gets the existing pass; the
    /// same plate from anyone else, or the retry key with another body, is refused.
    /// `Err` is a failure (the database), never the driver's doing.
    pub async fn submit(&self, token: &str, submission: Submission) -> Result<Outcome, ApiError> {
        match self.run(token, submission).await {
            Ok(outcome) => Ok(outcome),
            Err(Stop::Refused(refusal)) => Ok(Outcome::Refused(refusal)),
            Err(Stop::Failed(error)) => Err(error),
        }
    }

    async fn run(&self, token: &str, submission: Submission) -> Result<Outcome, Stop> {
        let Submission {
            mut body,
            retry_key,
            driver_key: presented,
            actor,
        } = submission;
        self.limit_ip(actor.ip.as_deref().unwrap_or_default())?;
        let request_hash = self.fingerprint(&body)?;
        let form = match self.scan(token, true).await? {
            Scan::Unknown => return Err(Refusal::CodeNotFound.into()),
            Scan::Replaced(_) => return Err(Refusal::CodeReplaced.into()),
            Scan::Current(form) => form,
        };
        self.unmask(
            &form,
            &mut body,
            presented.as_ref(),
            retry_key.as_ref(),
            &request_hash,
        )
        .await?;
        if !form.accepting() {
            return Err(Refusal::NotAccepting.into());
        }
        let driver = body
            .validate(&form.zone, &form.own)
            .map_err(Refusal::Invalid)?;
        // Only valid submissions count against the enterprise, so that junk sent from a
        // few addresses cannot keep its drivers out.
        self.limits.hit(&Limit {
            bucket: format!("code:{}", form.enterprise.id),
            per_minute: self.settings.public_rate_per_code,
        })?;
        let sealed = profile_of(&driver).seal(self.vault)?;
        let registration = Arc::new(self.registration(&form, driver, retry_key, request_hash)?);
        let new_key = DriverKey::new();
        let issued = new_key.clone();
        let auto_approve = form.auto_approve;
        // Every `Err` here is a database error (refusals are `Ok`): the write may run again.
        let stored = self
            .db
            .write_replayable(move |conn| {
                let keeping = Keeping {
                    presented: presented.as_ref(),
                    new_key: &issued,
                    sealed: &sealed,
                };
                store(conn, &registration, &actor, auto_approve, &keeping)
            })
            .await?;
        let submitted = |registration: Registration| Submitted {
            pass: Pass::from(registration).view(
                form.enterprise.name.clone(),
                &self.settings.public_base_url(),
            ),
            driver_key: new_key,
        };
        Ok(match stored {
            Stored::Created(registration) => Outcome::Created(submitted(*registration)),
            Stored::Existing(registration) => Outcome::Existing(submitted(*registration)),
            Stored::Refused(refusal) => Outcome::Refused(refusal),
        })
    }

    /// A keyed fingerprint of a submission as sent (before masked values are filled
    /// in): it tells a retry from another body under the same retry key, and reveals
    /// nothing.
    fn fingerprint(&self, body: &RegistrationBody) -> Result<String, ApiError> {
        let canonical = serde_json::to_string(body).map_err(ApiError::internal)?;
        Ok(self.vault.blind_index("registrations.request", &canonical))
    }

    /// Fills in a masked document number and phone as the pre-filled form sends them
    /// back unchanged, from the profile behind the presented key or, for a retry of a
    /// registration (same retry key, same body) whose answer carried the key this
    /// request lacks, from that registration. A masked value that matches neither is
    /// emptied, so the driver is asked to type it.
    async fn unmask(
        &self,
        form: &CodeForm,
        body: &mut RegistrationBody,
        presented: Option<&DriverKey>,
        retry_key: Option<&RetryKey>,
        request_hash: &str,
    ) -> Result<(), ApiError> {
        let is_masked = |value: &str| value.contains('*');
        if !is_masked(&body.document_number) && !is_masked(&body.phone) {
            return Ok(());
        }
        let mut source = match presented {
            Some(key) => profiles::find(self.db, self.vault, key)
                .await?
                .map(|profile| {
                    (
                        profile.document_type,
                        profile.document_number,
                        profile.phone,
                    )
                }),
            None => None,
        };
        if source.is_none()
            && let Some(retry_key) = retry_key
        {
            let enterprise = form.enterprise.id.clone();
            let key = retry_key.as_str().to_owned();
            let earlier = self
                .db
                .read(move |conn| Registration::by_idempotency_key(conn, &enterprise, &key))
                .await?
                .filter(|earlier| earlier.request_hash.as_deref() == Some(request_hash));
            if let Some(earlier) = earlier {
                let open = |context: &str, sealed: &str| {
                    self.vault.open(context, sealed).map_err(ApiError::internal)
                };
                source = Some((
                    earlier.document_type,
                    open("registrations.document", &earlier.document_sealed)?,
                    open("registrations.phone", &earlier.phone_sealed)?,
                ));
            }
        }
        let (masked_document, document, phone) = match source {
            Some((kind, document, phone)) => (
                (body.document_type() == Some(kind))
                    .then(|| DocumentNumber::mask_stored(kind, &document)),
                document,
                phone,
            ),
            None => (None, String::new(), String::new()),
        };
        if is_masked(&body.document_number) {
            body.document_number =
                if masked_document.as_deref() == Some(body.document_number.trim()) {
                    document
                } else {
                    String::new()
                };
        }
        if is_masked(&body.phone) {
            body.phone = if !phone.is_empty() && Mobile::mask_stored(&phone) == body.phone.trim() {
                phone
            } else {
                String::new()
            };
        }
        Ok(())
    }

    /// The row of a valid submission, its personal data sealed.
    fn registration(
        &self,
        form: &CodeForm,
        driver: Driver,
        retry_key: Option<RetryKey>,
        request_hash: String,
    ) -> Result<Registration, ApiError> {
        let vault = self.vault;
        let (valid_before, valid_after) = self.settings.pass_validity();
        let kind = driver.document.kind();
        let document = driver.document.as_str();
        let seal =
            |context: &str, plain: &str| vault.seal(context, plain).map_err(ApiError::internal);
        Ok(Registration {
            id: RegistrationId::generate(),
            enterprise_id: form.enterprise.id.clone(),
            pass_token: random_token(),
            idempotency_key: retry_key.map(RetryKey::into_string),
            status: if form.auto_approve {
                RegistrationStatus::Approved
            } else {
                RegistrationStatus::Pending
            },
            driver_name: driver.name.as_str().to_owned(),
            document_type: kind,
            document_sealed: seal("registrations.document", document)?,
            document_index: document_index(vault, &driver.document),
            document_masked: driver.document.masked(),
            phone_sealed: seal("registrations.phone", driver.phone.as_str())?,
            phone_index: vault.blind_index("registrations.phone", driver.phone.as_str()),
            phone_masked: driver.phone.masked(),
            plate: driver.plate.as_str().to_owned(),
            trailer_plate: driver.trailer.as_ref().map(|t| t.as_str().to_owned()),
            vehicle_type: driver.vehicle_type,
            origin_region: driver.origin.as_str().to_owned(),
            cargo: driver.cargo,
            purpose: driver.purpose,
            expected_arrival: driver.arrival,
            arrival_day: zone::day_of(driver.arrival),
            people_in_cab: driver.people,
            answers: driver.answers.to_string(),
            zone_form_version: form.zone.version,
            enterprise_form_version: form.own.version,
            consent_version: CONSENT_VERSION.to_owned(),
            valid_from: driver.arrival - valid_before,
            valid_until: driver.arrival + valid_after,
            reject_reason: None,
            decided_at: form.auto_approve.then(now),
            decided_by: None,
            created_at: now(),
            driver_id: None,
            request_hash: Some(request_hash),
            suspended_at: None,
            suspended_by: None,
            suspend_reason: None,
        })
    }
}

/// What the driver's next form is pre-filled with.
fn profile_of(driver: &Driver) -> Profile {
    Profile {
        driver_name: driver.name.as_str().to_owned(),
        document_type: driver.document.kind(),
        document_number: driver.document.as_str().to_owned(),
        phone: driver.phone.as_str().to_owned(),
        plate: driver.plate.as_str().to_owned(),
        trailer_plate: driver.trailer.as_ref().map(|t| t.as_str().to_owned()),
        vehicle_type: driver.vehicle_type,
        origin_region: driver.origin.as_str().to_owned(),
    }
}

/// Stores a new registration with its audit entries and keeps the driver's profile,
/// unless an earlier attempt (the same retry key) or a live registration of the plate
/// there that day answers instead. Refusals are `Ok` (the refused plate is audited).
fn store(
    conn: &mut DbConnection,
    new: &Registration,
    actor: &Actor,
    auto_approve: bool,
    keeping: &Keeping<'_>,
) -> Result<Stored, ApiError> {
    if let Some(key) = &new.idempotency_key
        && let Some(earlier) = Registration::by_idempotency_key(conn, &new.enterprise_id, key)?
    {
        if earlier.request_hash != new.request_hash {
            return Ok(Stored::Refused(Refusal::RetryKeyReused));
        }
        // The retry of a registration whose answer was lost: the driver it made keeps
        // its profile under the new key, even though the presented key has moved on.
        keeping.save(conn, earlier.driver_id.as_deref())?;
        return Ok(Stored::Existing(Box::new(earlier)));
    }
    let live =
        Registration::active_for_plate(conn, &new.enterprise_id, &new.plate, &new.arrival_day)?;
    if let Some(existing) = live {
        let same_person = existing.document_index == new.document_index
            && existing.phone_index == new.phone_index;
        let same_driver = match keeping.presented {
            Some(key) if existing.driver_id.is_some() => {
                profiles::driver_of(conn, key)? == existing.driver_id
            }
            _ => false,
        };
        if !(same_person || same_driver) {
            let event = Event::failure("registration.create").with_details(serde_json::json!({
                "reason": ErrorCode::PlateAlreadyRegistered.as_str(),
                "enterprise_id": new.enterprise_id,
                "registration_id": existing.id,
            }));
            audit::append(conn, actor, event)?;
            return Ok(Stored::Refused(Refusal::PlateTaken));
        }
        keeping.save(conn, None)?;
        return Ok(Stored::Existing(Box::new(existing)));
    }
    // The registration, its audit entry and (for a new driver) the driver's row are
    // written together: one statement on PostgreSQL.
    let existing = keeping.existing(conn, None)?;
    let driver = existing.clone().unwrap_or_else(new_id);
    let row = Registration {
        driver_id: Some(driver.clone()),
        ..new.clone()
    };
    let created = audit::entry(
        actor,
        Event::success("registration.create", "registration", &row.id),
    );
    let registered = Then(row.insertion(), Last(audit::insertion(&created)));
    match existing {
        Some(_) => insert_together(conn, registered)?,
        None => {
            let new_driver = keeping.new_driver(&driver);
            insert_together(conn, Then(new_driver.insertion(), registered))?;
        }
    }
    if auto_approve {
        Case::note_traffic(conn, &row.id)?;
        audit::append(
            conn,
            &Actor::system(),
            Event::success("registration.auto_approve", "registration", &row.id),
        )?;
    }
    Ok(Stored::Created(Box::new(row)))
}
