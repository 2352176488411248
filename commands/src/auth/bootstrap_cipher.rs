//! The secure bootstrap fetch (`GET /things/bootstrap/secure/{external_id}`): the device's
//! external key arrives encrypted, and its config leaves encrypted, under `FF_BOOTSTRAP_KEY`.
//!
//! Mainflux uses AES-CFB, which only hides: a flipped bit in the ciphertext flips the same
//! bit of the plaintext unnoticed, and its default key is public. We use AES-256-GCM, which
//! also authenticates: a tampered request is refused and a tampered answer fails on the
//! device. The external id is the associated data, so a sealed key or config replayed for
//! another device does not open. Wire format, both ways: `nonce (12) ‖ ciphertext ‖ tag
//! (16)`, hex in the `Authorization` header, raw bytes in the answer.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

#[derive(Debug, thiserror::Error)]
#[error("FF_BOOTSTRAP_KEY must be 64 hex characters (32 bytes)")]
pub struct BadBootstrapKey;

/// The system's random source failed: no nonce, so nothing may be sealed.
#[derive(Debug, thiserror::Error)]
#[error("no random nonce for the secure bootstrap answer")]
pub struct SealFailed;

#[derive(Clone)]
pub struct BootstrapCipher {
    key: std::sync::Arc<LessSafeKey>,
    rng: SystemRandom,
}

impl std::fmt::Debug for BootstrapCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BootstrapCipher(********)")
    }
}

impl BootstrapCipher {
    pub fn from_hex(hex: &str) -> Result<Self, BadBootstrapKey> {
        let bytes = decode_hex(hex.trim()).filter(|b| b.len() == 32);
        let key = bytes
            .and_then(|b| UnboundKey::new(&AES_256_GCM, &b).ok())
            .ok_or(BadBootstrapKey)?;
        Ok(Self {
            key: std::sync::Arc::new(LessSafeKey::new(key)),
            rng: SystemRandom::new(),
        })
    }

    /// The external key in a hex token; `None` for bad hex, a wrong key or any tampering.
    pub fn open_key(&self, token: &str, external_id: &str) -> Option<String> {
        let mut sealed = decode_hex(token.trim())?;
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).ok()?;
        let plain = self
            .key
            .open_in_place(
                nonce,
                Aad::from(external_id.as_bytes()),
                &mut sealed[NONCE_LEN..],
            )
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }

    /// `plain` sealed under a fresh random nonce.
    pub fn seal(&self, plain: &[u8], external_id: &str) -> Result<Vec<u8>, SealFailed> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SealFailed)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + AES_256_GCM.tag_len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(external_id.as_bytes()),
                &mut out[NONCE_LEN..],
            )
            .map_err(|_| SealFailed)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_sealed_key_opens_for_its_external_id_only() {
        let cipher = BootstrapCipher::from_hex(KEY).unwrap();
        let token = hex(&cipher.seal(b"factory-key", "dev-1").unwrap());
        assert_eq!(
            cipher.open_key(&token, "dev-1").as_deref(),
            Some("factory-key")
        );
        assert_eq!(cipher.open_key(&token, "dev-2"), None, "bound to its id");
        assert_eq!(
            cipher.open_key(&token.to_uppercase(), "dev-1").as_deref(),
            Some("factory-key")
        );
    }

    #[test]
    fn any_tampering_or_garbage_is_refused() {
        let cipher = BootstrapCipher::from_hex(KEY).unwrap();
        let sealed = cipher.seal(b"factory-key", "dev-1").unwrap();
        for i in 0..sealed.len() {
            let mut flipped = sealed.clone();
            flipped[i] ^= 0x01;
            assert_eq!(cipher.open_key(&hex(&flipped), "dev-1"), None, "byte {i}");
        }
        for garbage in ["", "zz", "abc", &hex(&sealed[..NONCE_LEN + 3])] {
            assert_eq!(cipher.open_key(garbage, "dev-1"), None, "{garbage:?}");
        }
        let other = BootstrapCipher::from_hex(&KEY.replace("00", "ff")).unwrap();
        assert_eq!(other.open_key(&hex(&sealed), "dev-1"), None, "another key");
    }

    #[test]
    fn nonces_differ_and_keys_are_checked() {
        let cipher = BootstrapCipher::from_hex(KEY).unwrap();
        assert_ne!(
            cipher.seal(b"x", "d").unwrap(),
            cipher.seal(b"x", "d").unwrap()
        );
        for bad in [
            "",
            "00",
            &KEY[..62],
            &format!("{KEY}00"),
            &KEY.replace('0', "g"),
        ] {
            assert!(BootstrapCipher::from_hex(bad).is_err(), "{bad:?}");
        }
    }
}
