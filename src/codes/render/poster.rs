//! The printable A4 poster of an enterprise code: zone name, title, enterprise name, the
//! QR code, the steps, the url and the slogan, composed on a 300 dpi page.

use ab_glyph::PxScale;

use super::canvas::Canvas;
use super::qr::Modules;
use super::text::{
    FONT, balance, draw_centered, draw_text, fit, line_height, uniform_scale, widest,
};
use super::{Ecc, ErrorKind, RenderError, encode_png};

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
    let block = widest(font, step_scale, &steps);
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
    modules.draw(
        &mut canvas,
        qr_left,
        qr_top,
        module_px,
        POSTER_QR_MARGIN as usize,
    );

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::tests::{URL, decode_png, halve, read_qr, rqrr_level};
    use super::*;

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
        let (hw, hh, half) = halve(w, h, &pixels);
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
}
