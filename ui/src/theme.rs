//! Colour themes. The deck chooses one (`theme = dark | light | mono`);
//! `mono` uses no colour at all, only bold, dim and reverse.

use std::fmt;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::{Deserialize, Serialize};

use crate::model::{Level, WorkerState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
    Mono,
}

impl ThemeName {
    pub const ALL: [ThemeName; 3] = [ThemeName::Dark, ThemeName::Light, ThemeName::Mono];

    pub fn as_str(self) -> &'static str {
        match self {
            ThemeName::Dark => "dark",
            ThemeName::Light => "light",
            ThemeName::Mono => "mono",
        }
    }
}

impl fmt::Display for ThemeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ThemeName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dark" => Ok(ThemeName::Dark),
            "light" => Ok(ThemeName::Light),
            "mono" | "monochrome" => Ok(ThemeName::Mono),
            _ => Err(format!("unknown theme '{s}' (dark, light or mono)")),
        }
    }
}

/// The styles every widget draws with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub name: ThemeName,
    pub text: Style,
    pub muted: Style,
    pub title: Style,
    pub border: Style,
    pub border_focus: Style,
    pub header: Style,
    pub table_header: Style,
    pub tab: Style,
    pub tab_active: Style,
    pub selected: Style,
    pub selected_unfocused: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub info: Style,
    pub key: Style,
    pub hint: Style,
    pub badge: Style,
    pub popup: Style,
    pub popup_border: Style,
    pub input: Style,
}

impl Theme {
    pub fn new(name: ThemeName) -> Theme {
        match name {
            ThemeName::Dark => Theme::dark(),
            ThemeName::Light => Theme::light(),
            ThemeName::Mono => Theme::mono(),
        }
    }

    fn dark() -> Theme {
        let bold = Modifier::BOLD;
        Theme {
            name: ThemeName::Dark,
            text: Style::new(),
            muted: Style::new().fg(Color::DarkGray),
            title: Style::new().fg(Color::Cyan).add_modifier(bold),
            border: Style::new().fg(Color::DarkGray),
            border_focus: Style::new().fg(Color::Cyan),
            header: Style::new().fg(Color::White).bg(Color::Blue),
            table_header: Style::new().fg(Color::Yellow).add_modifier(bold),
            tab: Style::new().fg(Color::Gray).bg(Color::Blue),
            tab_active: Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(bold),
            selected: Style::new().fg(Color::Black).bg(Color::Cyan),
            selected_unfocused: Style::new().bg(Color::DarkGray),
            ok: Style::new().fg(Color::Green),
            warn: Style::new().fg(Color::Yellow),
            error: Style::new().fg(Color::LightRed).add_modifier(bold),
            info: Style::new().fg(Color::Cyan),
            key: Style::new().fg(Color::Cyan).add_modifier(bold),
            hint: Style::new().fg(Color::Gray),
            badge: Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(bold),
            popup: Style::new(),
            popup_border: Style::new().fg(Color::Yellow),
            input: Style::new().fg(Color::White),
        }
    }

    fn light() -> Theme {
        let bold = Modifier::BOLD;
        Theme {
            name: ThemeName::Light,
            text: Style::new(),
            muted: Style::new().fg(Color::Gray),
            title: Style::new().fg(Color::Blue).add_modifier(bold),
            border: Style::new().fg(Color::Gray),
            border_focus: Style::new().fg(Color::Blue),
            header: Style::new().fg(Color::Black).bg(Color::LightBlue),
            table_header: Style::new().fg(Color::Magenta).add_modifier(bold),
            tab: Style::new().fg(Color::Black).bg(Color::LightBlue),
            tab_active: Style::new()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(bold),
            selected: Style::new().fg(Color::White).bg(Color::Blue),
            selected_unfocused: Style::new().bg(Color::Gray),
            ok: Style::new().fg(Color::Green),
            warn: Style::new().fg(Color::Magenta),
            error: Style::new().fg(Color::Red).add_modifier(bold),
            info: Style::new().fg(Color::Blue),
            key: Style::new().fg(Color::Blue).add_modifier(bold),
            hint: Style::new().fg(Color::Black),
            badge: Style::new()
                .fg(Color::White)
                .bg(Color::Magenta)
                .add_modifier(bold),
            popup: Style::new(),
            popup_border: Style::new().fg(Color::Magenta),
            input: Style::new().fg(Color::Black),
        }
    }

    fn mono() -> Theme {
        let s = Style::new();
        Theme {
            name: ThemeName::Mono,
            text: s,
            muted: s.add_modifier(Modifier::DIM),
            title: s.add_modifier(Modifier::BOLD),
            border: s,
            border_focus: s.add_modifier(Modifier::BOLD),
            header: s.add_modifier(Modifier::REVERSED),
            table_header: s.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            tab: s.add_modifier(Modifier::REVERSED),
            tab_active: s.add_modifier(Modifier::BOLD),
            selected: s.add_modifier(Modifier::REVERSED),
            selected_unfocused: s.add_modifier(Modifier::UNDERLINED),
            ok: s,
            warn: s.add_modifier(Modifier::BOLD),
            error: s.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            info: s,
            key: s.add_modifier(Modifier::BOLD),
            hint: s,
            badge: s.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            popup: s,
            popup_border: s.add_modifier(Modifier::BOLD),
            input: s,
        }
    }

    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Trace | Level::Debug => self.muted,
            Level::Info => self.text,
            Level::Warn => self.warn,
            Level::Error => self.error,
        }
    }

    pub fn worker_state(&self, state: WorkerState) -> Style {
        match state {
            WorkerState::Running | WorkerState::Idle => self.ok,
            WorkerState::Starting | WorkerState::Paused => self.warn,
            WorkerState::Stopped => self.muted,
            WorkerState::Backoff | WorkerState::Failed => self.error,
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::new(ThemeName::Dark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in ThemeName::ALL {
            assert_eq!(t.as_str().parse::<ThemeName>(), Ok(t));
        }
        assert_eq!(
            "pink".parse::<ThemeName>(),
            Err("unknown theme 'pink' (dark, light or mono)".to_string())
        );
    }

    #[test]
    fn mono_has_no_colour() {
        let t = Theme::new(ThemeName::Mono);
        for s in [t.text, t.selected, t.error, t.warn, t.ok, t.header, t.badge] {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
    }
}
