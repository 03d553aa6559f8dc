//! `TextLayer`: a plotters backend that passes every shape through to the backend it
//! wraps and keeps text aside, measured and laid out with the embedded font (`text`).
//!
//! The renderer draws the kept runs on top once the shapes are done: as glyph paths in
//! an SVG, and in a PNG after the supersampled shapes are scaled down, so text is
//! rasterised once at the final size.

use std::cell::RefCell;
use std::rc::Rc;

use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontTransform,
};

use crate::text::{Faces, HAlign, TextRun, VAlign, Weight};

/// The runs a [`TextLayer`] kept, shared with the renderer that drains them after the
/// backend is gone.
pub(crate) type Runs = Rc<RefCell<Vec<TextRun>>>;

pub(crate) struct TextLayer<B> {
    inner: B,
    faces: &'static Faces,
    runs: Runs,
}

impl<B: DrawingBackend> TextLayer<B> {
    pub(crate) fn new(inner: B, faces: &'static Faces) -> (Self, Runs) {
        let runs = Runs::default();
        (
            TextLayer {
                inner,
                faces,
                runs: runs.clone(),
            },
            runs,
        )
    }
}

impl<B: DrawingBackend> DrawingBackend for TextLayer<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (iw, ih): (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, (iw, ih), src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let (w, h) = self
            .faces
            .measure(text, style.size() as f32, Weight::of(style.style()));
        Ok((w.ceil() as u32, h.ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha <= 0.0 || text.is_empty() {
            return Ok(());
        }
        let anchor = style.anchor();
        self.runs.borrow_mut().push(TextRun {
            text: text.to_owned(),
            size: style.size() as f32,
            weight: Weight::of(style.style()),
            rgb: color.rgb,
            alpha: color.alpha.clamp(0.0, 1.0) as f32,
            x: pos.0 as f32,
            y: pos.1 as f32,
            h: match anchor.h_pos {
                HPos::Left => HAlign::Left,
                HPos::Center => HAlign::Center,
                HPos::Right => HAlign::Right,
            },
            v: match anchor.v_pos {
                VPos::Top => VAlign::Top,
                VPos::Center => VAlign::Center,
                VPos::Bottom => VAlign::Bottom,
            },
            rotate: match style.transform() {
                FontTransform::None => 0,
                FontTransform::Rotate90 => 90,
                FontTransform::Rotate180 => 180,
                FontTransform::Rotate270 => 270,
            },
        });
        Ok(())
    }
}
