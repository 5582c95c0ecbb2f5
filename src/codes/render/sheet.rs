//! The printable sheet of activation codes: A4 pages at 300 dpi, a header with the
//! instructions, and one card per person (name, user name, unit, the code in large
//! type and its QR code), eight to a page, to be cut apart and handed out.

use ab_glyph::{Font, PxScale};

use super::canvas::Canvas;
use super::poster::{POSTER_HEIGHT, POSTER_WIDTH};
use super::qr::Modules;
use super::text::{FONT, draw_text, fit, line_height, uniform_scale};
use super::{Ecc, ErrorKind, RenderError, encode_png};

/// One person's card.
#[derive(Clone, Copy, Debug)]
pub struct SheetCard<'a> {
    /// The name shown in the console.
    pub display_name: &'a str,
    /// The login name.
    pub username: &'a str,
    /// Role and unit (`企业联系人 · 福州第一化工有限公司`).
    pub unit: &'a str,
    /// The code as printed.
    pub code: &'a str,
    /// What the QR code opens.
    pub url: &'a str,
}

/// What a sheet shows.
#[derive(Clone, Copy, Debug)]
pub struct Sheet<'a> {
    /// The zone's name, in the header.
    pub zone_name: &'a str,
    /// The instructions under the title (where to go, until when the codes work).
    pub instructions: &'a str,
    /// The cards, in order.
    pub cards: &'a [SheetCard<'a>],
}

/// Cards on one page: two columns of four.
pub const CARDS_PER_PAGE: usize = 8;
const COLUMNS: usize = 2;
const ROWS: usize = CARDS_PER_PAGE / COLUMNS;
/// Page margin on every side.
const MARGIN: usize = 120;
/// Where the cards begin, below the header.
const CARDS_TOP: usize = 420;
/// White space inside a card's frame.
const PADDING: usize = 36;
/// Wanted QR width on a card (quiet zone included).
const CARD_QR_PX: usize = 480;
/// Quiet zone of a card's QR code, in modules.
const QR_QUIET: usize = 4;
/// Gray of the cards' cutting frames.
const FRAME_GRAY: u8 = 150;

/// Renders the sheet as one PNG per page (2480 x 3508, 300 dpi, 8-bit grayscale), a
/// page for every [`CARDS_PER_PAGE`] cards (one empty page for none). Fails only if a
/// URL is too long for a QR code (or the font or encoder fail).
pub fn activation_sheet_pngs(sheet: &Sheet<'_>) -> Result<Vec<Vec<u8>>, RenderError> {
    let mut pages = Vec::new();
    let chunks: Vec<&[SheetCard<'_>]> = if sheet.cards.is_empty() {
        vec![&[]]
    } else {
        sheet.cards.chunks(CARDS_PER_PAGE).collect()
    };
    let count = chunks.len();
    for (index, cards) in chunks.into_iter().enumerate() {
        pages.push(page_png(sheet, cards, index + 1, count)?);
    }
    Ok(pages)
}

/// Where the `index`-th card of a page lies (`index` below [`CARDS_PER_PAGE`]): x,
/// y, width and height in pixels; cards fill the rows left to right.
pub fn card_box(index: usize) -> (usize, usize, usize, usize) {
    let (w, h) = (POSTER_WIDTH as usize, POSTER_HEIGHT as usize);
    let card_w = (w - 2 * MARGIN) / COLUMNS;
    let card_h = (h - MARGIN - CARDS_TOP) / ROWS;
    let x = MARGIN + (index % COLUMNS) * card_w;
    let y = CARDS_TOP + (index / COLUMNS) * card_h;
    (x, y, card_w, card_h)
}

