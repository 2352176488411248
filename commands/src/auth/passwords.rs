//! argon2id with the crate's recommended parameters (19 MiB, t=2). Both calls are slow on
//! purpose: run them on a blocking thread.

use argon2::{Argon2, PasswordHash as Phc, PasswordHasher, PasswordVerifier};
use domain::ids::PasswordHash;

pub fn hash_password(password: &str) -> PasswordHash {
    // Hashing fails only if the OS RNG fails, which leaves nothing sensible to do.
    let phc = Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2id hashing with an OS salt");
    PasswordHash(phc.to_string())
}

pub fn verify_password(password: &str, hash: &PasswordHash) -> bool {
    Phc::new(&hash.0).is_ok_and(|phc| {
        Argon2::default()
            .verify_password(password.as_bytes(), &phc)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse");
        assert!(hash.0.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("x", &PasswordHash("garbage".into())));
    }
}
