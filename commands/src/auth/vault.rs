//! Thing keys at rest: a keyed hash for authentication and an AEAD seal for display.
//!
//! The hash is HMAC-SHA256 under a key derived from the master key, so a copy of the event
//! log alone does not let anyone test guesses of low-entropy client-chosen keys.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use domain::ids::{KeyHash, KeyMaterial, SealedKey};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

#[derive(Clone)]
pub struct KeyVault {
    /// HMAC-SHA256 keyed with the hash key, inner and outer pads already absorbed: each
    /// `hash` clones it and adds only the thing key (two SHA-256 blocks instead of four for
    /// a short key; the same digest as keying afresh every time).
    hasher: HmacSha256,
    cipher: ChaCha20Poly1305,
    user_ids: HmacSha256,
}

impl KeyVault {
    pub fn new(master_key: &[u8; 32]) -> Self {
        let hash_key = derive(master_key, b"ferroflux/thing-key-hash/v1");
        let seal_key = derive(master_key, b"ferroflux/thing-key-seal/v1");
        let user_id_key = derive(master_key, b"ferroflux/user-id/v1");
        Self {
            user_ids: mac(&user_id_key),
            hasher: mac(&hash_key),
            cipher: ChaCha20Poly1305::new(Key::from_slice(&seal_key)),
        }
    }

    pub fn hash(&self, key: &str) -> KeyHash {
        let mut mac = self.hasher.clone();
        mac.update(key.as_bytes());
        KeyHash(mac.finalize().into_bytes().into())
    }

    /// The id a user registering with `email` gets: the same on every node sharing the master
    /// key, so two nodes registering one email at once append to one stream and the log's
    /// optimistic concurrency lets exactly one succeed. Keyed, so an id does not reveal the
    /// email to anyone without the master key.
    pub fn user_id(&self, email: &str) -> uuid::Uuid {
        let mut mac = self.user_ids.clone();
        mac.update(email.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }

    pub fn seal(&self, key: &str) -> SealedKey {
        // nonce ‖ ciphertext ‖ tag, built in one buffer (a create seals on the request path).
        let mut sealed = Vec::with_capacity(NONCE_LEN + key.len() + TAG_LEN);
        sealed.resize(NONCE_LEN, 0);
        rand::rng().fill_bytes(&mut sealed);
        sealed.extend_from_slice(key.as_bytes());
        let (nonce, text) = sealed.split_at_mut(NONCE_LEN);
        // Fails only for texts over 256 GiB; what is sealed (thing keys, private keys in PEM)
        // came in a request body, which the body limit keeps to a few MiB.
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(nonce), b"", text)
            .expect("a request-sized text is far below ChaCha20-Poly1305's limit");
        sealed.extend_from_slice(&tag);
        SealedKey(STANDARD_NO_PAD.encode(&sealed))
    }

    /// The plaintext key, or `None` when the seal was made under another master key.
    pub fn open(&self, sealed: &SealedKey) -> Option<String> {
        let bytes = STANDARD_NO_PAD.decode(&sealed.0).ok()?;
        let (nonce, body) = bytes.split_at_checked(NONCE_LEN)?;
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), body).ok()?;
        String::from_utf8(plain).ok()
    }

    pub fn material(&self, key: &str) -> KeyMaterial {
        KeyMaterial {
            key_hash: self.hash(key),
            sealed_key: self.seal(key),
        }
    }
}

fn derive(key: &[u8], input: &[u8]) -> [u8; 32] {
    let mut mac = mac(key);
    mac.update(input);
    mac.finalize().into_bytes().into()
}

fn mac(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_opens_only_under_the_same_master_key() {
        let vault = KeyVault::new(&[1; 32]);
        let sealed = vault.seal("secret-key");
        assert!(!sealed.0.contains("secret-key"));
        assert_eq!(vault.open(&sealed).as_deref(), Some("secret-key"));
        assert_eq!(KeyVault::new(&[2; 32]).open(&sealed), None);
    }

    #[test]
    fn hash_is_stable_and_keyed() {
        let vault = KeyVault::new(&[1; 32]);
        assert_eq!(vault.hash("k"), vault.hash("k"));
        assert_ne!(vault.hash("k"), vault.hash("k2"));
        assert_ne!(vault.hash("k"), KeyVault::new(&[2; 32]).hash("k"));
    }

    #[test]
    fn hash_is_hmac_under_the_derived_key() {
        let master = [7; 32];
        let hash_key = derive(&master, b"ferroflux/thing-key-hash/v1");
        let vault = KeyVault::new(&master);
        for key in ["", "k", "bench-device-key", &"long key ".repeat(40)] {
            assert_eq!(vault.hash(key).0, derive(&hash_key, key.as_bytes()));
        }
    }
}