fn page_png(
    sheet: &Sheet<'_>,
    cards: &[SheetCard<'_>],
    number: usize,
    count: usize,
) -> Result<Vec<u8>, RenderError> {
    let font = FONT.as_ref().ok_or(RenderError(ErrorKind::Font))?;
    let (w, h) = (POSTER_WIDTH as usize, POSTER_HEIGHT as usize);
    let mut canvas = Canvas::new(w, h);
    let width = (w - 2 * MARGIN) as f32;
    let left = MARGIN as f32;

    let title = format!("{} · 账号激活码（第 {number}/{count} 页）", sheet.zone_name);
    let (scale, lines) = fit(font, &title, 72.0, 40.0, 4.0, width, 1);
    let mut y = draw_lines(&mut canvas, font, scale, &lines, left, MARGIN as f32, 2);
    y += 16.0;
    let (scale, lines) = fit(font, sheet.instructions, 40.0, 26.0, 2.0, width, 3);
    draw_lines(&mut canvas, font, scale, &lines, left, y, 0);

    for (index, card) in cards.iter().enumerate() {
        let (x, y, card_w, card_h) = card_box(index);
        draw_card(&mut canvas, card, x, y, card_w, card_h)?;
    }
    encode_png(
        POSTER_WIDTH,
        POSTER_HEIGHT,
        png::BitDepth::Eight,
        &canvas.pixels,
    )
}

/// Draws one card in the box at `(x, y)`: the frame to cut along, the QR code on the
/// left, the texts on the right.
fn draw_card(
    canvas: &mut Canvas,
    card: &SheetCard<'_>,
    x: usize,
    y: usize,
    w: usize,
    h: usize,
) -> Result<(), RenderError> {
    let font = FONT.as_ref().ok_or(RenderError(ErrorKind::Font))?;
    canvas.fill_rect(x, y, w, 2, FRAME_GRAY);
    canvas.fill_rect(x, y + h - 2, w, 2, FRAME_GRAY);
    canvas.fill_rect(x, y, 2, h, FRAME_GRAY);
    canvas.fill_rect(x + w - 2, y, 2, h, FRAME_GRAY);

    let modules = Modules::encode(card.url, Ecc::M)?;
    let room = CARD_QR_PX.min(h.saturating_sub(2 * PADDING));
    let module_px = (room / (modules.width + 2 * QR_QUIET)).max(1);
    let side = (modules.width + 2 * QR_QUIET) * module_px;
    let qr_top = y + h.saturating_sub(side) / 2;
    modules.draw(canvas, x + PADDING, qr_top, module_px, QR_QUIET);

    let text_left = (x + PADDING + room + PADDING) as f32;
    let text_width = (x + w).saturating_sub(PADDING) as f32 - text_left;
    let mut top = (y + PADDING + 20) as f32;
    let (scale, lines) = fit(font, card.display_name, 64.0, 36.0, 4.0, text_width, 2);
    top = draw_lines(canvas, font, scale, &lines, text_left, top, 2) + 10.0;
    let username = format!("用户名：{}", card.username);
    let (scale, lines) = fit(font, &username, 40.0, 24.0, 2.0, text_width, 1);
    top = draw_lines(canvas, font, scale, &lines, text_left, top, 0) + 6.0;
    let (scale, lines) = fit(font, card.unit, 36.0, 24.0, 2.0, text_width, 3);
    top = draw_lines(canvas, font, scale, &lines, text_left, top, 0) + 30.0;
    top = draw_lines(
        canvas,
        font,
        PxScale::from(34.0),
        &["激活码".to_owned()],
        text_left,
        top,
        0,
    );
    let code = [card.code.to_owned()];
    let scale = uniform_scale(font, &code, 84.0, text_width);
    draw_lines(canvas, font, scale, &code, text_left, top, 3);
    Ok(())
}

/// Draws lines left-aligned from `(left, top)`; returns the y below the last.
fn draw_lines(
    canvas: &mut Canvas,
    font: &impl Font,
    scale: PxScale,
    lines: &[String],
    left: f32,
    top: f32,
    bold: usize,
) -> f32 {
    let height = line_height(font, scale);
    let mut y = top;
    for line in lines {
        draw_text(canvas, font, scale, line, left, y, bold);
        y += height;
    }
    y
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::tests::{decode_png, read_qr};
    use super::*;

    #[test]
    fn every_card_of_a_page_scans_to_its_url() {
        let urls: Vec<String> = (0..CARDS_PER_PAGE)
            .map(|i| {
                format!(
                    "https://truckpass.example.cn/console/activate?u=contact-{i}&c=K7QM-3XPA-9RT{i}"
                )
            })
            .collect();
        let cards: Vec<SheetCard<'_>> = urls
            .iter()
            .map(|url| SheetCard {
                display_name: "常州市新北区滨江精细化工新材料科技有限公司联系人",
                username: "ent-91320411ma1xyz0123",
                unit: "企业联系人 · 常州市新北区滨江精细化工新材料科技有限公司",
                code: "K7QM-3XPA-9RTD",
                url,
            })
            .collect();
        let pages = activation_sheet_pngs(&Sheet {
            zone_name: "江苏常州滨江经济开发区",
            instructions: "请扫码或访问 https://truckpass.example.cn/console/activate，输入用户名和激活码并设置密码。",
            cards: &cards,
        })
        .unwrap();
        assert_eq!(pages.len(), 1);
        let (w, h, pixels) = decode_png(&pages[0]);
        assert_eq!((w, h), (2480, 3508));
        // As a phone frames one card: each card on its own scans to its URL.
        for (index, url) in urls.iter().enumerate() {
            let (x0, y0, cw, ch) = card_box(index);
            let card: Vec<u8> = (y0..y0 + ch)
                .flat_map(|y| &pixels[y * w + x0..y * w + x0 + cw])
                .copied()
                .collect();
            let found: Vec<String> = read_qr(cw, ch, &card)
                .into_iter()
                .map(|(_, content)| content)
                .collect();
            assert_eq!(&found, std::slice::from_ref(url), "card {index}");
        }
    }

    #[test]
    fn nine_cards_take_two_pages_and_none_one() {
        let card = SheetCard {
            display_name: "张伟",
            username: "zhang.wei",
            unit: "摸排人员 · HG行业",
            code: "K7QM-3XPA-9RTD",
            url: "https://example.cn/console/activate?u=zhang.wei&c=K7QM-3XPA-9RTD",
        };
        let nine = [card; 9];
        for (cards, pages) in [(&nine[..], 2), (&[][..], 1)] {
            let sheet = Sheet {
                zone_name: "",
                instructions: "",
                cards,
            };
            assert_eq!(activation_sheet_pngs(&sheet).unwrap().len(), pages);
        }
    }
}
