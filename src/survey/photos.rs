//! Photos taken on a case (a shop front, a closed gate, a new sign): each upload is
//! decoded within limits, turned upright by its EXIF orientation, shrunk to at most
//! [`MAX_SIDE`] pixels and re-encoded as JPEG, which keeps none of the original's
//! metadata (EXIF, GPS included). Anything that is not a readable JPEG, PNG or WebP
//! picture is refused. Photos are stored in the database and shown to whoever sees
//! the case; a device's retry with the same client id is the same photo.

use std::io::Cursor;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor, Event};
use crate::db::schema::{survey_photos, survey_visits};
use crate::db::{DbConnection, now};
use crate::domain::id::{CaseId, PhotoId, UserId, VisitId};
use crate::domain::survey::ClientId;
use crate::error::{ApiError, ErrorCode};
use crate::survey::cases::PlacedCase;
use crate::survey::{Written, display_names};

/// Largest upload, in bytes (a phone camera's JPEG is 2–6 MB).
pub const UPLOAD_LIMIT: usize = 12 * 1024 * 1024;
/// Longest side, in pixels, of an accepted picture.
const MAX_SIDE_IN: u32 = 10_000;
/// Most pixels of an accepted picture (a 48-megapixel phone camera's).
const MAX_PIXELS_IN: u64 = 50_000_000;
/// Longest side of a stored photo: enough to read a sign or a licence on a wall.
pub const MAX_SIDE: u32 = 1600;
/// JPEG quality of a stored photo.
const QUALITY: u8 = 80;
/// Most photos one case holds.
pub const MAX_PER_CASE: i64 = 20;

/// A picture ready to store.
#[derive(Debug)]
pub struct Processed {
    /// The JPEG.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// SHA-256 of the upload as sent, to tell a retry from another picture.
    pub upload_sha256: String,
}

fn not_an_image() -> ApiError {
    ApiError::new(
        ErrorCode::NotAnImage,
        "上传的文件不是可识别的图片，请上传 JPEG、PNG 或 WebP 格式的照片",
    )
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::ImageTooLarge,
        format!("图片过大：最长边不超过 {MAX_SIDE_IN} 像素，总像素不超过 5000 万"),
    )
}

fn refused(error: ImageError) -> ApiError {
    match error {
        ImageError::Limits(_) => too_large(),
        _ => not_an_image(),
    }
}

/// Decodes, turns, shrinks and re-encodes an upload (CPU-heavy: run it off the
/// async workers).
pub fn process(upload: &[u8]) -> Result<Processed, ApiError> {
    let mut reader = ImageReader::new(Cursor::new(upload))
        .with_guessed_format()
        .map_err(|_| not_an_image())?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)
    ) {
        return Err(not_an_image());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE_IN);
    limits.max_image_height = Some(MAX_SIDE_IN);
    // Four bytes a pixel, with room for the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS_IN * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(refused)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS_IN {
        return Err(too_large());
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(refused)?;
    picture.apply_orientation(orientation);
    if picture.width().max(picture.height()) > MAX_SIDE {
        picture = picture.resize(MAX_SIDE, MAX_SIDE, FilterType::Triangle);
    }
    let rgb = picture.into_rgb8();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(&rgb)
        .map_err(ApiError::internal)?;
    Ok(Processed {
        jpeg,
        width: rgb.width(),
        height: rgb.height(),
        upload_sha256: hex::encode(Sha256::digest(upload)),
    })
}

/// A stored photo without its picture.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = survey_photos)]
pub struct Photo {
    /// Id.
    pub id: PhotoId,
    /// The case.
    pub case_id: CaseId,
    /// The visit it was taken on, if the device said.
    pub visit_id: Option<VisitId>,
    /// Who uploaded it.
    pub uploaded_by: UserId,
    /// The device's id for it.
    pub client_id: String,
    /// SHA-256 of the upload as sent.
    pub upload_sha256: String,
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
    /// Size of the stored JPEG.
    pub byte_size: i32,
    /// Uploaded.
    pub created_at: NaiveDateTime,
}

