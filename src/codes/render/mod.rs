//! Rendering of enterprise codes: QR codes as PNG or SVG, and the printable A4 poster;
//! and of the staff's printed activation codes.
//!
//! Everything here is pure: no IO, no database. Images are drawn straight into byte
//! buffers (1-bit rows for QR PNGs, 8-bit grayscale for the poster) and encoded with the
//! `png` crate's fast deflate, so a 512 px QR code takes about a millisecond (most of it
//! the `qrcode` crate's mask selection) and a 300 dpi poster well under 30 ms (release
//! builds). The bundled font is parsed once.
//!
//! By concern: `qr` encodes the QR matrix and draws it as PNG or SVG; `poster` composes
//! the A4 page; `sheet` the A4 pages of activation codes (a card per person); `text`
//! lays out and draws CJK text with the bundled font; `canvas` is the pages' grayscale
//! raster. This module holds what they share: the options, the
//! error and PNG encoding.

use std::fmt;

use qrcode::EcLevel;

mod canvas;
mod poster;
mod qr;
mod sheet;
mod text;

pub use poster::{POSTER_HEIGHT, POSTER_WIDTH, Poster, poster_png};
pub use qr::{qr_png, qr_svg};
pub use sheet::{CARDS_PER_PAGE, Sheet, SheetCard, activation_sheet_pngs, card_box};

/// QR error-correction level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Ecc {
    /// Low: about 7 % of the code can be damaged.
    L,
    /// Medium: about 15 % of the code can be damaged.
    M,
    /// Quartile: about 25 % of the code can be damaged.
    Q,
    /// High: about 30 % of the code can be damaged.
    H,
}

impl Ecc {
    fn level(self) -> EcLevel {
        match self {
            Ecc::L => EcLevel::L,
            Ecc::M => EcLevel::M,
            Ecc::Q => EcLevel::Q,
            Ecc::H => EcLevel::H,
        }
    }
}

/// How to draw a QR code.
///
/// Callers are expected to validate `size` against [`QrOptions::MIN_SIZE`] and
/// [`QrOptions::MAX_SIZE`] and `margin` against [`QrOptions::MAX_MARGIN`]; the renderers
/// clamp out-of-range values instead of failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QrOptions {
    /// Wanted width and height of the image in pixels.
    ///
    /// Every module is a whole number of pixels, `max(1, size / (modules + 2 * margin))`,
    /// so edges stay crisp; the image is therefore exactly that module size times the
    /// module count (quiet zone included) square, which may be a little smaller than
    /// `size` (or larger when even one pixel per module does not fit).
    pub size: u32,
    /// Quiet zone around the code, in modules (the standard asks for 4).
    pub margin: u32,
    /// Error-correction level.
    pub ecc: Ecc,
}

impl QrOptions {
    /// 512 px, the standard 4-module quiet zone, error correction M.
    pub const DEFAULT: QrOptions = QrOptions {
        size: 512,
        margin: 4,
        ecc: Ecc::M,
    };
    /// Smallest accepted `size`.
    pub const MIN_SIZE: u32 = 64;
    /// Largest accepted `size`.
    pub const MAX_SIZE: u32 = 4096;
    /// Largest accepted `margin`.
    pub const MAX_MARGIN: u32 = 16;
}

impl Default for QrOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Failure to render (content too long for a QR code, image encoding failure).
#[derive(Debug)]
pub struct RenderError(ErrorKind);

#[derive(Debug)]
enum ErrorKind {
    /// The QR encoder refused the content (in practice: too long).
    Content(qrcode::types::QrError),
    /// The PNG encoder failed.
    Png(png::EncodingError),
    /// The bundled font could not be parsed.
    Font,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ErrorKind::Content(e) => write!(f, "content does not fit in a QR code: {e}"),
            ErrorKind::Png(e) => write!(f, "PNG encoding failed: {e}"),
            ErrorKind::Font => f.write_str("the bundled poster font could not be loaded"),
        }
    }
}

impl std::error::Error for RenderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            ErrorKind::Png(e) => Some(e),
            ErrorKind::Content(_) | ErrorKind::Font => None,
        }
    }
}

impl From<png::EncodingError> for RenderError {
    fn from(e: png::EncodingError) -> Self {
        RenderError(ErrorKind::Png(e))
    }
}

