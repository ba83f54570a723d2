//! Word wrap for text the console lays out itself (popups, detail panes):
//! greedy, at spaces, a word longer than a line cut, styles kept. The
//! lines it returns are the lines drawn, so their count is the height.
//! A no-break space ([`NBSP`]) joins two words: no line is cut there, and
//! it is drawn as a space.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use crate::fmt::width;

/// The narrowest a wrapped text gets (narrower, lines run over).
const MIN_WIDTH: usize = 8;

/// Joins two words into one that is never cut between them (a marker
/// label like `NO BACKUP`); drawn as a space.
pub const NBSP: char = '\u{a0}';

/// A character and its style.
type Cell = (char, Style);

/// `text` cut into lines of at most `w` cells (at least 8); each of its
/// own lines starts a new one.
pub fn wrap(text: &str, w: usize) -> Vec<String> {
    wrap_cells(&cells(&[Span::raw(text)]), w)
        .into_iter()
        .map(|l| {
            l.into_iter()
                .map(|(c, _)| if c == NBSP { ' ' } else { c })
                .collect()
        })
        .collect()
}

/// `body` wrapped to `w` cells after `first` (a label, a marker), which
/// is never cut: the first line starts with it, the others are indented
/// to line up under the body.
pub fn wrap_after<'a>(first: Vec<Span<'a>>, body: &[Span<'_>], w: usize) -> Vec<Line<'a>> {
    let indent: usize = first.iter().map(|s| width(&s.content)).sum();
    let mut first = Some(first);
    wrap_cells(&cells(body), w.saturating_sub(indent))
        .into_iter()
        .map(|part| {
            let mut spans = first
                .take()
                .unwrap_or_else(|| vec![Span::raw(" ".repeat(indent))]);
            spans.extend(runs(&part));
            Line::from(spans)
        })
        .collect()
}

fn cells(spans: &[Span<'_>]) -> Vec<Cell> {
    spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
        .collect()
}

/// Consecutive cells of one style as one span.
fn runs<'a>(cells: &[Cell]) -> Vec<Span<'a>> {
    let mut out: Vec<Span> = Vec::new();
    let mut text = String::new();
    let mut style = None;
    for &(c, s) in cells {
        if style.is_some_and(|st| st != s) {
            out.push(Span::styled(
                std::mem::take(&mut text),
                style.unwrap_or_default(),
            ));
        }
        style = Some(s);
        text.push(if c == NBSP { ' ' } else { c });
    }
    if let Some(s) = style {
        out.push(Span::styled(text, s));
    }
    out
}

fn cells_width(cells: &[Cell]) -> usize {
    cells.iter().map(|(c, _)| c.width().unwrap_or(0)).sum()
}

/// The lines of `text` (as `str::lines` splits them), each wrapped.
fn wrap_cells(text: &[Cell], w: usize) -> Vec<Vec<Cell>> {
    let w = w.max(MIN_WIDTH);
    let mut paras: Vec<&[Cell]> = text.split(|(c, _)| *c == '\n').collect();
    if text.last().is_some_and(|(c, _)| *c == '\n') {
        paras.pop();
    }
    let mut out = Vec::new();
    for para in paras {
        let para = match para.last() {
            Some(('\r', _)) => &para[..para.len() - 1],
            _ => para,
        };
        wrap_para(para, w, &mut out);
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

/// One line of text, greedily: a word goes on the line when it fits after
/// a space, else it starts the next; a word wider than `w` is cut.
fn wrap_para(para: &[Cell], w: usize, out: &mut Vec<Vec<Cell>>) {
    let mut cur: Vec<Cell> = Vec::new();
    let mut cur_w = 0;
    // The space before the word (its style joins the two).
    let mut space: Option<Cell> = None;
    let mut words = para.split(|(c, _)| *c == ' ').peekable();
    let mut at = 0;
    while let Some(word) = words.next() {
        at += word.len();
        let ww = cells_width(word);
        if !cur.is_empty() && cur_w + 1 + ww > w {
            out.push(std::mem::take(&mut cur));
            cur_w = 0;
        }
        if ww > w {
            // A word longer than the line: cut it.
            let mut piece: Vec<Cell> = Vec::new();
            let mut pw = 0;
            for &cell in word {
                let cw = cell.0.width().unwrap_or(0);
                if !piece.is_empty() && pw + cw > w {
                    out.push(std::mem::take(&mut piece));
                    pw = 0;
                }
                piece.push(cell);
                pw += cw;
            }
            cur = piece;
            cur_w = pw;
        } else {
            if !cur.is_empty() {
                cur.push(space.unwrap_or((' ', Style::default())));
                cur_w += 1;
            }
            cur.extend_from_slice(word);
            cur_w += ww;
        }
        if words.peek().is_some() {
            space = para.get(at).copied();
            at += 1;
        }
    }
    out.push(cur);
}

#[cfg(test)]
mod tests {
    use ratatui::style::Modifier;

    use super::*;

    #[test]
    fn wrapping() {
        assert_eq!(wrap("aaa bbb ccc", 8), ["aaa bbb", "ccc"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("abcdefghijkl", 8), ["abcdefgh", "ijkl"]);
        assert_eq!(wrap("aaa abcdefghijkl b", 8), ["aaa", "abcdefgh", "ijkl b"]);
        assert_eq!(wrap("one\ntwo\n", 10), ["one", "two"]);
        assert_eq!(wrap("a  b", 10), ["a  b"]);
        assert_eq!(wrap("aaaa bbbb", 2), ["aaaa", "bbbb"], "at least 8 wide");
        assert_eq!(
            wrap("aaaa bb\u{a0}cc", 8),
            ["aaaa", "bb cc"],
            "no break at NBSP"
        );
    }

    #[test]
    fn after_a_label_with_styles_kept() {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let lines = wrap_after(
            vec![Span::raw("label ")],
            &[Span::raw("one two "), Span::styled("three four", bold)],
            16,
        );
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, ["label one two", "      three four"]);
        assert_eq!(lines[1].spans[1], Span::styled("three four", bold));
        // Nothing after the label: the label alone.
        let lines = wrap_after(vec![Span::raw("x ")], &[], 16);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].to_string(), "x ");
    }
}
