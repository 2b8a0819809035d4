//! The `npm_` token format: `npm_` + 30 random base62 characters + a 6
//! character checksum, the base62 encoding (alphabet `0-9A-Za-z`, most
//! significant digit first, left-padded with `0`) of the CRC-32 (IEEE, as zlib
//! computes it) of the 30 random characters. GitHub's `ghp_`-style tokens use
//! the same scheme, so [`checksum_valid`] works for them too.

pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Length of a full token including the `npm_` prefix.
pub const NPM_TOKEN_LEN: usize = 40;

/// Encode `n` in base62, left-padded with `0` to 6 characters.
pub fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

fn base62_value(c: u8) -> Option<u64> {
    match c {
        b'0'..=b'9' => Some((c - b'0') as u64),
        b'A'..=b'Z' => Some((c - b'A') as u64 + 10),
        b'a'..=b'z' => Some((c - b'a') as u64 + 36),
        _ => None,
    }
}

/// Does `body_and_checksum` (everything after the prefix's `_`) end in the
/// checksum of what precedes it? Decodes and compares integers so zero
/// padding cannot trip it up.
pub fn checksum_valid(body_and_checksum: &[u8]) -> bool {
    if body_and_checksum.len() < 7 {
        return false;
    }
    let (body, check) = body_and_checksum.split_at(body_and_checksum.len() - 6);
    let mut value: u64 = 0;
    for &c in check {
        match base62_value(c) {
            Some(v) => value = value * 62 + v,
            None => return false,
        }
    }
    value <= u32::MAX as u64 && crc32fast::hash(body) as u64 == value
}

/// Is `token` a well-formed, checksum-valid `npm_` token?
pub fn is_valid_npm_token(token: &[u8]) -> bool {
    token.len() == NPM_TOKEN_LEN
        && token.starts_with(b"npm_")
        && token[4..].iter().all(u8::is_ascii_alphanumeric)
        && checksum_valid(&token[4..])
}

/// A checksum-valid token made from a seed, for tests and rule examples.
///
/// The body is produced by a tiny xorshift generator so that no real-looking
/// token ever needs to be committed: tests build them at run time.
pub fn fake_token(prefix: &str, seed: u64) -> String {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut body = Vec::with_capacity(30);
    for _ in 0..30 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        body.push(BASE62[(state % 62) as usize]);
    }
    let check = base62_6(crc32fast::hash(&body));
    let mut token = String::from(prefix);
    token.push_str(std::str::from_utf8(&body).expect("base62 is ASCII"));
    token.push_str(std::str::from_utf8(&check).expect("base62 is ASCII"));
    token
}

/// A well-formed token whose checksum is wrong (flips the last character).
pub fn fake_invalid_token(seed: u64) -> String {
    let mut t = fake_token("npm_", seed).into_bytes();
    let last = t.len() - 1;
    t[last] = if t[last] == b'A' { b'B' } else { b'A' };
    String::from_utf8(t).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_zlib_crc32() {
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn base62_pads_with_zeros() {
        assert_eq!(&base62_6(0), b"000000");
        assert_eq!(&base62_6(61), b"00000z");
        assert_eq!(&base62_6(62), b"000010");
        assert_eq!(&base62_6(u32::MAX), b"4gfFC3");
    }

    #[test]
    fn public_example_validates() {
        // secretlint's published dummy token, assembled from fragments so no
        // checksum-valid token sits contiguously in this file.
        let dummy = ["npm_", "qkJaB6MffYVzZXWqmcoF49yrUxP3wf", "0LsakP"].concat();
        assert!(is_valid_npm_token(dummy.as_bytes()));
        let made_up = ["npm_", "TCllNwh2WLQlMWVhybM1iQrsTj6rMQ0B", "Oh6d"].concat();
        assert!(!is_valid_npm_token(made_up.as_bytes()));
    }

    #[test]
    fn fake_tokens_validate_and_mutations_do_not() {
        for seed in 0..200 {
            let t = fake_token("npm_", seed);
            assert_eq!(t.len(), NPM_TOKEN_LEN);
            assert!(is_valid_npm_token(t.as_bytes()), "{seed}");
            assert!(!is_valid_npm_token(fake_invalid_token(seed).as_bytes()));
            let mut body = t.clone().into_bytes();
            body[10] = if body[10] == b'x' { b'y' } else { b'x' };
            assert!(!is_valid_npm_token(&body));
        }
        assert!(!is_valid_npm_token(
            ["npm_", &"0".repeat(36)].concat().as_bytes()
        ));
        assert!(!is_valid_npm_token(
            ["npm_", &"X".repeat(36)].concat().as_bytes()
        ));
    }
}
