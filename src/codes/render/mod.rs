//! Rendering of enterprise codes: QR codes as PNG or SVG, and the printable A4 poster.
//!
//! Everything here is pure: no IO, no database. Images are drawn straight into byte
//! buffers (1-bit rows for QR PNGs, 8-bit grayscale for the poster) and encoded with the
//! `png` crate's fast deflate, so a 512 px QR code takes well under a millisecond and a
//! 300 dpi poster well under 30 ms (release builds). The bundled font is parsed once.

use std::fmt;
use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use qrcode::canvas::{self, MaskPattern};
use qrcode::{Color, EcLevel, Version, bits};

/// WenQuanYi Micro Hei (CJK + Latin), face 0 of the collection.
static FONT_BYTES: &[u8] = include_bytes!("../font/wqy-microhei.ttc");

/// The parsed font, parsed once; `None` if the bundled file could not be parsed.
static FONT: LazyLock<Option<FontRef<'static>>> =
    LazyLock::new(|| FontRef::try_from_slice_and_index(FONT_BYTES, 0).ok());

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

// ---------------------------------------------------------------------------------------
// QR codes
// ---------------------------------------------------------------------------------------

/// The modules of an encoded QR code (without quiet zone), row-major, `true` = dark.
struct Modules {
    width: usize,
    dark: Vec<bool>,
}

impl Modules {
    /// Encodes `content` (as bytes, in the most compact QR modes) in the smallest version
    /// that holds it at level `ecc`, with the mask pattern of lowest penalty.
    ///
    /// Same result as `QrCode::with_error_correction_level`, but the mask penalties are
    /// scored here: the `qrcode` crate's scoring allocates for every module and takes
    /// most of a millisecond, several times the cost of everything else.
    fn encode(content: &str, ecc: Ecc) -> Result<Self, RenderError> {
        let level = ecc.level();
        let refused = |e| RenderError(ErrorKind::Content(e));
        let bits = bits::encode_auto(content.as_bytes(), level).map_err(refused)?;
        let version = bits.version();
        let (data, ec) =
            qrcode::ec::construct_codewords(&bits.into_bytes(), version, level).map_err(refused)?;
        let mut canvas = canvas::Canvas::new(version, level);
        canvas.draw_all_functional_patterns();
        canvas.draw_data(&data, &ec);
        let width = match version {
            Version::Normal(_) => usize::try_from(version.width()).unwrap_or(0),
            Version::Micro(_) => 0,
        };
        if width == 0 {
            // Not reached (`encode_auto` only picks normal versions); the crate's own
            // mask selection is correct for every kind of code, just slower.
            let dark = canvas.apply_best_mask().into_colors();
            let width = dark.len().isqrt();
            let dark = dark.into_iter().map(|c| c == Color::Dark).collect();
            return Ok(Modules { width, dark });
        }
        let mut best: Option<(u32, Vec<bool>)> = None;
        for pattern in MASKS {
            let mut masked = canvas.clone();
            masked.apply_mask(pattern);
            let dark: Vec<bool> = masked
                .into_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect();
            let score = penalty(&dark, width);
            if best.as_ref().is_none_or(|(lowest, _)| score < *lowest) {
                best = Some((score, dark));
            }
        }
        let dark = best.map(|(_, dark)| dark).unwrap_or_default();
        Ok(Modules { width, dark })
    }

    /// Dark runs of row `y` as `(first module, length)`.
    fn runs(&self, y: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let row = self
            .dark
            .get(y * self.width..(y + 1) * self.width)
            .unwrap_or(&[]);
        let mut x = 0;
        std::iter::from_fn(move || {
            while x < row.len() && !row[x] {
                x += 1;
            }
            if x >= row.len() {
                return None;
            }
            let start = x;
            while x < row.len() && row[x] {
                x += 1;
            }
            Some((start, x - start))
        })
    }
}

/// The eight QR mask patterns, in the order of their numbers (ties go to the first).
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// Mask penalty of a masked code (`width` x `width`, row-major, `true` = dark), scored as
/// the `qrcode` crate scores it (ISO/IEC 18004 rules 1 to 3; rule 4 as the crate has it),
/// minus constants that do not change which mask wins.
fn penalty(dark: &[bool], width: usize) -> u32 {
    let n = width;
    if n < 2 || dark.len() != n * n {
        return u32::MAX;
    }
    let mut columns = vec![false; n * n];
    for (y, row) in dark.chunks_exact(n).enumerate() {
        for (x, &d) in row.iter().enumerate() {
            columns[x * n + y] = d;
        }
    }
    let mut score: u32 = dark
        .chunks_exact(n)
        .chain(columns.chunks_exact(n))
        .map(line_penalty)
        .sum();
    // Rule 2: 2 x 2 blocks of one colour.
    for (upper, lower) in dark.chunks_exact(n).zip(dark.chunks_exact(n).skip(1)) {
        for (u, l) in upper.windows(2).zip(lower.windows(2)) {
            if u[0] == u[1] && l[0] == u[0] && l[1] == u[0] {
                score += 3;
            }
        }
    }
    // Rule 4: balance of dark and light.
    let dark_count = dark.iter().filter(|&&d| d).count();
    let ratio = dark_count * 200 / dark.len();
    score + u32::try_from(ratio.abs_diff(100)).unwrap_or(u32::MAX)
}

