//! The ciphertext format of crypto-js's `AES.encrypt(text, passphrase)`,
//! which pg-meta decrypts its `x-connection-encrypted` header with:
//! OpenSSL's "Salted__" envelope, the key and IV derived from the
//! passphrase and a random salt by EVP_BytesToKey (MD5, one round),
//! AES-256-CBC with PKCS#7 padding, base64-encoded.

use aes::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use md5::{Digest, Md5};
use rand::RngCore;

type Aes256CbcEncryptor = cbc::Encryptor<aes::Aes256>;

/// OpenSSL's EVP_BytesToKey with MD5 and one iteration: 32 key bytes and
/// 16 IV bytes.
fn key_and_iv(passphrase: &[u8], salt: &[u8; 8]) -> ([u8; 32], [u8; 16]) {
    let mut derived = Vec::with_capacity(48);
    let mut previous: Vec<u8> = Vec::new();
    while derived.len() < 48 {
        let mut hasher = Md5::new();
        hasher.update(&previous);
        hasher.update(passphrase);
        hasher.update(salt);
        previous = hasher.finalize().to_vec();
        derived.extend_from_slice(&previous);
    }
    let mut key = [0u8; 32];
    let mut iv = [0u8; 16];
    key.copy_from_slice(&derived[..32]);
    iv.copy_from_slice(&derived[32..48]);
    (key, iv)
}

/// Encrypts as `CryptoJS.AES.encrypt(plaintext, passphrase).toString()`.
pub fn encrypt(plaintext: &str, passphrase: &str) -> String {
    let mut salt = [0u8; 8];
    rand::rng().fill_bytes(&mut salt);
    encrypt_with_salt(plaintext, passphrase, &salt)
}

fn encrypt_with_salt(plaintext: &str, passphrase: &str, salt: &[u8; 8]) -> String {
    let (key, iv) = key_and_iv(passphrase.as_bytes(), salt);
    let ciphertext = Aes256CbcEncryptor::new(&key.into(), &iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes());
    let mut envelope = b"Salted__".to_vec();
    envelope.extend_from_slice(salt);
    envelope.extend_from_slice(&ciphertext);
    base64::engine::general_purpose::STANDARD.encode(envelope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_openssl_enc_with_the_same_salt() {
        // `printf hello | openssl enc -aes-256-cbc -md md5 -S 0102030405060708 -pass pass:secret`,
        // in the "Salted__" envelope crypto-js reads.
        let salt = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(
            encrypt_with_salt("hello", "secret", &salt),
            OPENSSL_REFERENCE
        );
    }

    #[test]
    fn every_encryption_has_its_own_salt() {
        assert_ne!(encrypt("same", "key"), encrypt("same", "key"));
        assert!(encrypt("x", "key").starts_with("U2FsdGVkX1")); // "Salted__"
    }

    /// The envelope around that output, which crypto-js decrypts to "hello".
    const OPENSSL_REFERENCE: &str = "U2FsdGVkX18BAgMEBQYHCN4vTQH4jGLp+Wak1VrMt48=";
}
