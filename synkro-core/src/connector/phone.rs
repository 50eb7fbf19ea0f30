//! Phone normalisation: the key that joins CRM deals to chat dialogs.

/// Normalises a free-form phone number as DESIGN.md section 7 says: digits only; 10 digits get
/// a leading 7; 11 digits starting with 8 become 7…; longer numbers keep their last 11 digits.
/// Returns `None` when fewer than 10 digits remain (not a usable phone).
///
/// ```
/// use synkro_core::connector::normalize_phone;
/// assert_eq!(normalize_phone("+7 (900) 123-45-67").as_deref(), Some("79001234567"));
/// assert_eq!(normalize_phone("8 900 123 45 67").as_deref(), Some("79001234567"));
/// assert_eq!(normalize_phone("900-123-45-67").as_deref(), Some("79001234567"));
/// assert_eq!(normalize_phone("ext. 12"), None);
/// ```
pub fn normalize_phone(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        0..=9 => None,
        10 => Some(format!("7{digits}")),
        11 if digits.starts_with('8') => Some(format!("7{}", &digits[1..])),
        11 => Some(digits),
        n => Some(digits[n - 11..].to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_phone;

    #[test]
    fn assorted_formats_normalise_to_the_same_key() {
        let same = ["+7 900 123-45-67", "8(900)1234567", "79001234567", "9001234567", "tel: +7-900-123-45-67"];
        for raw in same {
            assert_eq!(normalize_phone(raw).as_deref(), Some("79001234567"), "{raw}");
        }
        assert_eq!(normalize_phone("0079001234567").as_deref(), Some("79001234567"), "longer keeps the last 11");
        assert_eq!(normalize_phone("+1 415 555 0100").as_deref(), Some("14155550100"));
        assert_eq!(normalize_phone("12345"), None);
        assert_eq!(normalize_phone(""), None);
    }
}
