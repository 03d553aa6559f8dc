//! Text in the charts: the typeface shipped in `assets/fonts/` (Inter, SIL OFL 1.1),
//! measuring runs, and drawing them, as glyph outlines in SVG and as anti-aliased
//! coverage in an RGB buffer.
//!
//! Text never depends on the fonts of the machine that renders or views a chart: an SVG
//! carries each glyph it uses as a path, a PNG is rasterised here. plotters' own text
//! drawing is bypassed (see `layer`): it places glyphs on whole pixels and off the
//! baseline.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, OutlineCurve, PxScale, point};
use plotters::style::FontStyle;

use crate::ChartError;

static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/Inter-Regular.otf");
static SEMIBOLD: &[u8] = include_bytes!("../../../assets/fonts/Inter-SemiBold.otf");

/// The family name the faces are registered under with plotters.
pub(crate) const FAMILY: &str = "Inter";

/// Regular for labels, semibold for titles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

impl Weight {
    pub(crate) fn of(style: FontStyle) -> Self {
        match style {
            FontStyle::Bold => Weight::Bold,
            _ => Weight::Regular,
        }
    }
}

pub(crate) struct Face {
    font: FontRef<'static>,
    upem: f32,
    ascent: f32,
    descent: f32,
}

impl Face {
    fn new(bytes: &'static [u8]) -> Result<Face, String> {
        let font = FontRef::try_from_slice(bytes).map_err(|e| e.to_string())?;
        let upem = font.units_per_em().unwrap_or(1000.0);
        Ok(Face {
            ascent: font.ascent_unscaled(),
            descent: font.descent_unscaled(),
            upem,
            font,
        })
    }

    /// Glyphs of `text` with their pen positions (px from the start), and the width.
    fn layout(&self, text: &str, size: f32) -> (Vec<(GlyphId, f32)>, f32) {
        let scale = size / self.upem;
        let mut glyphs = Vec::with_capacity(text.len());
        let mut x = 0.0;
        let mut prev: Option<GlyphId> = None;
        for c in text.chars() {
            let id = self.font.glyph_id(c);
            if let Some(p) = prev {
                x += self.font.kern_unscaled(p, id) * scale;
            }
            glyphs.push((id, x));
            x += self.font.h_advance_unscaled(id) * scale;
            prev = Some(id);
        }
        (glyphs, x)
    }

    /// How `text` fits in `max_w` px: whole, or as its longest prefix (a byte length) that
    /// fits followed by `tail`, or not even as `tail` alone (`Cut(None)`). One pass over the
    /// glyphs that stops once the prefix alone is too wide, so the cost is the length that
    /// fits, not the length of `text`: a 70,000-character name costs what a short one does.
    fn fit_prefix(&self, text: &str, tail: char, size: f32, max_w: f32) -> Fit {
        let scale = size / self.upem;
        let tail_id = self.font.glyph_id(tail);
        let tail_w = self.font.h_advance_unscaled(tail_id) * scale;
        let mut best = (tail_w <= max_w).then_some(0);
        let mut x = 0.0;
        let mut prev: Option<GlyphId> = None;
        for (i, c) in text.char_indices() {
            let id = self.font.glyph_id(c);
            if let Some(p) = prev {
                x += self.font.kern_unscaled(p, id) * scale;
            }
            x += self.font.h_advance_unscaled(id) * scale;
            if x > max_w {
                return Fit::Cut(best);
            }
            let with_tail = x + self.font.kern_unscaled(id, tail_id) * scale + tail_w;
            if with_tail <= max_w {
                best = Some(i + c.len_utf8());
            }
            prev = Some(id);
        }
        Fit::Whole
    }

    /// Height of a line box: ascent to descent.
    fn line_height(&self, size: f32) -> f32 {
        (self.ascent - self.descent) * size / self.upem
    }
}

pub(crate) struct Faces {
    regular: Face,
    bold: Face,
}