/// Rules 1 and 3 of the mask penalty for one row or column.
fn line_penalty(line: &[bool]) -> u32 {
    /// Dark, light, dark, dark, dark, light, dark: the last seven modules as bits.
    const FINDER: u32 = 0b101_1101;
    let mut score = 0;
    let mut run = 0_u32;
    let mut window = 0_u32;
    for (k, &d) in line.iter().enumerate() {
        // Rule 1: runs of five or more modules of one colour score length - 2.
        if k > 0 && line[k - 1] == d {
            run += 1;
        } else {
            if run >= 5 {
                score += run - 2;
            }
            run = 1;
        }
        // Rule 3: a 1:1:3:1:1 finder-like pattern without four light modules on (at
        // least) one side; outside the symbol counts as light.
        window = ((window << 1) | u32::from(d)) & 0x7F;
        if k >= 6 && window == FINDER {
            let j = k - 6;
            let before = &line[j.saturating_sub(4)..j];
            let after = &line[k + 1..(k + 5).min(line.len())];
            if !before.contains(&true) || !after.contains(&true) {
                score += 40;
            }
        }
    }
    if run >= 5 {
        score += run - 2;
    }
    score
}

/// Pixel geometry of a QR image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Geometry {
    /// Quiet zone in modules.
    margin: usize,
    /// Modules across, quiet zone included.
    total: usize,
    /// Pixels per module.
    module_px: usize,
    /// Image width and height in pixels.
    px: usize,
}

impl Geometry {
    fn new(code_width: usize, size: u32, margin: u32) -> Self {
        let size = size.clamp(QrOptions::MIN_SIZE, QrOptions::MAX_SIZE) as usize;
        let margin = margin.min(QrOptions::MAX_MARGIN) as usize;
        let total = code_width + 2 * margin;
        let module_px = (size / total.max(1)).max(1);
        Geometry {
            margin,
            total,
            module_px,
            px: total * module_px,
        }
    }
}

/// Renders `content` as a black-on-white QR code PNG (1-bit grayscale).
///
/// The image is square, [`QrOptions::size`] pixels or a little less (whole pixels per
/// module); out-of-range options are clamped.
pub fn qr_png(content: &str, options: QrOptions) -> Result<Vec<u8>, RenderError> {
    let modules = Modules::encode(content, options.ecc)?;
    let g = Geometry::new(modules.width, options.size, options.margin);
    let row_bytes = g.px.div_ceil(8);
    // 1-bit grayscale: a set bit is white.
    let mut data = vec![0xFF_u8; row_bytes * g.px];
    let mut row = vec![0xFF_u8; row_bytes];
    for y in 0..modules.width {
        row.fill(0xFF);
        for (x, len) in modules.runs(y) {
            let start = (g.margin + x) * g.module_px;
            clear_bits(&mut row, start, start + len * g.module_px);
        }
        let top = (g.margin + y) * g.module_px;
        for r in top..top + g.module_px {
            if let Some(dst) = data.get_mut(r * row_bytes..(r + 1) * row_bytes) {
                dst.copy_from_slice(&row);
            }
        }
    }
    let side = dimension(g.px);
    encode_png(side, side, png::BitDepth::One, &data)
}

/// Clears bits `start..end` (MSB first) of a packed 1-bit row.
fn clear_bits(row: &mut [u8], start: usize, end: usize) {
    let mut p = start;
    // Leading partial byte.
    while p < end && !p.is_multiple_of(8) {
        if let Some(b) = row.get_mut(p / 8) {
            *b &= !(0x80 >> (p % 8));
        }
        p += 1;
    }
    // Whole bytes.
    let whole_end = end - (end - p) % 8;
    if p < whole_end {
        if let Some(bytes) = row.get_mut(p / 8..whole_end / 8) {
            bytes.fill(0);
        }
        p = whole_end;
    }
    // Trailing partial byte.
    while p < end {
        if let Some(b) = row.get_mut(p / 8) {
            *b &= !(0x80 >> (p % 8));
        }
        p += 1;
    }
}

/// Renders `content` as a compact SVG QR code: a white background and one `<path>` of
/// the dark modules.
///
/// `width` and `height` are the pixel size computed as for [`qr_png`]; the `viewBox` is in
/// modules (quiet zone included), so the drawing scales crisply to any size.
pub fn qr_svg(content: &str, options: QrOptions) -> Result<String, RenderError> {
    use std::fmt::Write as _;

    let modules = Modules::encode(content, options.ecc)?;
    let g = Geometry::new(modules.width, options.size, options.margin);
    let mut svg = String::with_capacity(256 + modules.dark.len() * 3);
    let _ = write!(
        svg,
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{px}" height="{px}" "#,
            r#"viewBox="0 0 {n} {n}" shape-rendering="crispEdges">"#,
            r##"<rect width="{n}" height="{n}" fill="#fff"/><path fill="#000" d=""##,
        ),
        px = g.px,
        n = g.total,
    );
    for y in 0..modules.width {
        for (x, len) in modules.runs(y) {
            let _ = write!(svg, "M{} {}h{len}v1h-{len}z", g.margin + x, g.margin + y);
        }
    }
    svg.push_str(r#""/></svg>"#);
    Ok(svg)
}

/// Pixel dimension as the `u32` the PNG encoder wants (images here are at most a few
/// thousand pixels, so this never saturates in practice).
fn dimension(px: usize) -> u32 {
    u32::try_from(px).unwrap_or(u32::MAX)
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

// ---------------------------------------------------------------------------------------
// Poster
// ---------------------------------------------------------------------------------------

/// What a poster shows.
#[derive(Clone, Copy, Debug)]
pub struct Poster<'a> {
    /// The industrial zone's name, shown at the top.
    pub zone_name: &'a str,
    /// The enterprise's (Chinese) name, shown large above the code.
    pub enterprise_name: &'a str,
    /// What the QR code encodes; also printed at the bottom so it can be typed.
    pub url: &'a str,
}

