//! A confirmation by typing, for what cannot be undone (a takeover, a
//! standby's promotion): nothing is sent until the operator has typed the
//! phrase — a node's or a job's name — and pressed enter.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::{Line, Span};

use crate::theme::Theme;

/// The phrase to type and what has been typed so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypedConfirm {
    /// What must be typed.
    pub phrase: String,
    /// Typed so far.
    pub typed: String,
    /// Enter was pressed on a text that does not match.
    pub wrong: bool,
}

/// What a key did to the confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypedKey {
    Stay,
    /// Esc or ctrl-c.
    Cancel,
    /// The phrase matched and enter was pressed: send it.
    Submit,
}

impl TypedConfirm {
    pub fn new(phrase: impl Into<String>) -> TypedConfirm {
        TypedConfirm {
            phrase: phrase.into(),
            typed: String::new(),
            wrong: false,
        }
    }

    /// Whether `typed` is the phrase: the same words, in the same case
    /// (spaces around and between them do not count).
    pub fn matches(&self, typed: &str) -> bool {
        !self.phrase.trim().is_empty()
            && typed.split_whitespace().eq(self.phrase.split_whitespace())
    }

    /// Whether what has been typed is the phrase.
    pub fn matched(&self) -> bool {
        self.matches(&self.typed)
    }

    /// Text pasted into it (control characters dropped).
    pub fn paste(&mut self, text: &str) {
        self.typed.extend(text.chars().filter(|c| !c.is_control()));
        self.wrong = false;
    }

    /// Handles one key: characters (not with ctrl or alt), backspace,
    /// ctrl-u (start again), enter, esc and ctrl-c.
    pub fn key(&mut self, key: &KeyEvent) -> TypedKey {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Esc => return TypedKey::Cancel,
            KeyCode::Char('c') if ctrl => return TypedKey::Cancel,
            KeyCode::Char('u') if ctrl => {
                self.typed.clear();
                self.wrong = false;
            }
            KeyCode::Backspace => {
                self.typed.pop();
                self.wrong = false;
            }
            KeyCode::Enter => {
                if self.matched() {
                    return TypedKey::Submit;
                }
                self.wrong = true;
            }
            KeyCode::Char(c) if !ctrl && !alt => {
                self.typed.push(c);
                self.wrong = false;
            }
            _ => {}
        }
        TypedKey::Stay
    }

    /// The prompt and the input line under it:
    ///
    /// ```text
    /// {ask}: PHRASE  then enter
    /// > typed█  ✓ {done}      (or: ✗ that is not “PHRASE” — nothing was sent)
    /// ```
    pub fn lines<'a>(&self, ask: &str, done: &str, theme: &Theme) -> Vec<Line<'a>> {
        let prompt = Line::from(vec![
            Span::styled(format!("{ask}: "), theme.text),
            Span::styled(self.phrase.clone(), theme.key),
            Span::styled("  then enter", theme.muted),
        ]);
        let matched = self.matched();
        let mut input = vec![
            Span::styled("> ", theme.key),
            Span::styled(
                self.typed.clone(),
                if matched { theme.ok } else { theme.input },
            ),
            Span::styled("█", theme.key),
        ];
        if matched {
            input.push(Span::styled(format!("  ✓ {done}"), theme.ok));
        } else if self.wrong {
            input.push(Span::styled(
                format!("  ✗ that is not “{}” — nothing was sent", self.phrase),
                theme.error,
            ));
        } else if !self.typed.is_empty() && !self.phrase.starts_with(self.typed.trim_start()) {
            input.push(Span::styled("  does not match", theme.warn));
        }
        vec![prompt, Line::from(input)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(c: &mut TypedConfirm, code: KeyCode, modifiers: KeyModifiers) -> TypedKey {
        c.key(&KeyEvent::new(code, modifiers))
    }

    fn typ(c: &mut TypedConfirm, s: &str) {
        for ch in s.chars() {
            assert_eq!(
                press(c, KeyCode::Char(ch), KeyModifiers::NONE),
                TypedKey::Stay
            );
        }
    }

    #[test]
    fn the_same_words_in_the_same_case() {
        let c = TypedConfirm::new("failover r");
        assert!(c.matches("failover r"));
        assert!(c.matches("  failover   r "));
        assert!(!c.matches("failover"));
        assert!(!c.matches("failoverr"));
        assert!(!c.matches("Failover r"));
        let b = TypedConfirm::new("walmgr_dr");
        assert!(b.matches(" walmgr_dr "));
        assert!(!b.matches("walmgr"));
        assert!(!b.matches("WALMGR_DR"));
        assert!(!TypedConfirm::new(" ").matches(""), "nothing to type");
    }

    #[test]
    fn keys() {
        let mut c = TypedConfirm::new("b");
        assert_eq!(
            press(&mut c, KeyCode::Enter, KeyModifiers::NONE),
            TypedKey::Stay
        );
        assert!(c.wrong);
        typ(&mut c, "x");
        assert!(!c.wrong, "typing clears the verdict");
        press(&mut c, KeyCode::Backspace, KeyModifiers::NONE);
        press(&mut c, KeyCode::Char('b'), KeyModifiers::ALT);
        press(&mut c, KeyCode::Char('b'), KeyModifiers::CONTROL);
        assert_eq!(c.typed, "", "no ctrl or alt characters");
        typ(&mut c, "zz");
        press(&mut c, KeyCode::Char('u'), KeyModifiers::CONTROL);
        assert_eq!(c.typed, "");
        c.paste("b\n");
        assert_eq!(c.typed, "b");
        assert_eq!(
            press(&mut c, KeyCode::Enter, KeyModifiers::NONE),
            TypedKey::Submit
        );
        assert_eq!(
            press(&mut c, KeyCode::Esc, KeyModifiers::NONE),
            TypedKey::Cancel
        );
        assert_eq!(
            press(&mut c, KeyCode::Char('c'), KeyModifiers::CONTROL),
            TypedKey::Cancel
        );
    }
}
