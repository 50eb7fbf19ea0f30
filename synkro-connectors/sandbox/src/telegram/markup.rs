//! Telegram `parse_mode` checks: HTML, MarkdownV2 and legacy Markdown, returning the visible text.

/// The text a user would see, or the `can't parse entities` reason Telegram gives.
pub(crate) fn visible_text(text: &str, parse_mode: Option<&str>) -> Result<String, String> {
    match parse_mode.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => Ok(text.to_owned()),
        Some("html") => html(text),
        Some("markdownv2") => markdown_v2(text),
        Some("markdown") => markdown_legacy(text),
        Some(_) => Err("unsupported parse_mode".to_owned()),
    }
}

const HTML_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
];

fn html(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut stack: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(ch) = rest.chars().next() {
        let offset = text.len() - rest.len();
        match ch {
            '<' => {
                let Some(end) = rest.find('>') else {
                    return Err(format!("Can't find end of the tag at byte offset {offset}"));
                };
                let inner = &rest[1..end];
                if let Some(name) = inner.strip_prefix('/') {
                    let name = name.trim().to_ascii_lowercase();
                    match stack.pop() {
                        Some(open) if open == name => {}
                        Some(open) => {
                            return Err(format!(
                                "Unmatched end tag at byte offset {offset}, expected \"</{open}>\", found \"</{name}>\""
                            ));
                        }
                        None => return Err(format!("Unexpected end tag at byte offset {offset}")),
                    }
                } else {
                    let name = inner.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
                    if !HTML_TAGS.contains(&name.as_str()) {
                        return Err(format!("Unsupported start tag \"{name}\" at byte offset {offset}"));
                    }
                    stack.push(name);
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let entity = rest[1..].find(';').filter(|&p| p <= 10).map(|p| &rest[1..=p]);
                let decoded = entity.and_then(|e| match e {
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "amp" => Some('&'),
                    "quot" => Some('"'),
                    _ => e
                        .strip_prefix("#x")
                        .map_or_else(
                            || e.strip_prefix('#').and_then(|d| d.parse().ok()),
                            |h| u32::from_str_radix(h, 16).ok(),
                        )
                        .and_then(char::from_u32),
                });
                match (decoded, entity) {
                    (Some(c), Some(e)) => {
                        out.push(c);
                        rest = &rest[e.len() + 2..];
                    }
                    _ => {
                        out.push('&');
                        rest = &rest[1..];
                    }
                }
            }
            _ => {
                out.push(ch);
                rest = &rest[ch.len_utf8()..];
            }
        }
    }
    match stack.pop() {
        Some(open) => Err(format!("Can't find end tag corresponding to start tag \"{open}\"")),
        None => Ok(out),
    }
}

fn reserved(c: char) -> String {
    format!("Character '{c}' is reserved and must be escaped with the preceding '\\'")
}

fn markdown_v2(text: &str) -> Result<String, String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = String::with_capacity(text.len());
    let mut open: Vec<(&'static str, usize)> = Vec::new();
    let mut i = 0;
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    while i < chars.len() {
        let (offset, c) = chars[i];
        let line_start = i == 0 || at(i - 1) == Some('\n');
        match c {
            '\\' => {
                if let Some(next) = at(i + 1) {
                    out.push(next);
                }
                i += 2;
                continue;
            }
            '`' => {
                let fence = at(i + 1) == Some('`') && at(i + 2) == Some('`');
                let width = if fence { 3 } else { 1 };
                let mut k = i + width;
                let mut closed = false;
                while k < chars.len() {
                    match chars[k].1 {
                        '\\' => k += 2,
                        '`' if !fence || (at(k + 1) == Some('`') && at(k + 2) == Some('`')) => {
                            closed = true;
                            break;
                        }
                        other => {
                            out.push(other);
                            k += 1;
                        }
                    }
                }
                if !closed {
                    return Err(format!(
                        "Can't find end of {} entity at byte offset {offset}",
                        if fence { "Pre" } else { "Code" }
                    ));
                }
                i = k + width;
                continue;
            }
            '*' | '_' | '~' | '|' => {
                let (marker, width) = match (c, at(i + 1)) {
                    ('_', Some('_')) => ("__", 2),
                    ('|', Some('|')) => ("||", 2),
                    ('|', _) => return Err(reserved('|')),
                    ('*', _) => ("*", 1),
                    ('_', _) => ("_", 1),
                    _ => ("~", 1),
                };
                if open.last().is_some_and(|(m, _)| *m == marker) {
                    open.pop();
                } else {
                    open.push((marker, offset));
                }
                i += width;
                continue;
            }
            '[' => open.push(("[", offset)),
            ']' => {
                if open.last().is_none_or(|(m, _)| *m != "[") {
                    return Err(reserved(']'));
                }
                open.pop();
                if at(i + 1) != Some('(') {
                    return Err(reserved(']'));
                }
                let mut k = i + 2;
                while k < chars.len() && chars[k].1 != ')' {
                    k += if chars[k].1 == '\\' { 2 } else { 1 };
                }
                if k >= chars.len() {
                    return Err(format!("Can't find end of a URL at byte offset {offset}"));
                }
                i = k + 1;
                continue;
            }
            '>' if line_start => {}
            '>' | '#' | '+' | '-' | '=' | '{' | '}' | '.' | '!' | '(' | ')' => return Err(reserved(c)),
            _ => out.push(c),
        }
        i += 1;
    }
    match open.pop() {
        Some((marker, offset)) => {
            Err(format!("Can't find end of the entity \"{marker}\" starting at byte offset {offset}"))
        }
        None => Ok(out),
    }
}

fn markdown_legacy(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<(char, usize)> = None;
    for (offset, c) in text.char_indices() {
        match (c, open) {
            ('*' | '_' | '`', None) => open = Some((c, offset)),
            ('*' | '_' | '`', Some((m, _))) if m == c => open = None,
            _ => out.push(c),
        }
    }
    match open {
        Some((_, offset)) => Err(format!("Can't find end of the entity starting at byte offset {offset}")),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::visible_text;

    #[test]
    fn html_is_checked_and_stripped() {
        assert_eq!(visible_text("<b>Итог</b> &lt;5 &amp; A & B", Some("HTML")).as_deref(), Ok("Итог <5 & A & B"));
        assert!(visible_text("<b>open", Some("HTML")).is_err_and(|e| e.contains("start tag \"b\"")));
        assert!(visible_text("a <x> b", Some("HTML")).is_err_and(|e| e.contains("Unsupported start tag")));
        assert!(visible_text("<i>x</b>", Some("HTML")).is_err());
        assert_eq!(visible_text("<a href=\"https://x\">link</a>", Some("html")).as_deref(), Ok("link"));
    }

    #[test]
    fn markdown_v2_requires_escapes() {
        assert_eq!(visible_text("*bold* and \\. done\\!", Some("MarkdownV2")).as_deref(), Ok("bold and . done!"));
        assert!(visible_text("Total: 5.", Some("MarkdownV2")).is_err_and(|e| e.contains("'.' is reserved")));
        assert!(visible_text("*open", Some("MarkdownV2")).is_err());
        assert_eq!(visible_text("[site](https://a.b/c)", Some("MarkdownV2")).as_deref(), Ok("site"));
        assert_eq!(visible_text("`a.b`", Some("MarkdownV2")).as_deref(), Ok("a.b"));
        assert_eq!(visible_text("no format.", None).as_deref(), Ok("no format."));
        assert!(visible_text("x", Some("Bogus")).is_err());
    }
}
