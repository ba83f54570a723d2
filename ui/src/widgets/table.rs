//! A scrolling table that builds only the rows it shows, so a deck with
//! thousands of queues renders as fast as one with ten; and drops the
//! least important columns when the terminal is narrow.

use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::block;
use crate::keys::Intent;
use crate::theme::Theme;

/// A column: its title, width, alignment, and how soon it goes when
/// space is short (0 stays longest).
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub title: &'static str,
    pub width: u16,
    pub right: bool,
    pub prio: u8,
    /// Takes the space left over (names, messages).
    pub grow: bool,
}

impl Col {
    pub const fn left(title: &'static str, width: u16, prio: u8) -> Col {
        Col {
            title,
            width,
            right: false,
            prio,
            grow: false,
        }
    }

    pub const fn right(title: &'static str, width: u16, prio: u8) -> Col {
        Col {
            title,
            width,
            right: true,
            prio,
            grow: false,
        }
    }

    pub const fn grow(title: &'static str, width: u16, prio: u8) -> Col {
        Col {
            title,
            width,
            right: false,
            prio,
            grow: true,
        }
    }
}

/// The columns that fit in `width`, in their original order. The most
/// important column is always kept.
pub fn fit(cols: &[Col], width: u16) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cols.len()).collect();
    order.sort_by_key(|&i| (cols[i].prio, i));
    let mut used = 0u32;
    let mut keep = Vec::new();
    for (n, i) in order.into_iter().enumerate() {
        let need = u32::from(cols[i].width) + u32::from(n > 0);
        if n > 0 && used + need > u32::from(width) {
            continue;
        }
        used += need;
        keep.push(i);
    }
    keep.sort_unstable();
    keep
}

/// The rows shown in a viewport of `height`: starts at `offset`, moved as
/// little as needed to show `selected`, never leaving blank rows below
/// when there is more above.
pub fn visible_range(
    len: usize,
    selected: Option<usize>,
    offset: usize,
    height: usize,
) -> Range<usize> {
    if height == 0 || len == 0 {
        return 0..0;
    }
    let mut start = offset.min(len.saturating_sub(height));
    if let Some(s) = selected.filter(|&s| s < len) {
        if s < start {
            start = s;
        } else if s >= start + height {
            start = s + 1 - height;
        }
    }
    start..(start + height).min(len)
}

/// Selection and scroll position of a table. The app moves it; rendering
/// only reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nav {
    pub selected: usize,
    pub offset: usize,
    pub len: usize,
}

impl Nav {
    pub fn selected(&self) -> Option<usize> {
        (self.selected < self.len).then_some(self.selected)
    }

    /// New row count; keeps the selection in range.
    pub fn set_len(&mut self, len: usize) {
        self.len = len;
        if self.selected >= len {
            self.selected = len.saturating_sub(1);
        }
    }

    pub fn select(&mut self, i: usize) {
        self.selected = i.min(self.len.saturating_sub(1));
    }

    /// Applies a movement intent with a viewport of `height` rows; false
    /// when it is not a movement.
    pub fn apply(&mut self, intent: Intent, height: usize) -> bool {
        let page = height.max(1);
        let last = self.len.saturating_sub(1);
        self.selected = match intent {
            Intent::Up => self.selected.saturating_sub(1),
            Intent::Down => (self.selected + 1).min(last),
            Intent::PageUp => self.selected.saturating_sub(page),
            Intent::PageDown => (self.selected + page).min(last),
            Intent::Top => 0,
            Intent::Bottom => last,
            _ => return false,
        };
        self.scroll_into_view(height);
        true
    }

    pub fn scroll_into_view(&mut self, height: usize) {
        self.offset = visible_range(self.len, self.selected(), self.offset, height).start;
    }
}

/// Rows in the viewport of a bordered table with a header row.
pub fn viewport(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(3))
}

/// Rows of `row_height` lines in the viewport of a bordered table with a
/// header row ([`DataTable::render_tall`]).
pub fn viewport_tall(area: Rect, row_height: u16) -> usize {
    usize::from(area.height.saturating_sub(3) / row_height.max(1))
}

/// A table to draw: rows come from a closure called for visible rows only.
pub struct DataTable<'a> {
    pub title: Line<'a>,
    pub cols: &'a [Col],
    pub nav: Nav,
    /// Whether the selection is shown (tables without a cursor: false).
    pub cursor: bool,
    pub focused: bool,
    pub theme: &'a Theme,
    /// Shown when there are no rows.
    pub empty: &'a str,
}