impl Faces {
    pub(crate) fn get(&self, w: Weight) -> &Face {
        match w {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    /// Width and height of `text` at `size` px, the box anchors refer to.
    pub(crate) fn measure(&self, text: &str, size: f32, w: Weight) -> (f32, f32) {
        let face = self.get(w);
        (face.layout(text, size).1, face.line_height(size))
    }
}

/// What [`Face::fit_prefix`] found.
enum Fit {
    Whole,
    Cut(Option<usize>),
}

impl Faces {
    /// `text` as it fits in `max_w` px at `size`: whole when it fits, else its longest
    /// prefix that fits with an ellipsis, else the ellipsis alone. Linear in what fits.
    pub(crate) fn fit(&self, text: &str, size: f32, w: Weight, max_w: f32) -> String {
        match self.get(w).fit_prefix(text, '…', size, max_w) {
            Fit::Whole => text.to_owned(),
            Fit::Cut(Some(end)) => format!("{}…", &text[..end]),
            Fit::Cut(None) => "…".to_owned(),
        }
    }
}

/// The embedded faces, loaded once. They are also registered with plotters under
/// [`FAMILY`], so any text plotters lays out itself uses the same font.
pub(crate) fn faces() -> Result<&'static Faces, ChartError> {
    static FACES: OnceLock<Result<Faces, String>> = OnceLock::new();
    FACES
        .get_or_init(|| {
            let faces = Faces {
                regular: Face::new(REGULAR)?,
                bold: Face::new(SEMIBOLD)?,
            };
            // Cannot fail once ab_glyph has read the same bytes above.
            let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, REGULAR);
            let _ = plotters::style::register_font(FAMILY, FontStyle::Bold, SEMIBOLD);
            Ok(faces)
        })
        .as_ref()
        .map_err(|e| ChartError::Font(e.clone()))
}

/// Where a run's anchor point sits on its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HAlign {
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VAlign {
    Top,
    Center,
    Bottom,
}

/// One piece of text to draw: plotters hands these to `layer::TextLayer`, which keeps
/// them to draw on top of everything else once the shapes are done.
#[derive(Debug, Clone)]
pub(crate) struct TextRun {
    pub text: String,
    /// Em size in px.
    pub size: f32,
    pub weight: Weight,
    pub rgb: (u8, u8, u8),
    pub alpha: f32,
    /// The anchor point in px.
    pub x: f32,
    pub y: f32,
    pub h: HAlign,
    pub v: VAlign,
    /// Clockwise rotation about the anchor: 0, 90, 180 or 270 degrees.
    pub rotate: u16,
}

impl TextRun {
    /// The same run in a canvas `1/factor` the size (supersampled shapes, final text).
    pub(crate) fn scaled_down(mut self, factor: f32) -> TextRun {
        self.size /= factor;
        self.x /= factor;
        self.y /= factor;
        self
    }

    /// Glyphs, and the baseline origin relative to the anchor before rotation.
    fn place(&self, faces: &Faces) -> (Vec<(GlyphId, f32)>, f32, f32) {
        let face = faces.get(self.weight);
        let (glyphs, width) = face.layout(&self.text, self.size);
        let ascent = face.ascent * self.size / face.upem;
        let height = face.line_height(self.size);
        let dx = match self.h {
            HAlign::Left => 0.0,
            HAlign::Center => -width / 2.0,
            HAlign::Right => -width,
        };
        let dy = match self.v {
            VAlign::Top => ascent,
            VAlign::Center => ascent - height / 2.0,
            VAlign::Bottom => ascent - height,
        };
        (glyphs, dx, dy)
    }

    /// Maps a point relative to the anchor through the rotation.
    fn rotate(&self, x: f32, y: f32) -> (f32, f32) {
        match self.rotate {
            90 => (-y, x),
            180 => (-x, -y),
            270 => (y, -x),
            _ => (x, y),
        }
    }
}

