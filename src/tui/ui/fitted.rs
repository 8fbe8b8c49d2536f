//! Drawing a line that may not fit: a line cut at the edge ends in `…`,
//! so a cut name or figure is never taken for the whole of it.

use ratatui::buffer::Buffer;
use ratatui::text::Line;
use unicode_width::UnicodeWidthStr;

/// Draws `line` in at most `width` cells from (`x`, `y`); one wider than
/// that has `…` in its last cell, in the style of the text it replaces.
pub(crate) fn set_line_fitted(buf: &mut Buffer, x: u16, y: u16, line: &Line<'_>, width: u16) {
    buf.set_line(x, y, line, width);
    if width == 0 || line.width() <= usize::from(width) {
        return;
    }
    let last = x + width - 1;
    // The last cell may be the right half of a wide character: the
    // ellipsis then takes its left half, and the right half is blanked.
    let at = if last > x && buf[(last - 1, y)].symbol().width() > 1 { last - 1 } else { last };
    let style = buf[(at, y)].style();
    buf[(at, y)].set_symbol("…").set_style(style);
    if at < last {
        buf[(last, y)].set_symbol(" ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;

    fn drawn(line: &str, width: u16) -> String {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 1));
        set_line_fitted(&mut buf, 0, 0, &Line::raw(line), width);
        (0..12).map(|x| buf[(x, 0)].symbol().to_owned()).collect::<String>().trim_end().to_owned()
    }

    #[test]
    fn a_cut_line_ends_in_an_ellipsis_and_a_whole_one_does_not() {
        assert_eq!(drawn("futex_wait_queue", 8), "futex_w…");
        assert_eq!(drawn("whole", 5), "whole");
        assert_eq!(drawn("short", 8), "short");
        // (The right half of a wide character reads as a space here.)
        assert_eq!(drawn("名前名前名前", 5), "名 前 …", "the third does not fit: its cell takes the …");
        assert_eq!(drawn("a名前b", 5), "a名 …", "the last cell is half of 前: the … takes the whole of it");
        assert_eq!(drawn("anything", 0), "");
    }
}
