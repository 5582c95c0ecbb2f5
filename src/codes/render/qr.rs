//! QR codes: the module matrix of a content (smallest version, best mask) and its PNG
//! and SVG images.

use qrcode::{Color, QrCode};

use super::canvas::Canvas;
use super::{Ecc, ErrorKind, QrOptions, RenderError, encode_png};

/// The modules of an encoded QR code (without quiet zone), row-major, `true` = dark.
pub(super) struct Modules {
    pub(super) width: usize,
    dark: Vec<bool>,
}

impl Modules {
    /// Encodes `content` (as bytes, in the most compact QR modes) in the smallest version
    /// that holds it at level `ecc`, with the mask pattern of lowest penalty (the `qrcode`
    /// crate's choice).
    pub(super) fn encode(content: &str, ecc: Ecc) -> Result<Self, RenderError> {
        let code = QrCode::with_error_correction_level(content.as_bytes(), ecc.level())
            .map_err(|e| RenderError(ErrorKind::Content(e)))?;
        let width = code.width();
        let dark = code
            .into_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(Modules { width, dark })
    }

    /// Draws the code on a page: its quiet zone's top left corner at `(left, top)`,
    /// `module_px` pixels per module, `quiet` modules of quiet zone (left white).
    pub(super) fn draw(
        &self,
        canvas: &mut Canvas,
        left: usize,
        top: usize,
        module_px: usize,
        quiet: usize,
    ) {
        for y in 0..self.width {
            for (x, len) in self.runs(y) {
                canvas.fill_rect(
                    left + (quiet + x) * module_px,
                    top + (quiet + y) * module_px,
                    len * module_px,
                    module_px,
                    0,
                );
            }
        }
    }

    /// Dark runs of row `y` as `(first module, length)`.
    pub(super) fn runs(&self, y: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::tests::{URL, decode_png, read_qr, rqrr_level};
    use super::*;

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
}
