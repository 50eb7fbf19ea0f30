//! Fake language models: the deterministic reply both the OpenAI and the Gemini fakes give.

pub(crate) mod gemini;
pub(crate) mod openai;
mod writer;

/// Output-token limits below this truncate the reply (finish reason `length` / `MAX_TOKENS`).
const MIN_USEFUL_TOKENS: u64 = 20;

/// Characters in the excerpt of the last user message that the reply repeats.
const EXCERPT_CHARS: usize = 200;

/// A generated answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Completion {
    pub(crate) text: String,
    pub(crate) truncated: bool,
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
}

/// Rough token count: a token per four characters.
fn tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

/// The reply to a conversation: for a Synkro report context, a report in four sections built
/// from it, and for a follow-up question, an answer quoting the report (see `writer`), in the
/// language of the `system` instructions; for anything else `Report: <first 200 chars of the
/// last user message>` followed by a line naming the model and the number of lines in that
/// message. `prompt_chars` is the size of every input message together.
pub(crate) fn complete(
    model: &str,
    system: &str,
    last_user: &str,
    prompt_chars: usize,
    max_tokens: Option<u64>,
) -> Completion {
    let full = writer::write(model, system, last_user).unwrap_or_else(|| {
        let excerpt: String = last_user.chars().take(EXCERPT_CHARS).collect();
        let lines = last_user.lines().count();
        format!("Report: {excerpt}\n\n(sandbox {model}: {lines} lines of context)")
    });
    let (text, truncated) = match max_tokens {
        Some(max) if max < MIN_USEFUL_TOKENS => {
            let keep = usize::try_from(max.saturating_mul(4)).unwrap_or(usize::MAX);
            (full.chars().take(keep).collect(), true)
        }
        _ => (full, false),
    };
    let completion_tokens = tokens(text.chars().count());
    Completion { text, truncated, prompt_tokens: tokens(prompt_chars).max(1), completion_tokens }
}

#[cfg(test)]
mod tests {
    use super::complete;

    #[test]
    fn small_limits_truncate() {
        let full = complete("m", "", "line one\nline two", 17, Some(800));
        assert!(full.text.starts_with("Report: line one\nline two"));
        assert!(full.text.contains("2 lines of context"));
        assert!(!full.truncated);
        let cut = complete("m", "", "line one\nline two", 17, Some(3));
        assert!(cut.truncated);
        assert_eq!(cut.text.chars().count(), 12);
        assert_eq!(cut.completion_tokens, 3);
    }
}
