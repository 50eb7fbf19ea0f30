//! Splitting a long text into Telegram messages: at most 4096 characters each (counted in
//! UTF-16 code units, as Telegram does, so emoji and other astral characters count twice),
//! cut at paragraph boundaries first, then lines, then spaces, and only as a last resort
//! inside a word.

/// Telegram's limit for one message's text.
pub const MAX_MESSAGE_UNITS: usize = 4096;

fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Splits `text` into parts of at most `max` UTF-16 units, preferring to cut between
/// paragraphs, then lines, then words. Parts are trimmed of the separators they were cut at;
/// no part is empty; concatenating parts with the separators restores the words in order.
pub fn split_message(text: &str, max: usize) -> Vec<String> {
    let max = max.max(2);
    let mut parts = Vec::new();
    let mut current = String::new();
    for paragraph in text.split("\n\n") {
        push_piece(&mut parts, &mut current, paragraph, "\n\n", max);
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts.into_iter().map(|p| p.trim_matches('\n').to_owned()).filter(|p| !p.trim().is_empty()).collect()
}

/// Appends `piece` (joined by `sep`) to `current`, flushing `current` to `parts` when full and
/// breaking `piece` itself down when it alone is too long.
fn push_piece(parts: &mut Vec<String>, current: &mut String, piece: &str, sep: &str, max: usize) {
    let joined = if current.is_empty() { units(piece) } else { units(current) + units(sep) + units(piece) };
    if joined <= max {
        if !current.is_empty() {
            current.push_str(sep);
        }
        current.push_str(piece);
        return;
    }
    if !current.is_empty() {
        parts.push(std::mem::take(current));
    }
    if units(piece) <= max {
        current.push_str(piece);
        return;
    }
    // The piece alone is too long: break it at the next finer boundary.
    match sep {
        "\n\n" => piece.split('\n').for_each(|line| push_piece(parts, current, line, "\n", max)),
        "\n" => piece.split(' ').for_each(|word| push_piece(parts, current, word, " ", max)),
        _ => hard_split(parts, current, piece, max),
    }
}

/// Cuts a single word longer than `max` at character boundaries.
fn hard_split(parts: &mut Vec<String>, current: &mut String, word: &str, max: usize) {
    for ch in word.chars() {
        if units(current) + ch.len_utf16() > max {
            parts.push(std::mem::take(current));
        }
        current.push(ch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(parts: &[String], max: usize) {
        for p in parts {
            assert!(units(p) <= max, "part of {} units", units(p));
            assert!(!p.trim().is_empty());
        }
    }

    #[test]
    fn short_text_is_one_message() {
        assert_eq!(split_message("Hello\n\nworld", 4096), ["Hello\n\nworld"]);
        assert!(split_message("", 4096).is_empty());
        assert!(split_message("\n\n\n", 4096).is_empty());
    }

    #[test]
    fn paragraphs_are_kept_whole_when_they_fit() {
        let a = "a".repeat(3000);
        let b = "b".repeat(3000);
        let parts = split_message(&format!("{a}\n\n{b}"), 4096);
        assert_eq!(parts, [a, b]);
    }

    #[test]
    fn a_paragraph_of_exactly_the_limit_is_one_message() {
        let p = "x".repeat(4096);
        let parts = split_message(&format!("{p}\n\nnext"), 4096);
        assert_eq!(parts, [p, "next".to_owned()]);
    }

    #[test]
    fn a_long_paragraph_is_cut_between_lines_then_words() {
        let line = "word ".repeat(300); // 1500 chars
        let paragraph = [line.trim_end(); 4].join("\n"); // ~6000 chars, one paragraph
        let parts = split_message(&paragraph, 4096);
        check(&parts, 4096);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.split('\n').all(|l| l == line.trim_end())), "lines are not cut");
    }

    #[test]
    fn a_single_line_longer_than_the_limit_is_cut_at_spaces_or_inside_a_word() {
        let words = "слово ".repeat(1000); // 6000 chars of Cyrillic
        let parts = split_message(words.trim_end(), 4096);
        check(&parts, 4096);
        assert_eq!(parts.join(" "), words.trim_end(), "nothing lost, order kept");
        let blob = "z".repeat(9000);
        let parts = split_message(&blob, 4096);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [4096, 4096, 808]);
    }

    #[test]
    fn emoji_count_as_two_units() {
        let text = "😀".repeat(3000); // 3000 chars, 6000 UTF-16 units
        let parts = split_message(&text, 4096);
        check(&parts, 4096);
        assert_eq!(parts[0].chars().count(), 2048);
        assert_eq!(parts.concat(), text);
    }
}