/// Poster width: A4 portrait at 300 dpi is 2480 x 3508 pixels.
pub const POSTER_WIDTH: u32 = 2480;
/// Poster height: A4 portrait at 300 dpi is 2480 x 3508 pixels.
pub const POSTER_HEIGHT: u32 = 3508;

const TITLE: &str = "外来货车司机请扫码登记";
const STEPS: [&str; 3] = [
    "1. 打开手机相机或微信扫一扫，扫描上方二维码",
    "2. 填写司机、车辆和货物信息，首次填写后下次自动带出",
    "3. 提交后出示通行凭证，门岗核验后放行",
];
const SLOGAN: &str = "一企一码 · 一次填报，畅通无忧";

/// Text never comes closer than this to the left and right paper edges.
const SIDE_MARGIN: usize = 160;
/// Distance of the border frame from the paper edges.
const FRAME_INSET: usize = 70;
/// Thickness of the border frame.
const FRAME_WIDTH: usize = 6;
/// Wanted QR width on the poster (quiet zone included).
const POSTER_QR_PX: usize = 1500;
/// Quiet zone of the poster's QR code, in modules.
const POSTER_QR_MARGIN: u32 = 4;
/// Line height as a multiple of the font's pixel height.
const LINE_SPACING: f32 = 1.2;

/// Renders the printable A4 poster (2480 x 3508, 300 dpi, 8-bit grayscale PNG).
///
/// Top to bottom inside a thin frame: the zone name; the bold title 「外来货车司机请扫码登记」;
/// the enterprise name, large, wrapped onto at most 3 lines (shrunk step by step until it
/// fits, cut with "…" only beyond the smallest size); the QR code of `url` (level M, 4
/// module quiet zone, about 1500 px across including the quiet zone, less if the space
/// left is smaller); the three numbered steps; the url in small type; the slogan.
/// Fails only if `url` is too long for a QR code (or the font or encoder fail).
pub fn poster_png(poster: &Poster<'_>) -> Result<Vec<u8>, RenderError> {
    let font = FONT.as_ref().ok_or(RenderError(ErrorKind::Font))?;
    let modules = Modules::encode(poster.url, Ecc::M)?;

    let (w, h) = (POSTER_WIDTH as usize, POSTER_HEIGHT as usize);
    let mut canvas = Canvas::new(w, h);
    let text_width = (w - 2 * SIDE_MARGIN) as f32;
    let center = w as f32 / 2.0;

    // Border frame.
    let (fi, fw) = (FRAME_INSET, FRAME_WIDTH);
    canvas.fill_rect(fi, fi, w - 2 * fi, fw, 0);
    canvas.fill_rect(fi, h - fi - fw, w - 2 * fi, fw, 0);
    canvas.fill_rect(fi, fi, fw, h - 2 * fi, 0);
    canvas.fill_rect(w - fi - fw, fi, fw, h - 2 * fi, 0);

    // Top: zone name, title, enterprise name.
    let mut y = 210.0;
    let zone = single_line(poster.zone_name);
    let (scale, lines) = fit(font, &zone, 84.0, 44.0, 4.0, text_width, 2);
    y = draw_centered(&mut canvas, font, scale, &lines, center, y, 0);
    y += 50.0;

    let title_scale = PxScale::from(150.0);
    y = draw_centered(
        &mut canvas,
        font,
        title_scale,
        &[TITLE.to_owned()],
        center,
        y,
        5,
    );
    y += 70.0;

    let name = single_line(poster.enterprise_name);
    let (scale, lines) = fit(font, &name, 140.0, 56.0, 6.0, text_width, 3);
    let lines = balance(font, scale, &name, text_width, lines);
    y = draw_centered(&mut canvas, font, scale, &lines, center, y, 2);
    let qr_top_limit = y + 30.0;

    // Bottom, laid out upwards from the frame: slogan, url, then the numbered steps.
    let small = PxScale::from(46.0);
    let small_height = line_height(font, small);
    let slogan_top = (h - fi) as f32 - 90.0 - small_height;
    draw_centered(
        &mut canvas,
        font,
        small,
        &[SLOGAN.to_owned()],
        center,
        slogan_top,
        0,
    );
    let url = single_line(poster.url);
    let (url_scale, url_lines) = fit(font, &url, 46.0, 24.0, 2.0, text_width, 2);
    let url_top = slogan_top - 16.0 - line_height(font, url_scale) * url_lines.len() as f32;
    draw_centered(&mut canvas, font, url_scale, &url_lines, center, url_top, 0);

    let steps: Vec<String> = STEPS.iter().map(|s| (*s).to_owned()).collect();
    let step_scale = uniform_scale(font, &steps, 70.0, text_width);
    let step_height = line_height(font, step_scale) * 1.3;
    let steps_top = url_top - 90.0 - step_height * steps.len() as f32;
    let block = steps
        .iter()
        .map(|s| measure(font, step_scale, s))
        .fold(0.0_f32, f32::max);
    let left = center - block / 2.0;
    for (i, step) in steps.iter().enumerate() {
        draw_text(
            &mut canvas,
            font,
            step_scale,
            step,
            left,
            steps_top + step_height * i as f32,
            0,
        );
    }

    // The QR code, as large as fits between the name and the steps, centred in that gap.
    let qr_bottom_limit = steps_top - 40.0;
    let room = (qr_bottom_limit - qr_top_limit).max(0.0) as usize;
    let total = modules.width + 2 * POSTER_QR_MARGIN as usize;
    let module_px = (POSTER_QR_PX.min(room) / total).max(1);
    let side = total * module_px;
    let qr_left = (w.saturating_sub(side)) / 2;
    let qr_top = qr_top_limit as usize + room.saturating_sub(side) / 2;
    let origin = POSTER_QR_MARGIN as usize;
    for my in 0..modules.width {
        for (mx, len) in modules.runs(my) {
            canvas.fill_rect(
                qr_left + (origin + mx) * module_px,
                qr_top + (origin + my) * module_px,
                len * module_px,
                module_px,
                0,
            );
        }
    }

    encode_png(
        POSTER_WIDTH,
        POSTER_HEIGHT,
        png::BitDepth::Eight,
        &canvas.pixels,
    )
}

