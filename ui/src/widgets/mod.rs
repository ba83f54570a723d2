//! Pieces every view draws with.

pub mod table;
pub mod typed;
pub mod wrap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Widget};

use crate::theme::Theme;

/// A bordered block, highlighted when focused.
pub fn block<'a>(title: impl Into<Line<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    let border = if focused {
        theme.border_focus
    } else {
        theme.border
    };
    Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(title.into().style(theme.title))
}

/// A rectangle of `w`×`h` centred in `area` (clipped to it).
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// [`popup`] with a one-column margin inside the frame on either side:
/// the area for the popup's text.
pub fn popup_padded(area: Rect, buf: &mut Buffer, title: &str, theme: &Theme) -> Rect {
    let inner = popup(area, buf, title, theme);
    Rect::new(
        inner.x.saturating_add(1),
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    )
}

/// Clears `area` and draws a popup frame; returns the inner area.
pub fn popup(area: Rect, buf: &mut Buffer, title: &str, theme: &Theme) -> Rect {
    Clear.render(area, buf);
    let b = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.popup_border)
        .style(theme.popup)
        .title(Line::from(format!(" {title} ")).style(theme.title));
    let inner = b.inner(area);
    b.render(area, buf);
    inner
}

/// Markers (the most serious first) in one cell: the first one's label,
/// `+n` for the others (`DEAD +2`), and the first; `None` for none.
pub fn first_marker<M: Copy>(
    markers: &[M],
    label: impl Fn(M) -> &'static str,
) -> Option<(String, M)> {
    let (&first, rest) = markers.split_first()?;
    let text = match rest.len() {
        0 => label(first).to_string(),
        n => format!("{} +{n}", label(first)),
    };
    Some((text, first))
}

/// `label value` pairs for detail panes.
pub fn kv<'a>(label: &'a str, value: impl Into<Vec<Span<'a>>>, theme: &Theme) -> Line<'a> {
    let mut spans = vec![Span::styled(format!("{label:<10} "), theme.muted)];
    spans.extend(value.into());
    Line::from(spans)
}

/// A line in one style.
pub fn styled<'a>(s: impl Into<String>, style: Style) -> Line<'a> {
    Line::from(Span::styled(s.into(), style))
}