/// Draws `run` into a packed RGB buffer of `width × height` pixels, blending its
/// coverage over what is there.
pub(crate) fn draw_rgb(faces: &Faces, run: &TextRun, buf: &mut [u8], width: u32, height: u32) {
    let face = faces.get(run.weight);
    let (glyphs, dx, dy) = run.place(faces);
    // ab_glyph's scale is the ascent-to-descent height, not the em.
    let px = run.size * (face.ascent - face.descent) / face.upem;
    // Unrotated text is placed in canvas pixels, its baseline on a whole pixel row
    // (sharper stems); rotated text is drawn about its anchor and turned pixel by pixel.
    let upright = run.rotate == 0;
    let (ox, oy) = if upright {
        (run.x + dx, (run.y + dy).round())
    } else {
        (dx, dy)
    };
    let (r, g, b) = run.rgb;
    for (id, x) in glyphs {
        let glyph = id.with_scale_and_position(PxScale::from(px), point(ox + x, oy));
        let Some(outlined) = face.font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, coverage| {
            let a = coverage.min(1.0) * run.alpha;
            if a <= 0.0 {
                return;
            }
            let (px, py) = if upright {
                (bounds.min.x + gx as f32, bounds.min.y + gy as f32)
            } else {
                // The pixel's centre relative to the anchor, rotated, back to a pixel.
                let (rx, ry) = run.rotate(
                    bounds.min.x + gx as f32 + 0.5,
                    bounds.min.y + gy as f32 + 0.5,
                );
                ((run.x + rx).floor(), (run.y + ry).floor())
            };
            if px < 0.0 || py < 0.0 || px >= width as f32 || py >= height as f32 {
                return;
            }
            let i = (py as usize * width as usize + px as usize) * 3;
            for (k, c) in [r, g, b].into_iter().enumerate() {
                let d = f32::from(buf[i + k]);
                buf[i + k] = (d + (f32::from(c) - d) * a).round() as u8;
            }
        });
    }
}

/// Text runs as SVG: each glyph used once as a path in `<defs>` (in font units), each
/// run a group of `<use>`s scaled to its size.
#[derive(Default)]
pub(crate) struct SvgText {
    defs: BTreeMap<(Weight, u16), String>,
    body: String,
}