/// Control characters (line breaks included) become spaces; surrounding whitespace goes.
fn single_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// An 8-bit grayscale image, white = 255.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Self {
        Canvas {
            width,
            height,
            pixels: vec![255; width * height],
        }
    }

    /// Fills a rectangle (clipped to the image) with `value`.
    fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, value: u8) {
        let x0 = x.min(self.width);
        let x1 = x.saturating_add(w).min(self.width);
        let y1 = y.saturating_add(h).min(self.height);
        for row in y.min(self.height)..y1 {
            let start = row * self.width;
            if let Some(span) = self.pixels.get_mut(start + x0..start + x1) {
                span.fill(value);
            }
        }
    }

    /// Darkens the image with a coverage mask (`mask_w` wide, values 0..=1) whose top
    /// left corner is at `(x0, y0)`: each pixel is blended toward black by its coverage.
    fn blend_mask(&mut self, mask: &[f32], mask_w: usize, x0: i64, y0: i64) {
        if mask_w == 0 {
            return;
        }
        let mask_h = mask.len() / mask_w;
        // Clip the mask to the image once, then blend row slices.
        let clip = |origin: i64, len: usize, limit: usize| -> Option<(usize, usize, usize)> {
            let skip = usize::try_from(-origin.min(0)).ok()?;
            let start = usize::try_from(origin.max(0)).ok()?;
            let end = usize::try_from(origin.saturating_add(i64::try_from(len).ok()?))
                .ok()?
                .min(limit);
            (start < end && skip < len).then(|| (skip, start, end - start))
        };
        let Some((skip_x, x, w)) = clip(x0, mask_w, self.width) else {
            return;
        };
        let Some((skip_y, y, h)) = clip(y0, mask_h, self.height) else {
            return;
        };
        for r in 0..h {
            let src_start = (skip_y + r) * mask_w + skip_x;
            let dst_start = (y + r) * self.width + x;
            let (Some(src), Some(dst)) = (
                mask.get(src_start..src_start + w),
                self.pixels.get_mut(dst_start..dst_start + w),
            ) else {
                continue;
            };
            for (p, &c) in dst.iter_mut().zip(src) {
                if c > 0.0 {
                    let keep = 255 - (c.min(1.0) * 255.0 + 0.5) as u32;
                    *p = ((u32::from(*p) * keep + 127) / 255) as u8;
                }
            }
        }
    }
}

/// Height of one line of text at `scale`, line spacing included.
fn line_height(font: &impl Font, scale: PxScale) -> f32 {
    font.as_scaled(scale).height() * LINE_SPACING
}

/// Width of `text` on one line: the sum of advances plus kerning.
fn measure(font: &impl Font, scale: PxScale, text: &str) -> f32 {
    let font = font.as_scaled(scale);
    let mut width = 0.0;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            width += font.kern(p, id);
        }
        width += font.h_advance(id);
        prev = Some(id);
    }
    width
}

/// Breaks `text` into lines no wider than `max_width` (measured with the font's advances
/// and kerning). Breaks may fall between any two characters, as Chinese has no spaces;
/// a line never starts with closing punctuation (the character before it moves down with
/// it). Lossless: the lines concatenated give back `text`. A single character wider than
/// `max_width` still gets a line of its own.
fn wrap(font: &impl Font, scale: PxScale, text: &str, max_width: f32) -> Vec<String> {
    let scaled = font.as_scaled(scale);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut width = 0.0;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        let kern = prev.map_or(0.0, |p| scaled.kern(p, id));
        let advance = scaled.h_advance(id);
        if !line.is_empty() && width + kern + advance > max_width {
            let mut next = String::new();
            if is_closing(c)
                && line.chars().count() >= 2
                && let Some(last) = line.pop()
            {
                let moved: String = [last, c].iter().collect();
                if measure(font, scale, &moved) <= max_width {
                    next.push(last);
                } else {
                    line.push(last);
                }
            }
            lines.push(std::mem::take(&mut line));
            line = next;
            width = measure(font, scale, &line);
            prev = line.chars().last().map(|l| scaled.glyph_id(l));
        }
        let kern = prev.map_or(0.0, |p| scaled.kern(p, id));
        width += kern + advance;
        line.push(c);
        prev = Some(id);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Characters that must not begin a line.
fn is_closing(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '？'
            | '！'
            | '）'
            | '】'
            | '》'
            | '」'
            | '』'
            | '”'
            | '’'
            | ','
            | '.'
            | ';'
            | ':'
            | '?'
            | '!'
            | ')'
            | ']'
    )
}

