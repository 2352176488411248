//! argon2id with the crate's recommended parameters (19 MiB, t=2, p=1), computed in working
//! memory the caller keeps. A hashing thread reuses one block for every hash: glibc kept
//! each freed 19 MiB block, and 704 parallel logins left the server at 11.8 GB RSS.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use domain::ids::PasswordHash;
use subtle::ConstantTimeEq;

/// Stored hashes that ask for more working memory than this are refused, not computed:
/// ours use 19 MiB, and a hash is only ever one we wrote.
const MAX_BLOCKS: usize = 256 * 1024;

/// argon2's working memory, grown once to the size a hash needs and then reused.
#[derive(Default)]
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.len() < count {
            self.0.resize(count, Block::default());
        }
        &mut self.0[..count]
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.0.len() * Block::SIZE
    }
}

pub fn hash_password(password: &str, memory: &mut HashMemory) -> PasswordHash {
    let params = Params::DEFAULT;
    let salt = argon2::password_hash::generate_salt();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    // Fails only on inputs out of argon2's range (a password over 4 GiB, which no request
    // body can carry) or bad parameters (these are the crate's defaults).
    argon2id(&params)
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut out,
            memory.blocks(params.block_count()),
        )
        .expect("argon2id with default parameters");
    let phc = Phc {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("default parameters encode"),
        salt: Some(Salt::new(&salt).expect("a 16-byte salt")),
        hash: Some(Output::new(&out).expect("a 32-byte output")),
    };
    PasswordHash(phc.to_string())
}

/// True when `password` hashes to `hash`; false for anything that is not an argon2 hash
/// we could have written.
pub fn verify_password(password: &str, hash: &PasswordHash, memory: &mut HashMemory) -> bool {
    let Ok(phc) = Phc::new(&hash.0) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::new(phc.algorithm.as_str()) else {
        return false;
    };
    let version = phc
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let (Ok(params), Ok(version)) = (Params::try_from(&phc), version) else {
        return false;
    };
    if params.block_count() > MAX_BLOCKS {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    let blocks = memory.blocks(params.block_count());
    argon
        .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, blocks)
        .is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
}

fn argon2id(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let mut memory = HashMemory::default();
        let hash = hash_password("correct horse", &mut memory);
        assert!(hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &hash, &mut memory));
        assert!(!verify_password("wrong horse", &hash, &mut memory));
        assert!(!verify_password(
            "x",
            &PasswordHash("garbage".into()),
            &mut memory
        ));
        assert_eq!(memory.bytes(), 19 * 1024 * 1024, "one block, reused");
    }

    #[test]
    fn hashes_agree_with_the_argon2_crate_both_ways() {
        let mut memory = HashMemory::default();
        let ours = hash_password("correct horse", &mut memory);
        let phc = Phc::new(&ours.0).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &phc)
                .is_ok()
        );
        let theirs = argon2::PasswordHasher::hash_password(&Argon2::default(), b"pw-theirs!")
            .unwrap()
            .to_string();
        assert!(verify_password(
            "pw-theirs!",
            &PasswordHash(theirs),
            &mut memory
        ));
    }

    #[test]
    fn an_oversized_stored_hash_is_refused_without_computing() {
        let mut memory = HashMemory::default();
        let huge = "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$\
                    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!verify_password(
            "x",
            &PasswordHash(huge.into()),
            &mut memory
        ));
        assert_eq!(memory.bytes(), 0);
    }
}