impl SvgText {
    pub(crate) fn add(&mut self, faces: &Faces, run: &TextRun) {
        let face = faces.get(run.weight);
        let (glyphs, dx, dy) = run.place(faces);
        let scale = run.size / face.upem;
        let w = match run.weight {
            Weight::Regular => 'r',
            Weight::Bold => 'b',
        };
        let (r, g, b) = run.rgb;
        let _ = write!(self.body, r##"<g fill="#{r:02x}{g:02x}{b:02x}""##,);
        if run.alpha < 1.0 {
            let _ = write!(self.body, r#" fill-opacity="{:.3}""#, run.alpha);
        }
        let _ = write!(
            self.body,
            r#" transform="translate({} {}){} scale({})"><title>{}</title>"#,
            num(run.x),
            num(run.y),
            if run.rotate == 0 {
                String::new()
            } else {
                format!(" rotate({})", run.rotate)
            },
            num_fine(scale),
            escape(&run.text),
        );
        for (id, x) in glyphs {
            let key = (run.weight, id.0);
            if let std::collections::btree_map::Entry::Vacant(slot) = self.defs.entry(key) {
                let Some(path) = glyph_path(face, id) else {
                    continue;
                };
                slot.insert(path);
            }
            let _ = write!(
                self.body,
                r##"<use href="#{w}{}" x="{}" y="{}"/>"##,
                id.0,
                num((dx + x) / scale),
                num(dy / scale),
            );
        }
        self.body.push_str("</g>");
    }

    /// `<defs>` and the runs, to go just before `</svg>`.
    pub(crate) fn finish(self) -> String {
        let mut out = String::with_capacity(self.body.len() + self.defs.len() * 400 + 64);
        out.push_str("<defs>");
        for ((weight, id), d) in &self.defs {
            let w = match weight {
                Weight::Regular => 'r',
                Weight::Bold => 'b',
            };
            let _ = write!(out, r#"<path id="{w}{id}" d="{d}"/>"#);
        }
        out.push_str("</defs><g class=\"text\">");
        out.push_str(&self.body);
        out.push_str("</g>");
        out
    }
}

/// A glyph's outline as path data in font units, y pointing down; `None` for blanks.
fn glyph_path(face: &Face, id: GlyphId) -> Option<String> {
    let outline = face.font.outline(id)?;
    if outline.curves.is_empty() {
        return None;
    }
    let mut d = String::new();
    let mut at: Option<ab_glyph::Point> = None;
    let p = |d: &mut String, pt: ab_glyph::Point| {
        let _ = write!(d, "{} {}", num(pt.x), num(-pt.y));
    };
    for curve in &outline.curves {
        let start = match curve {
            OutlineCurve::Line(a, _) | OutlineCurve::Quad(a, _, _) | OutlineCurve::Cubic(a, ..) => {
                *a
            }
        };
        if at != Some(start) {
            if at.is_some() {
                d.push('Z');
            }
            d.push('M');
            p(&mut d, start);
        }
        match curve {
            OutlineCurve::Line(_, b) => {
                d.push('L');
                p(&mut d, *b);
                at = Some(*b);
            }
            OutlineCurve::Quad(_, c, b) => {
                d.push('Q');
                p(&mut d, *c);
                d.push(' ');
                p(&mut d, *b);
                at = Some(*b);
            }
            OutlineCurve::Cubic(_, c1, c2, b) => {
                d.push('C');
                p(&mut d, *c1);
                d.push(' ');
                p(&mut d, *c2);
                d.push(' ');
                p(&mut d, *b);
                at = Some(*b);
            }
        }
    }
    d.push('Z');
    Some(d)
}

/// A coordinate with at most one decimal, without a trailing `.0`.
fn num(v: f32) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// A scale factor: enough digits to place a glyph within a hundredth of a pixel.
fn num_fine(v: f32) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Text for an XML text node or attribute.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_faces_load_and_measure() {
        let f = faces().expect("the embedded fonts parse");
        let (w, h) = f.measure("events/s", 12.0, Weight::Regular);
        assert!((35.0..70.0).contains(&w), "width {w}");
        assert!((12.0..16.0).contains(&h), "height {h}");
        let (wb, _) = f.measure("events/s", 12.0, Weight::Bold);
        assert!(wb > w, "semibold is wider: {wb} vs {w}");
        assert_eq!(f.measure("", 12.0, Weight::Regular).0, 0.0);
    }

    /// The cut the legend made before fitting went linear: re-measure after each char.
    fn fit_by_remeasuring(f: &Faces, s: &str, size: f32, w: Weight, max_w: f32) -> String {
        if f.measure(s, size, w).0 <= max_w {
            return s.to_owned();
        }
        let mut chars: Vec<char> = s.chars().collect();
        while !chars.is_empty() {
            chars.pop();
            let cut: String = chars.iter().collect::<String>() + "…";
            if f.measure(&cut, size, w).0 <= max_w {
                return cut;
            }
        }
        "…".to_owned()
    }

    #[test]
    fn fitting_cuts_where_remeasuring_did() {
        let f = faces().expect("fonts");
        let texts = [
            "ticker",
            "wss://example.com/a/very/long/path/to/events",
            "AVAWAVAW To Ta",
            "é漢字ß",
        ];
        for text in texts {
            for max_w in [0.0, 5.0, 20.0, 60.0, 150.0, 400.0] {
                assert_eq!(
                    f.fit(text, 12.0, Weight::Bold, max_w),
                    fit_by_remeasuring(f, text, 12.0, Weight::Bold, max_w),
                    "{text:?} in {max_w} px"
                );
            }
        }
    }

    #[test]
    fn a_70000_character_name_fits_as_a_short_prefix() {
        let f = faces().expect("fonts");
        let long = "n".repeat(70_000);
        let cut = f.fit(&long, 12.0, Weight::Bold, 200.0);
        assert!(cut.ends_with('…'));
        assert!(
            cut.chars().count() < 100,
            "{} characters",
            cut.chars().count()
        );
        assert!(f.measure(&cut, 12.0, Weight::Bold).0 <= 200.0);
    }

    #[test]
    fn glyph_paths_close_every_contour() {
        let f = faces().expect("fonts");
        let face = f.get(Weight::Regular);
        let o = glyph_path(face, face.font.glyph_id('o')).expect("o has an outline");
        assert!(o.starts_with('M'));
        assert_eq!(
            o.matches('M').count(),
            2,
            "o has an outer and an inner contour: {o}"
        );
        assert_eq!(o.matches('Z').count(), 2);
        assert!(glyph_path(face, face.font.glyph_id(' ')).is_none());
    }

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(escape(r#"a<b>&"c"'"#), "a&lt;b&gt;&amp;&quot;c&quot;&apos;");
        assert_eq!(escape("x\u{1}y"), "x\u{FFFD}y");
    }
}
