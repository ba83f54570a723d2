//! Splits a command line into words. Names may be quoted: `"billing
//! events"` (doubled `""` inside), values too: `'3 seconds'`. `,` `=` and
//! `;` are words of their own outside quotes.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The word with its quotes removed and doubled quotes undone.
    pub text: String,
    /// Byte offsets in the input, quotes included.
    pub start: usize,
    pub end: usize,
    pub quote: Option<char>,
    /// False for a quote still open at the end of the input.
    pub closed: bool,
    /// `,` `=` or `;`.
    pub punct: bool,
}

impl Token {
    /// An unquoted word equal to `w`, ignoring case.
    pub fn is_word(&self, w: &str) -> bool {
        !self.punct && self.quote.is_none() && self.text.eq_ignore_ascii_case(w)
    }

    pub fn is_punct(&self, p: &str) -> bool {
        self.punct && self.text == p
    }

    /// A word that can name something (not punctuation).
    pub fn is_value(&self) -> bool {
        !self.punct
    }
}

fn is_punct(c: char) -> bool {
    matches!(c, ',' | '=' | ';')
}

pub fn lex(input: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = input.char_indices().collect();
    let at = |j: usize| chars.get(j).map_or(input.len(), |&(p, _)| p);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if is_punct(c) {
            out.push(Token {
                text: c.to_string(),
                start,
                end: at(i + 1),
                quote: None,
                closed: true,
                punct: true,
            });
            i += 1;
        } else if c == '"' || c == '\'' {
            let mut text = String::new();
            let mut j = i + 1;
            let mut closed = false;
            while j < chars.len() {
                let d = chars[j].1;
                if d == c {
                    if chars.get(j + 1).map(|x| x.1) == Some(c) {
                        text.push(c);
                        j += 2;
                        continue;
                    }
                    closed = true;
                    j += 1;
                    break;
                }
                text.push(d);
                j += 1;
            }
            out.push(Token {
                text,
                start,
                end: at(j),
                quote: Some(c),
                closed,
                punct: false,
            });
            i = j;
        } else {
            let mut j = i;
            while j < chars.len() && !chars[j].1.is_whitespace() && !is_punct(chars[j].1) {
                j += 1;
            }
            out.push(Token {
                text: input[start..at(j)].to_string(),
                start,
                end: at(j),
                quote: None,
                closed: true,
                punct: false,
            });
            i = j;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        lex(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn words_quotes_and_punctuation() {
        assert_eq!(
            texts("drop  queue orders;"),
            ["drop", "queue", "orders", ";"]
        );
        assert_eq!(
            texts("alter queue \"billing events\" set max_lag='3 s',paused=1"),
            [
                "alter",
                "queue",
                "billing events",
                "set",
                "max_lag",
                "=",
                "3 s",
                ",",
                "paused",
                "=",
                "1"
            ]
        );
        assert_eq!(texts(r#"show queue "a""b""#), ["show", "queue", "a\"b"]);
        assert_eq!(texts("x 'it''s'"), ["x", "it's"]);
        assert_eq!(texts("in shop@db1:5432"), ["in", "shop@db1:5432"]);
    }

    #[test]
    fn offsets_and_open_quotes() {
        let t = lex("tick \"my q");
        assert_eq!(t[1].text, "my q");
        assert_eq!((t[1].start, t[1].end), (5, 10));
        assert!(!t[1].closed);
        let t = lex("é \"ü\"");
        assert_eq!((t[1].start, t[1].end), (3, 7));
        assert!(t[1].closed);
    }
}