/// Encodes grayscale rows with fast deflate and the `Up` filter (cheap, and ideal for
/// images whose rows mostly repeat the row above).
fn encode_png(
    width: u32,
    height: u32,
    depth: png::BitDepth,
    data: &[u8],
) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::with_capacity(data.len() / 16 + 1024);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(depth);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::Filter::Up);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(data)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    pub(super) const URL: &str = "https://truckpass.example.cn/r/0123456789abcdefghijklmnopqrstuv";

    /// Decodes a PNG into 8-bit grayscale: (width, height, pixels).
    pub(super) fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
        let info = reader.next_frame(&mut buf).expect("png frame");
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        buf.truncate(info.buffer_size());
        (info.width as usize, info.height as usize, buf)
    }

    /// Halves a grayscale image, averaging 2 x 2 pixels (a page at 300 dpi scans
    /// quicker, and more reliably, at half size).
    pub(super) fn halve(w: usize, h: usize, pixels: &[u8]) -> (usize, usize, Vec<u8>) {
        let (hw, hh) = (w / 2, h / 2);
        let half = (0..hh)
            .flat_map(|y| (0..hw).map(move |x| (y, x)))
            .map(|(y, x)| {
                let sum = u32::from(pixels[2 * y * w + 2 * x])
                    + u32::from(pixels[2 * y * w + 2 * x + 1])
                    + u32::from(pixels[(2 * y + 1) * w + 2 * x])
                    + u32::from(pixels[(2 * y + 1) * w + 2 * x + 1]);
                (sum / 4) as u8
            })
            .collect();
        (hw, hh, half)
    }

    /// Reads every QR code in a grayscale image: (ECC level as rqrr reports it, content).
    pub(super) fn read_qr(w: usize, h: usize, pixels: &[u8]) -> Vec<(u16, String)> {
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
        img.detect_grids()
            .iter()
            .map(|g| {
                let (meta, content) = g.decode().expect("decodable QR code");
                (meta.ecc_level, content)
            })
            .collect()
    }

    /// rqrr reports the raw format bits: M = 0, L = 1, H = 2, Q = 3.
    pub(super) fn rqrr_level(ecc: Ecc) -> u16 {
        match ecc {
            Ecc::M => 0,
            Ecc::L => 1,
            Ecc::H => 2,
            Ecc::Q => 3,
        }
    }

    #[test]
    fn ecc_deserializes_from_uppercase() {
        let ecc: Vec<Ecc> = serde_json::from_str(r#"["L","M","Q","H"]"#).unwrap();
        assert_eq!(ecc, vec![Ecc::L, Ecc::M, Ecc::Q, Ecc::H]);
        assert!(serde_json::from_str::<Ecc>(r#""m""#).is_err());
    }

    /// Milliseconds per call of `f(i)`: the median and the fastest of 7 rounds of `n`
    /// calls (after one warm-up round).
    fn per_item<T>(n: usize, mut f: impl FnMut(usize) -> T) -> (f64, f64) {
        let mut rounds: Vec<f64> = (0..8)
            .map(|_| {
                let start = std::time::Instant::now();
                for i in 0..n {
                    std::hint::black_box(f(i));
                }
                start.elapsed().as_secs_f64() * 1000.0 / n as f64
            })
            .skip(1)
            .collect();
        rounds.sort_by(f64::total_cmp);
        (rounds[rounds.len() / 2], rounds[0])
    }

    /// Rendering times (deploy/bench/qr.sh runs this in release). Every call draws a
    /// different url of the real length, as a cache miss would.
    #[test]
    #[ignore = "benchmark; run in release with --ignored --nocapture (deploy/bench/qr.sh)"]
    fn bench_render() {
        let token = |i: usize| format!("{i:05}{}", &URL[URL.len() - 27..]);
        let code_url = |i| format!("https://truckpass.example.cn/r/{}", token(i));
        let pass_url = |i| format!("https://truckpass.example.cn/p/{}", token(i));
        let pass = QrOptions {
            size: 480,
            ..QrOptions::DEFAULT
        };
        let rows = [
            (
                "QR matrix (encode + mask)",
                per_item(500, |i| {
                    qr::Modules::encode(&code_url(i), Ecc::M).map(|m| m.width)
                }),
            ),
            (
                "code QR PNG, 512 px",
                per_item(500, |i| qr_png(&code_url(i), QrOptions::DEFAULT)),
            ),
            (
                "pass QR PNG, 480 px",
                per_item(500, |i| qr_png(&pass_url(i), pass)),
            ),
            (
                "code QR SVG",
                per_item(500, |i| qr_svg(&code_url(i), QrOptions::DEFAULT)),
            ),
            (
                "poster PNG, A4 300 dpi",
                per_item(5, |i| {
                    poster_png(&Poster {
                        zone_name: "江苏常州滨江经济开发区",
                        enterprise_name: "常州市新北区滨江精细化工新材料科技有限公司",
                        url: &code_url(i),
                    })
                }),
            ),
        ];
        println!("{:<28} {:>10} {:>10}", "ms per item", "median", "fastest");
        for (what, (median, fastest)) in rows {
            println!("{what:<28} {median:>10.4} {fastest:>10.4}");
        }
        let png_bytes = qr_png(&code_url(0), QrOptions::DEFAULT).unwrap().len();
        println!("code QR PNG: {png_bytes} bytes");
    }
}
