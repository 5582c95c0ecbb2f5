//! An 8-bit grayscale raster, the poster's page: filled rectangles (frame, QR modules)
//! and coverage masks blended in (glyphs).

/// An 8-bit grayscale image, white = 255.
pub(super) struct Canvas {
    width: usize,
    height: usize,
    pub(super) pixels: Vec<u8>,
}

impl Canvas {
    pub(super) fn new(width: usize, height: usize) -> Self {
        Canvas {
            width,
            height,
            pixels: vec![255; width * height],
        }
    }

    /// Fills a rectangle (clipped to the image) with `value`.
    pub(super) fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, value: u8) {
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
    pub(super) fn blend_mask(&mut self, mask: &[f32], mask_w: usize, x0: i64, y0: i64) {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

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
}