/// A photo as the API shows it.
#[derive(Debug, Serialize)]
pub struct PhotoView {
    /// Id.
    pub id: PhotoId,
    case_id: CaseId,
    visit_id: Option<VisitId>,
    uploaded_by: UserId,
    uploader_name: Option<String>,
    client_id: String,
    width: i32,
    height: i32,
    byte_size: i32,
    created_at: chrono::DateTime<chrono::Utc>,
    /// Where the picture is (`GET`, same authorization as the case).
    url: String,
}

/// An upload to store on a case.
#[derive(Debug)]
pub struct NewPhoto {
    /// The device's id for it.
    pub client_id: ClientId,
    /// The visit it was taken on.
    pub visit_id: Option<VisitId>,
    /// The processed picture.
    pub picture: Processed,
}

impl Photo {
    /// Stores a photo on `placed` (which the caller may see) in the caller's
    /// transaction: the same client id and upload again gives the earlier photo back
    /// (422 `idempotency_key_reused` for another picture); a campaign that is not
    /// running is 409 `campaign_not_running`; a visit of another case is 422; a case
    /// with [`MAX_PER_CASE`] photos is 409 `too_many_photos`. Audited.
    pub fn store(
        conn: &mut DbConnection,
        actor: &Actor,
        uploader: &UserId,
        placed: &PlacedCase,
        running: bool,
        new: NewPhoto,
    ) -> Result<Written<Photo>, ApiError> {
        let case = &placed.case;
        let earlier: Option<Photo> = survey_photos::table
            .filter(survey_photos::case_id.eq(&case.id))
            .filter(survey_photos::client_id.eq(new.client_id.as_str()))
            .select(Photo::as_select())
            .first(conn)
            .optional()?;
        if let Some(earlier) = earlier {
            if earlier.upload_sha256 != new.picture.upload_sha256 {
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyReused,
                    "该 client_id 已用于另一张照片，请为新的照片生成新的 client_id",
                ));
            }
            return Ok(Written::Replayed(earlier));
        }
        if !running {
            return Err(ApiError::new(
                ErrorCode::CampaignNotRunning,
                "该摸排任务未在进行中，不能上传照片",
            ));
        }
        if let Some(visit) = &new.visit_id {
            let of_case: i64 = survey_visits::table
                .filter(survey_visits::id.eq(visit))
                .filter(survey_visits::case_id.eq(&case.id))
                .count()
                .get_result(conn)?;
            if of_case == 0 {
                return Err(ApiError::field(
                    "visit_id",
                    "unknown_visit",
                    "该走访记录不属于这个摸排对象",
                ));
            }
        }
        let held: i64 = survey_photos::table
            .filter(survey_photos::case_id.eq(&case.id))
            .count()
            .get_result(conn)?;
        if held >= MAX_PER_CASE {
            return Err(ApiError::new(
                ErrorCode::TooManyPhotos,
                format!("每个摸排对象最多 {MAX_PER_CASE} 张照片"),
            ));
        }
        let picture = new.picture;
        let size = |n: usize| i32::try_from(n).map_err(ApiError::internal);
        let photo = Photo {
            id: PhotoId::generate(),
            case_id: case.id.clone(),
            visit_id: new.visit_id,
            uploaded_by: uploader.clone(),
            client_id: new.client_id.as_str().to_owned(),
            upload_sha256: picture.upload_sha256,
            width: size(picture.width as usize)?,
            height: size(picture.height as usize)?,
            byte_size: size(picture.jpeg.len())?,
            created_at: now(),
        };
        diesel::insert_into(survey_photos::table)
            .values((
                survey_photos::id.eq(&photo.id),
                survey_photos::case_id.eq(&photo.case_id),
                survey_photos::visit_id.eq(&photo.visit_id),
                survey_photos::uploaded_by.eq(&photo.uploaded_by),
                survey_photos::client_id.eq(&photo.client_id),
                survey_photos::upload_sha256.eq(&photo.upload_sha256),
                survey_photos::width.eq(photo.width),
                survey_photos::height.eq(photo.height),
                survey_photos::byte_size.eq(photo.byte_size),
                survey_photos::content.eq(&picture.jpeg),
                survey_photos::created_at.eq(photo.created_at),
            ))
            .execute(conn)?;
        let event = Event::success("survey.photo.create", "survey_photo", &photo.id).with_details(
            serde_json::json!({
                "case_id": case.id,
                "enterprise_id": case.enterprise_id,
                "visit_id": photo.visit_id,
                "bytes": photo.byte_size,
            }),
        );
        audit::append(conn, actor, event)?;
        Ok(Written::Created(photo))
    }

    /// The photos of a case, oldest first.
    pub fn of_case(conn: &mut DbConnection, case: &CaseId) -> Result<Vec<Photo>, ApiError> {
        Ok(survey_photos::table
            .filter(survey_photos::case_id.eq(case))
            .order(survey_photos::id.asc())
            .select(Photo::as_select())
            .load(conn)?)
    }

    /// Which of `ids` are photos of `case` (an unknown id, or another case's photo,
    /// is simply not among them).
    pub fn of_case_among(
        conn: &mut DbConnection,
        case: &CaseId,
        ids: &[PhotoId],
    ) -> Result<Vec<PhotoId>, ApiError> {
        Ok(survey_photos::table
            .filter(survey_photos::case_id.eq(case))
            .filter(survey_photos::id.eq_any(ids))
            .select(survey_photos::id)
            .load(conn)?)
    }

    /// A photo's case and picture; `None` when there is no such photo.
    pub fn picture(
        conn: &mut DbConnection,
        id: &PhotoId,
    ) -> Result<Option<(CaseId, Vec<u8>)>, ApiError> {
        Ok(survey_photos::table
            .find(id)
            .select((survey_photos::case_id, survey_photos::content))
            .first(conn)
            .optional()?)
    }

    /// Adds the uploaders' names and the pictures' addresses for the API.
    pub fn views(conn: &mut DbConnection, rows: Vec<Photo>) -> Result<Vec<PhotoView>, ApiError> {
        let names = display_names(conn, rows.iter().map(|p| &p.uploaded_by))?;
        Ok(rows
            .into_iter()
            .map(|p| PhotoView {
                uploader_name: names.get(&p.uploaded_by).cloned(),
                url: format!("/api/v1/survey/photos/{}", p.id),
                id: p.id,
                case_id: p.case_id,
                visit_id: p.visit_id,
                uploaded_by: p.uploaded_by,
                client_id: p.client_id,
                width: p.width,
                height: p.height,
                byte_size: p.byte_size,
                created_at: p.created_at.and_utc(),
            })
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = ImageBuffer::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(picture)
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn a_large_picture_is_shrunk_and_becomes_a_jpeg() {
        let processed = process(&png(2400, 1200)).unwrap();
        assert_eq!(
            (processed.width, processed.height),
            (MAX_SIDE, MAX_SIDE / 2)
        );
        assert_eq!(
            image::guess_format(&processed.jpeg).unwrap(),
            ImageFormat::Jpeg
        );
        let small = process(&png(300, 200)).unwrap();
        assert_eq!((small.width, small.height), (300, 200));
    }

    #[test]
    fn what_is_not_a_picture_is_refused() {
        for upload in [&b"not a picture at all"[..], b"", &png(40, 40)[..60]] {
            let error = process(upload).unwrap_err();
            assert_eq!(error.code(), ErrorCode::NotAnImage, "{upload:?}");
        }
        // A GIF is a picture, but not one a phone camera takes.
        assert_eq!(
            process(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
                .unwrap_err()
                .code(),
            ErrorCode::NotAnImage
        );
    }

    #[test]
    fn a_picture_past_the_side_limit_is_too_large() {
        let error = process(&png(MAX_SIDE_IN + 1, 2)).unwrap_err();
        assert_eq!(error.code(), ErrorCode::ImageTooLarge);
    }
}
