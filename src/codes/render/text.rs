//! Text on the poster with the bundled CJK font: measuring, wrapping Chinese between any
//! two characters, shrinking a text until it fits a number of lines (cut with "…" beyond
//! the smallest size), balancing line lengths, and drawing lines (with faux bold).

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};

use super::canvas::Canvas;

/// WenQuanYi Micro Hei (CJK + Latin), face 0 of the collection.
static FONT_BYTES: &[u8] = include_bytes!("../font/wqy-microhei.ttc");

/// The parsed font, parsed once; `None` if the bundled file could not be parsed.
pub(super) static FONT: LazyLock<Option<FontRef<'static>>> =
    LazyLock::new(|| FontRef::try_from_slice_and_index(FONT_BYTES, 0).ok());

/// Line height as a multiple of the font's pixel height.
const LINE_SPACING: f32 = 1.2;

/// Height of one line of text at `scale`, line spacing included.
pub(super) fn line_height(font: &impl Font, scale: PxScale) -> f32 {
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
pub(super) fn fit(
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
pub(super) fn balance(
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

/// Width of the widest of `lines`, each on one line (0 for none).
pub(super) fn widest(font: &impl Font, scale: PxScale, lines: &[String]) -> f32 {
    lines
        .iter()
        .map(|l| measure(font, scale, l))
        .fold(0.0_f32, f32::max)
}

/// The largest scale, at most `start`, at which every one of `lines` fits `max_width`
/// on one line (widths grow linearly with the scale).
pub(super) fn uniform_scale(
    font: &impl Font,
    lines: &[String],
    start: f32,
    max_width: f32,
) -> PxScale {
    let scale = PxScale::from(start);
    let widest = widest(font, scale, lines);
    if widest <= max_width || widest <= 0.0 {
        scale
    } else {
        PxScale::from((start * max_width / widest).floor().max(1.0))
    }
}

/// Draws `lines` centred on `center`, the first line's top at `top`; returns the y just
/// below the last line.
pub(super) fn draw_centered(
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
pub(super) fn draw_text(
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

    fn font() -> &'static FontRef<'static> {
        FONT.as_ref().expect("bundled font parses")
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
    fn dilate_grows_coverage() {
        let (out, w) = dilate(&[0.0, 1.0, 0.0, 0.0], 2, 2, 1);
        assert_eq!(w, 3);
        assert_eq!(out, vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    }
}
