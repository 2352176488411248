//! Validated values: names, metadata, emails, keys. Limits follow Mainflux.

use crate::DomainError;

pub const MAX_NAME_CHARS: usize = 1024;
pub const MAX_KEY_CHARS: usize = 4096;
pub const MIN_PASSWORD_CHARS: usize = 8;

pub use crate::metadata::Metadata;

/// Names are text a person reads: no control characters (NUL among them, which
/// PostgreSQL's `text` refuses).
pub fn check_name(name: Option<&str>) -> Result<(), DomainError> {
    match name {
        Some(n) if n.chars().count() > MAX_NAME_CHARS => Err(DomainError::Invalid(format!(
            "name is longer than {MAX_NAME_CHARS} characters"
        ))),
        Some(n) if has_control(n) => Err(DomainError::Invalid(
            "name must not contain control characters".into(),
        )),
        _ => Ok(()),
    }
}

pub fn check_metadata(metadata: Option<&Metadata>) -> Result<(), DomainError> {
    metadata.map_or(Ok(()), Metadata::check)
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Checked on the plaintext key before it is hashed and sealed.
pub fn check_key(key: &str) -> Result<(), DomainError> {
    if key.is_empty() {
        return Err(DomainError::Invalid("key must not be empty".into()));
    }
    if has_control(key) {
        return Err(DomainError::Invalid(
            "key must not contain control characters".into(),
        ));
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(DomainError::Invalid(format!(
            "key is longer than {MAX_KEY_CHARS} characters"
        )));
    }
    Ok(())
}

/// Checked on the plaintext password before it is hashed.
pub fn check_password(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DomainError::Invalid(format!(
            "password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Mainflux's email rule, ASCII only: one `@`; a local part of 1–64 allowed characters with
/// no leading, trailing or doubled dot; a host of at most 255 characters with at least one
/// dot, no empty label and a top-level label of 2–24 characters.
pub fn check_email(email: &str) -> Result<(), DomainError> {
    let invalid = || DomainError::Invalid("invalid email".into());
    let (local, host) = email.split_once('@').ok_or_else(invalid)?;
    if host.contains('@') || !valid_local(local) || !valid_host(host) {
        return Err(invalid());
    }
    Ok(())
}

fn valid_local(local: &str) -> bool {
    const SPECIAL: &str = "!#$%&'*+/=?^_`{|}~.-";
    (1..=64).contains(&local.len())
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SPECIAL.contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

fn valid_host(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let tld = labels.last().copied().unwrap_or_default();
    host.len() <= 255
        && labels.len() >= 2
        && labels.iter().all(|l| valid_label(l))
        && (2..=24).contains(&tld.len())
}

fn valid_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_mainflux_rules() {
        let cases = [
            ("user@example.com", true),
            ("a.b+c@mail.example.org", true),
            ("@example.com", false),
            ("user@", false),
            ("user@example", false),
            ("user@@example.com", false),
            (".user@example.com", false),
            ("us..er@example.com", false),
            ("user@ex..com", false),
            ("user@example.c", false),
            ("us er@example.com", false),
        ];
        for (email, ok) in cases {
            assert_eq!(check_email(email).is_ok(), ok, "{email}");
        }
    }

    #[test]
    fn names_keys_and_passwords_have_bounds() {
        assert!(check_name(Some(&"n".repeat(1024))).is_ok());
        assert!(check_name(Some(&"n".repeat(1025))).is_err());
        assert!(check_key("").is_err());
        assert!(check_key(&"k".repeat(4097)).is_err());
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        for bad in ["a\0b", "tab\there", "line\n", "del\u{7f}"] {
            assert!(check_name(Some(bad)).is_err(), "{bad:?}");
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(Some("Küche 2")).is_ok());
        assert!(check_email("a\0@example.com").is_err());
    }
}