/// Finds the largest size, from `start` down to `min` in steps of `step` pixels, at which
/// `text` wraps onto at most `max_lines` lines of at most `max_width`. If even `min` is
/// too large, the text is cut after `max_lines` lines and the last line ends with "…".
fn fit(
    font: &impl Font,
    text: &str,
    start: f32,
    min: f32,
    step: f32,
    max_width: f32,
    max_lines: usize,
) -> (PxScale, Vec<String>) {
    let min = min.max(1.0);
    let step = step.max(1.0);
    let max_lines = max_lines.max(1);
    let mut size = start.max(min);
    loop {
        let scale = PxScale::from(size);
        let lines = wrap(font, scale, text, max_width);
        let fits =
            lines.len() <= max_lines && lines.iter().all(|l| measure(font, scale, l) <= max_width);
        if fits {
            return (scale, lines);
        }
        if size <= min {
            return (scale, truncate(font, scale, lines, max_width, max_lines));
        }
        size = (size - step).max(min);
    }
}

/// Keeps the first `max_lines` lines; if any were dropped, ends the last kept line with
/// "…" (shortened until it fits).
fn truncate(
    font: &impl Font,
    scale: PxScale,
    mut lines: Vec<String>,
    max_width: f32,
    max_lines: usize,
) -> Vec<String> {
    if lines.len() <= max_lines {
        return lines;
    }
    lines.truncate(max_lines);
    if let Some(last) = lines.last_mut() {
        while !last.is_empty() && measure(font, scale, &format!("{last}…")) > max_width {
            last.pop();
        }
        last.push('…');
    }
    lines
}

/// Re-wraps `text` onto the same number of lines as `lines` but as evenly as possible
/// (a 16-character name at 15 characters a line becomes 8 + 8, not 15 + 1), by finding
/// the narrowest width that needs no more lines. Truncated text is returned unchanged.
fn balance(
    font: &impl Font,
    scale: PxScale,
    text: &str,
    max_width: f32,
    lines: Vec<String>,
) -> Vec<String> {
    if lines.len() < 2 || lines.concat() != text {
        return lines;
    }
    let count = lines.len();
    let (mut lo, mut hi) = (0.0_f32, max_width);
    for _ in 0..16 {
        let mid = (lo + hi) / 2.0;
        if wrap(font, scale, text, mid).len() <= count {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let balanced = wrap(font, scale, text, hi);
    if balanced.len() <= count {
        balanced
    } else {
        lines
    }
}

/// The largest scale, at most `start`, at which every one of `lines` fits `max_width`
/// on one line (widths grow linearly with the scale).
fn uniform_scale(font: &impl Font, lines: &[String], start: f32, max_width: f32) -> PxScale {
    let scale = PxScale::from(start);
    let widest = lines
        .iter()
        .map(|l| measure(font, scale, l))
        .fold(0.0_f32, f32::max);
    if widest <= max_width || widest <= 0.0 {
        scale
    } else {
        PxScale::from((start * max_width / widest).floor().max(1.0))
    }
}

/// Draws `lines` centred on `center`, the first line's top at `top`; returns the y just
/// below the last line.
fn draw_centered(
    canvas: &mut Canvas,
    font: &impl Font,
    scale: PxScale,
    lines: &[String],
    center: f32,
    top: f32,
    bold: usize,
) -> f32 {
    let height = line_height(font, scale);
    let mut y = top;
    for line in lines {
        let line = line.trim();
        let width = measure(font, scale, line) + bold as f32;
        draw_text(canvas, font, scale, line, center - width / 2.0, y, bold);
        y += height;
    }
    y
}

/// Draws one line of text with its top-left corner at `(left, top)`. A non-zero `bold`
/// thickens the strokes by that many pixels (coverage dilated right and down).
fn draw_text(
    canvas: &mut Canvas,
    font: &impl Font,
    scale: PxScale,
    text: &str,
    left: f32,
    top: f32,
    bold: usize,
) {
    let scaled = font.as_scaled(scale);
    let baseline = top + scaled.ascent();
    let mut caret = left;
    let mut prev: Option<GlyphId> = None;
    let mut mask = Vec::new();
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(caret, baseline));
        caret += scaled.h_advance(id);
        prev = Some(id);
        let Some(outlined) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        let (w, h) = (bounds.width() as usize, bounds.height() as usize);
        if w == 0 || h == 0 {
            continue;
        }
        mask.clear();
        mask.resize(w * h, 0.0_f32);
        outlined.draw(|x, y, c| {
            if let Some(m) = mask.get_mut(y as usize * w + x as usize) {
                *m = c;
            }
        });
        let (x0, y0) = (bounds.min.x as i64, bounds.min.y as i64);
        if bold == 0 {
            canvas.blend_mask(&mask, w, x0, y0);
        } else {
            let (thick, thick_w) = dilate(&mask, w, h, bold);
            canvas.blend_mask(&thick, thick_w, x0, y0);
        }
    }
}