impl DataTable<'_> {
    pub fn render<'r>(
        &self,
        area: Rect,
        buf: &mut Buffer,
        row: impl Fn(usize) -> (Vec<Cell<'r>>, Style),
    ) {
        self.render_tall(area, buf, 1, row);
    }

    /// Like [`DataTable::render`], with rows `row_height` lines tall (a
    /// row group: each cell holds up to that many lines).
    pub fn render_tall<'r>(
        &self,
        area: Rect,
        buf: &mut Buffer,
        row_height: u16,
        row: impl Fn(usize) -> (Vec<Cell<'r>>, Style),
    ) {
        let row_height = row_height.max(1);
        let b = block(self.title.clone(), self.focused, self.theme);
        let inner = b.inner(area);
        b.render(area, buf);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        if self.nav.len == 0 {
            Paragraph::new(Line::from(self.empty).style(self.theme.muted)).render(inner, buf);
            return;
        }
        let keep = fit(self.cols, inner.width);
        let widths: Vec<Constraint> = keep
            .iter()
            .map(|&i| {
                let c = &self.cols[i];
                if c.grow {
                    Constraint::Fill(c.width)
                } else {
                    Constraint::Length(c.width)
                }
            })
            .collect();
        let header = Row::new(keep.iter().map(|&i| {
            let c = &self.cols[i];
            let l = Line::from(c.title);
            Cell::from(if c.right { l.right_aligned() } else { l })
        }))
        .style(self.theme.table_header);
        let height = usize::from(inner.height.saturating_sub(1) / row_height);
        let selected = self.cursor.then(|| self.nav.selected()).flatten();
        let range = visible_range(self.nav.len, selected, self.nav.offset, height);
        let rows = range.map(|i| {
            let (mut cells, style) = row(i);
            let picked: Vec<Cell> = keep
                .iter()
                .map(|&k| {
                    if k < cells.len() {
                        std::mem::take(&mut cells[k])
                    } else {
                        Cell::default()
                    }
                })
                .collect();
            let style = if selected == Some(i) {
                if self.focused {
                    self.theme.selected
                } else {
                    style.patch(self.theme.selected_unfocused)
                }
            } else {
                style
            };
            Row::new(picked).style(style).height(row_height)
        });
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .render(inner, buf);
    }
}

/// A right-aligned cell.
pub fn rcell<'a>(s: impl Into<String>, style: Style) -> Cell<'a> {
    Cell::from(Line::from(s.into()).right_aligned().style(style))
}

/// A left-aligned cell.
pub fn lcell<'a>(s: impl Into<String>, style: Style) -> Cell<'a> {
    Cell::from(Line::from(s.into()).style(style))
}

/// `Queues 12/1000` with the filter noted.
pub fn title(name: &str, nav: &Nav, total: usize, filter: &str) -> String {
    let pos = if nav.len == 0 {
        0
    } else {
        nav.selected.min(nav.len - 1) + 1
    };
    let mut t = format!(" {name} {pos}/{}", nav.len);
    if nav.len != total {
        t.push_str(&format!(" of {total}"));
    }
    if !filter.is_empty() {
        t.push_str(&format!(" · filter \"{filter}\""));
    }
    t.push(' ');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_follows_selection() {
        assert_eq!(visible_range(100, Some(0), 0, 10), 0..10);
        assert_eq!(visible_range(100, Some(15), 0, 10), 6..16);
        assert_eq!(visible_range(100, Some(3), 6, 10), 3..13);
        assert_eq!(visible_range(5, Some(4), 3, 10), 0..5);
        assert_eq!(visible_range(100, None, 95, 10), 90..100);
        assert_eq!(visible_range(0, Some(0), 0, 10), 0..0);
        assert_eq!(visible_range(10, Some(3), 0, 0), 0..0);
    }

    #[test]
    fn nav_moves_and_clamps() {
        let mut n = Nav::default();
        n.set_len(50);
        assert!(n.apply(Intent::PageDown, 10));
        assert_eq!((n.selected, n.offset), (10, 1));
        n.apply(Intent::Bottom, 10);
        assert_eq!((n.selected, n.offset), (49, 40));
        n.apply(Intent::Up, 10);
        assert_eq!((n.selected, n.offset), (48, 40));
        n.apply(Intent::Top, 10);
        assert_eq!((n.selected, n.offset), (0, 0));
        n.set_len(0);
        assert_eq!(n.selected(), None);
        assert!(!n.apply(Intent::Tick, 10));
    }

    #[test]
    fn columns_fit_by_priority() {
        let cols = [
            Col::grow("name", 10, 0),
            Col::right("a", 5, 2),
            Col::right("b", 5, 1),
            Col::right("c", 5, 3),
        ];
        assert_eq!(fit(&cols, 40), vec![0, 1, 2, 3]);
        assert_eq!(fit(&cols, 22), vec![0, 1, 2]);
        assert_eq!(fit(&cols, 16), vec![0, 2]);
        assert_eq!(fit(&cols, 3), vec![0]);
    }
}