/// Faux bold: grows a `w` x `h` coverage mask by `by` pixels right and down, each pixel
/// taking the maximum coverage of the pixels up to `by` to its left and above.
fn dilate(mask: &[f32], w: usize, h: usize, by: usize) -> (Vec<f32>, usize) {
    let (nw, nh) = (w + by, h + by);
    let mut across = vec![0.0_f32; nw * h];
    for (src, dst) in mask.chunks_exact(w).zip(across.chunks_exact_mut(nw)) {
        for d in 0..=by {
            for (o, &c) in dst[d..d + w].iter_mut().zip(src) {
                if c > *o {
                    *o = c;
                }
            }
        }
    }
    let mut out = vec![0.0_f32; nw * nh];
    for (y, src) in across.chunks_exact(nw).enumerate() {
        for dy in 0..=by {
            let dst = &mut out[(y + dy) * nw..(y + dy + 1) * nw];
            for (o, &c) in dst.iter_mut().zip(src) {
                if c > *o {
                    *o = c;
                }
            }
        }
    }
    (out, nw)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const URL: &str = "https://truckpass.example.cn/r/0123456789abcdefghijklmnopqrstuv";

    /// Decodes a PNG into 8-bit grayscale: (width, height, pixels).
    fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
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

    /// Reads every QR code in a grayscale image: (ECC level as rqrr reports it, content).
    fn read_qr(w: usize, h: usize, pixels: &[u8]) -> Vec<(u16, String)> {
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
    fn rqrr_level(ecc: Ecc) -> u16 {
        match ecc {
            Ecc::M => 0,
            Ecc::L => 1,
            Ecc::H => 2,
            Ecc::Q => 3,
        }
    }

    fn font() -> &'static FontRef<'static> {
        FONT.as_ref().expect("bundled font parses")
    }

    #[test]
    fn qr_png_round_trips_for_every_level_size_and_margin() {
        for ecc in [Ecc::L, Ecc::M, Ecc::Q, Ecc::H] {
            for (size, margin) in [(512, 4), (200, 2), (1000, 8), (64, 4)] {
                let options = QrOptions { size, margin, ecc };
                let png = qr_png(URL, options).unwrap();
                let (w, h, pixels) = decode_png(&png);
                assert_eq!(w, h);
                let modules = Modules::encode(URL, ecc).unwrap().width + 2 * margin as usize;
                let module_px = (size as usize / modules).max(1);
                assert_eq!(w, modules * module_px, "{options:?}");
                assert!(w <= size as usize || module_px == 1, "{options:?}");
                let found = read_qr(w, h, &pixels);
                assert_eq!(
                    found,
                    vec![(rqrr_level(ecc), URL.to_owned())],
                    "{options:?}"
                );
            }
        }
    }

    #[test]
    fn qr_png_is_black_on_white_with_a_quiet_zone() {
        let options = QrOptions {
            size: 300,
            margin: 4,
            ecc: Ecc::M,
        };
        let (w, _, pixels) = decode_png(&qr_png("hello", options).unwrap());
        // Version 1: 21 modules + 8 quiet = 29; 300 / 29 = 10 px a module.
        assert_eq!(w, 290);
        assert!(
            pixels[..w * 40].iter().all(|&p| p == 255),
            "quiet zone is white"
        );
        // The top-left finder pattern's corner module is dark.
        assert_eq!(pixels[45 * w + 45], 0);
        assert!(pixels.iter().all(|&p| p == 0 || p == 255));
    }

    #[test]
    fn qr_png_clamps_out_of_range_options() {
        let huge = QrOptions {
            size: u32::MAX,
            margin: u32::MAX,
            ecc: Ecc::L,
        };
        let (w, _, pixels) = decode_png(&qr_png("x", huge).unwrap());
        // Version 1 (21 modules) + 2 x 16 quiet = 53 modules of 4096 / 53 = 77 px.
        assert_eq!(w, 53 * 77);
        assert!(pixels[..16 * 77 * w].iter().all(|&p| p == 255));
        assert_eq!(pixels[16 * 77 * w + 16 * 77], 0);
        let tiny = QrOptions {
            size: 0,
            margin: 0,
            ecc: Ecc::H,
        };
        let (w, _, _) = decode_png(&qr_png("x", tiny).unwrap());
        assert!(w <= QrOptions::MIN_SIZE as usize);
        // Content too long for any QR code is an error, not a panic.
        let long = "9".repeat(8000);
        let err = qr_png(&long, QrOptions::DEFAULT).unwrap_err();
        assert!(err.to_string().contains("QR code"), "{err}");
        assert!(qr_svg(&long, QrOptions::DEFAULT).is_err());
        // The largest code at one pixel a module is larger than the wanted size.
        let max = "9".repeat(7000);
        let tiny_l = QrOptions {
            ecc: Ecc::L,
            ..tiny
        };
        let (w, _, _) = decode_png(&qr_png(&max, tiny_l).unwrap());
        assert_eq!(w, 177);
    }

    #[test]
    fn qr_svg_is_compact_and_sized_like_the_png() {
        let options = QrOptions::DEFAULT;
        let svg = qr_svg(URL, options).unwrap();
        let (w, _, _) = decode_png(&qr_png(URL, options).unwrap());
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(
            svg.contains(&format!(r#"width="{w}" height="{w}""#)),
            "{svg}"
        );
        let n = Modules::encode(URL, Ecc::M).unwrap().width + 8;
        assert!(svg.contains(&format!(r#"viewBox="0 0 {n} {n}""#)));
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(svg.contains(r##"fill="#fff""##));
        assert!(svg.len() < 12_000, "{} bytes", svg.len());
    }

    #[test]
    fn qr_svg_draws_the_same_modules_as_the_png() {
        // Rasterise the SVG path at one pixel a module and compare with the PNG's modules.
        let options = QrOptions {
            size: 100,
            margin: 2,
            ecc: Ecc::Q,
        };
        let svg = qr_svg("abc", options).unwrap();
        let (w, _, png) = decode_png(&qr_png("abc", options).unwrap());
        let n = Modules::encode("abc", Ecc::Q).unwrap().width + 4;
        let module_px = w / n;
        assert_eq!(module_px * n, w);
        let d = svg
            .split(r#" d=""#)
            .nth(1)
            .unwrap()
            .trim_end_matches(r#""/></svg>"#);
        let mut raster = vec![255_u8; n * n];
        for cmd in d.split('M').filter(|s| !s.is_empty()) {
            let (xy, rest) = cmd.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            let len: usize = rest.split_once('v').unwrap().0.parse().unwrap();
            raster[y * n + x..y * n + x + len].fill(0);
        }
        let sampled: Vec<u8> = (0..n * n)
            .map(|i| png[(i / n) * module_px * w + (i % n) * module_px])
            .collect();
        assert!(raster == sampled, "SVG and PNG modules differ");
    }

    #[test]
    fn modules_match_the_qrcode_crate() {
        let long = "长".repeat(300);
        let inputs = [
            "x",
            "hello",
            "12345678901234567890",
            URL,
            "HTTPS://EXAMPLE.COM/ABC",
            "https://truckpass.example.cn/r/某企业",
            long.as_str(),
        ];
        for content in inputs {
            for ecc in [Ecc::L, Ecc::M, Ecc::Q, Ecc::H] {
                let ours = Modules::encode(content, ecc).unwrap();
                let reference =
                    qrcode::QrCode::with_error_correction_level(content.as_bytes(), ecc.level())
                        .unwrap();
                assert_eq!(ours.width, reference.width());
                let reference: Vec<bool> = reference
                    .into_colors()
                    .into_iter()
                    .map(|c| c == Color::Dark)
                    .collect();
                assert!(ours.dark == reference, "{content} {ecc:?}");
            }
        }
    }

    #[test]
    fn ecc_deserializes_from_uppercase() {
        let ecc: Vec<Ecc> = serde_json::from_str(r#"["L","M","Q","H"]"#).unwrap();
        assert_eq!(ecc, vec![Ecc::L, Ecc::M, Ecc::Q, Ecc::H]);
        assert!(serde_json::from_str::<Ecc>(r#""m""#).is_err());
    }

    #[test]
    fn poster_is_a4_at_300_dpi_and_its_code_scans() {
        let poster = Poster {
            zone_name: "江苏常州滨江经济开发区",
            enterprise_name: "常州市新北区滨江精细化工新材料科技有限公司",
            url: URL,
        };
        let png = poster_png(&poster).unwrap();
        let (w, h, pixels) = decode_png(&png);
        assert_eq!((w, h), (POSTER_WIDTH as usize, POSTER_HEIGHT as usize));
        // Text was drawn (with anti-aliasing) and the page is mostly white.
        assert!(pixels.iter().any(|&p| p > 0 && p < 255));
        let white = pixels.iter().filter(|&&p| p == 255).count();
        assert!(white > pixels.len() / 2);
        // Nothing but the frame outside the side margins, away from the QR code.
        for y in [400, 800, 1000] {
            let row = &pixels[y * w..(y + 1) * w];
            let inside = FRAME_INSET + FRAME_WIDTH;
            assert!(
                row[inside..SIDE_MARGIN].iter().all(|&p| p == 255),
                "row {y}"
            );
            assert!(
                row[w - SIDE_MARGIN..w - inside].iter().all(|&p| p == 255),
                "row {y}"
            );
        }
        // Downscale by 2 (keeping it quick) and scan.
        let (hw, hh) = (w / 2, h / 2);
        let half: Vec<u8> = (0..hh)
            .flat_map(|y| (0..hw).map(move |x| (y, x)))
            .map(|(y, x)| {
                let sum = u32::from(pixels[2 * y * w + 2 * x])
                    + u32::from(pixels[2 * y * w + 2 * x + 1])
                    + u32::from(pixels[(2 * y + 1) * w + 2 * x])
                    + u32::from(pixels[(2 * y + 1) * w + 2 * x + 1]);
                (sum / 4) as u8
            })
            .collect();
        let found = read_qr(hw, hh, &half);
        assert_eq!(found, vec![(rqrr_level(Ecc::M), URL.to_owned())]);
    }

    #[test]
    fn poster_survives_odd_input() {
        let long = "超长企业名称".repeat(40);
        for poster in [
            Poster {
                zone_name: "",
                enterprise_name: "",
                url: "x",
            },
            Poster {
                zone_name: &long,
                enterprise_name: &long,
                url: "https://example.com/\n\t",
            },
        ] {
            let (w, h, _) = decode_png(&poster_png(&poster).unwrap());
            assert_eq!((w, h), (2480, 3508));
        }
        let too_long = "9".repeat(8000);
        let poster = Poster {
            zone_name: "z",
            enterprise_name: "e",
            url: &too_long,
        };
        assert!(poster_png(&poster).is_err());
    }

    #[test]
    fn wrap_breaks_chinese_per_character_within_the_width() {
        let name =
            "江苏省常州市新北区滨江经济开发区精细化工新材料科技股份有限公司第一分公司仓储物流";
        assert_eq!(name.chars().count(), 40);
        let scale = PxScale::from(140.0);
        let max_width = 1000.0;
        let lines = wrap(font(), scale, name, max_width);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(measure(font(), scale, line) <= max_width, "{line}");
        }
        assert_eq!(lines.concat(), name);
        // Greedy: every line but the last is full (the next character would not fit).
        let advance = measure(font(), scale, "江");
        let per_line = lines[0].chars().count();
        assert_eq!(per_line, (max_width / advance) as usize);
    }

    #[test]
    fn wrap_handles_edges() {
        let scale = PxScale::from(100.0);
        assert!(wrap(font(), scale, "", 500.0).is_empty());
        // A width smaller than one glyph still makes progress, one character a line.
        assert_eq!(wrap(font(), scale, "一二三", 10.0), vec!["一", "二", "三"]);
        // Closing punctuation does not start a line.
        let lines = wrap(font(), scale, "一二三四，五", 400.0);
        assert_eq!(lines.concat(), "一二三四，五");
        assert!(
            lines.iter().skip(1).all(|l| !l.starts_with('，')),
            "{lines:?}"
        );
        // Latin text is measured with its own (narrower) advances.
        let latin = wrap(font(), scale, "https://example.com/abc", 500.0);
        assert!(latin.len() < "https://example.com/abc".len() * 100 / 500 + 1);
    }

    #[test]
    fn fit_shrinks_long_names_to_three_lines() {
        let max_width = 2160.0;
        let short = "滨江化工有限公司";
        let (scale, lines) = fit(font(), short, 140.0, 56.0, 6.0, max_width, 3);
        assert_eq!(scale.x, 140.0);
        assert_eq!(lines, vec![short]);

        let long = "江苏省常州市新北区滨江经济开发区精细化工新材料科技股份有限公司".repeat(2);
        let (scale, lines) = fit(font(), &long, 140.0, 56.0, 6.0, max_width, 3);
        assert!(scale.x < 140.0 && scale.x >= 56.0, "{scale:?}");
        assert!(lines.len() <= 3);
        assert!(lines.iter().all(|l| measure(font(), scale, l) <= max_width));
        assert_eq!(lines.concat(), long);
        // One size larger would have needed a fourth line.
        let bigger = PxScale::from(scale.x + 6.0);
        assert!(wrap(font(), bigger, &long, max_width).len() > 3);

        // Beyond the smallest size the text is cut, with an ellipsis.
        let endless = "企".repeat(500);
        let (scale, lines) = fit(font(), &endless, 140.0, 56.0, 6.0, max_width, 3);
        assert_eq!(scale.x, 56.0);
        assert_eq!(lines.len(), 3);
        assert!(lines[2].ends_with('…'));
        assert!(lines.iter().all(|l| measure(font(), scale, l) <= max_width));
    }

    #[test]
    fn balance_evens_out_lines() {
        let scale = PxScale::from(100.0);
        let text = "一二三四五六七八九十甲乙丙丁戊己";
        let max_width = 15.5 * measure(font(), scale, "一");
        let greedy = wrap(font(), scale, text, max_width);
        assert_eq!(greedy.len(), 2);
        assert_eq!(greedy[1].chars().count(), 1);
        let balanced = balance(font(), scale, text, max_width, greedy);
        assert_eq!(balanced.len(), 2);
        assert_eq!(balanced.concat(), text);
        assert_eq!(balanced[0].chars().count(), 8);
        assert_eq!(balanced[1].chars().count(), 8);
    }

    #[test]
    fn blend_mask_clips_at_every_edge() {
        let mut canvas = Canvas::new(4, 3);
        let mask = [1.0_f32; 9];
        for (x, y) in [(-2, -2), (3, 2), (-1, 1), (2, -1), (10, 10), (-10, 0)] {
            canvas.blend_mask(&mask, 3, x, y);
        }
        #[rustfmt::skip]
        let expected = [
            0, 255, 0, 0,
            0, 0, 0, 0,
            0, 0, 255, 0,
        ];
        assert_eq!(canvas.pixels, expected);
        let mut half = Canvas::new(1, 1);
        half.blend_mask(&[0.5], 1, 0, 0);
        assert_eq!(half.pixels, [127]);
    }

    #[test]
    fn dilate_grows_coverage() {
        let (out, w) = dilate(&[0.0, 1.0, 0.0, 0.0], 2, 2, 1);
        assert_eq!(w, 3);
        assert_eq!(out, vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    #[ignore = "benchmark; run in release with --ignored --nocapture"]
    fn bench_render() {
        use std::time::Instant;
        let start = Instant::now();
        for i in 0..200 {
            let png = qr_png(&format!("{URL}{i}"), QrOptions::DEFAULT).unwrap();
            std::hint::black_box(png);
        }
        let png_ms = start.elapsed().as_secs_f64() * 1000.0 / 200.0;
        let start = Instant::now();
        for i in 0..200 {
            let svg = qr_svg(&format!("{URL}{i}"), QrOptions::DEFAULT).unwrap();
            std::hint::black_box(svg);
        }
        let svg_ms = start.elapsed().as_secs_f64() * 1000.0 / 200.0;
        let poster = Poster {
            zone_name: "江苏常州滨江经济开发区",
            enterprise_name: "常州市新北区滨江精细化工新材料科技有限公司",
            url: URL,
        };
        let _ = poster_png(&poster).unwrap(); // font parse and page faults out of the way
        let start = Instant::now();
        let mut bytes = 0;
        for _ in 0..20 {
            bytes = poster_png(&poster).unwrap().len();
        }
        let poster_ms = start.elapsed().as_secs_f64() * 1000.0 / 20.0;
        let png_bytes = qr_png(URL, QrOptions::DEFAULT).unwrap().len();
        println!("qr_png 512 px: {png_ms:.3} ms/item ({png_bytes} bytes)");
        println!("qr_svg:        {svg_ms:.3} ms/item");
        println!("poster_png:    {poster_ms:.2} ms/item ({bytes} bytes)");
    }
}
