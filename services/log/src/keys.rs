//! Keys: the log's Ed25519 signing key (C2SP signed-note, algorithm 0x01) and a witness's
//! cosigning key (C2SP tlog-cosignature/v1, algorithm 0x04).
//!
//! A private key is kept as the text `PRIVATE+KEY+<name>+<key id>+<base64(alg ‖ seed)>` (the
//! form of Go's `golang.org/x/mod/sumdb/note`); the verifier key (`vkey`) is
//! `<name>+<key id>+<base64(alg ‖ public key)>`.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

/// Signature type of Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type of tlog-cosignature/v1 signatures.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// A key that cannot be used, worded for the operator.
#[derive(Debug)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

/// An Ed25519 key with its name and signature type.
#[derive(Clone)]
pub struct NamedKey {
    name: String,
    alg: u8,
    key: SigningKey,
}

impl std::fmt::Debug for NamedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamedKey").field("name", &self.name).field("vkey", &self.vkey()).finish_non_exhaustive()
    }
}

fn key_id(name: &str, alg: u8, public: &VerifyingKey) -> u32 {
    signed_note::key_id(name, &[&[alg], public.as_bytes().as_slice()].concat())
}

impl NamedKey {
    /// A new random key.
    pub fn generate(name: &str, alg: u8) -> Result<Self, KeyError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(KeyError(format!("{name:?} is not a valid key name (no spaces or +)")));
        }
        let seed: [u8; 32] = rand::random();
        Ok(Self { name: name.to_owned(), alg, key: SigningKey::from_bytes(&seed) })
    }

    /// Parses the private key text.
    pub fn parse(text: &str, alg: u8) -> Result<Self, KeyError> {
        let bad = || KeyError("the private key is not of the form PRIVATE+KEY+<name>+<id>+<base64>".into());
        let rest = text.trim().strip_prefix("PRIVATE+KEY+").ok_or_else(bad)?;
        // Names hold no `+`; base64 may.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let data = B64.decode(data).map_err(|_| bad())?;
        if data.len() != 33 || data[0] != alg {
            return Err(KeyError(format!("the private key is not an Ed25519 key of type {alg:#04x}")));
        }
        let seed: [u8; 32] = data[1..].try_into().map_err(|_| bad())?;
        let key = Self { name: name.to_owned(), alg, key: SigningKey::from_bytes(&seed) };
        if format!("{:08x}", key.id()) != id {
            return Err(KeyError("the private key's id does not match its key".into()));
        }
        Ok(key)
    }

    /// The private key text.
    pub fn private_text(&self) -> String {
        let data = [&[self.alg], self.key.to_bytes().as_slice()].concat();
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.id(), B64.encode(data))
    }

    /// Loads the key from `path`, or creates it there (mode 0600) if there is no file.
    pub fn load_or_create(path: &Path, name: &str, alg: u8) -> Result<(Self, bool), KeyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::parse(&text, alg)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate(name, alg)?;
                // Replicas starting together on one data directory race here: exactly one key
                // file is created, and every other replica signs with the one that won.
                let created = create_private(path, &key.private_text())
                    .map_err(|e| KeyError(format!("cannot write the key file {}: {e}", path.display())))?;
                if created {
                    return Ok((key, true));
                }
                let text = std::fs::read_to_string(path)
                    .map_err(|e| KeyError(format!("cannot read the key file {}: {e}", path.display())))?;
                Ok((Self::parse(&text, alg)?, false))
            }
            Err(e) => Err(KeyError(format!("cannot read the key file {}: {e}", path.display()))),
        }
    }

    /// The key's name (a log's origin, a witness's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id: the first four bytes of SHA-256(name ‖ 0x0A ‖ alg ‖ public key).
    pub fn id(&self) -> u32 {
        key_id(&self.name, self.alg, &self.key.verifying_key())
    }

    /// The verifier key, `<name>+<id>+<base64(alg ‖ public key)>`.
    pub fn vkey(&self) -> String {
        let data = [&[self.alg], self.key.verifying_key().as_bytes().as_slice()].concat();
        format!("{}+{:08x}+{}", self.name, self.id(), B64.encode(data))
    }

    /// The public key.
    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }
}

/// Creates `path` with `text` (mode 0600) unless it exists: the file appears whole or not at all
/// (written and synced under a name of its own, then hard-linked into place, which fails if
/// another process created `path` first). Returns whether this call created it.
pub fn create_private(path: &Path, text: &str) -> std::io::Result<bool> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("new.{}.{:016x}", std::process::id(), rand::random::<u64>()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes `text` to `path` with mode 0600, replacing it atomically.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Signs notes as the log: an Ed25519 note signature over the note text.
impl signed_note::Signer for NamedKey {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// Cosigns checkpoints as a witness (tlog-cosignature/v1) at a given time: the signature is the
/// 8-byte big-endian time followed by the Ed25519 signature of [`cosigned_message`].
#[derive(Debug)]
pub struct Cosigner<'a> {
    /// The witness's key (type 0x04).
    pub key: &'a NamedKey,
    /// Seconds since the Unix epoch.
    pub time: u64,
}

impl signed_note::Signer for Cosigner<'_> {
    fn name(&self) -> &str {
        &self.key.name
    }

    fn key_id(&self) -> u32 {
        self.key.id()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let signed = cosigned_message(self.time, msg);
        Ok([self.time.to_be_bytes().as_slice(), self.key.key.sign(&signed).to_bytes().as_slice()].concat())
    }
}

/// The message a tlog-cosignature/v1 signature covers: `cosignature/v1\ntime <t>\n` and the
/// checkpoint body.
pub fn cosigned_message(time: u64, body: &[u8]) -> Vec<u8> {
    [format!("cosignature/v1\ntime {time}\n").as_bytes(), body].concat()
}

/// Verifies a witness's tlog-cosignature/v1 signatures, from its verifier key.
#[derive(Debug, Clone)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// From the witness's vkey (`<name>+<id>+<base64(0x04 ‖ key)>`).
    pub fn new(vkey: &str) -> Result<Self, KeyError> {
        let bad = || KeyError(format!("{vkey:?} is not a tlog-cosignature/v1 verifier key"));
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let data = B64.decode(data).map_err(|_| bad())?;
        if data.len() != 33 || data[0] != ALG_COSIGNATURE_V1 {
            return Err(bad());
        }
        let key = VerifyingKey::from_bytes(&data[1..].try_into().map_err(|_| bad())?).map_err(|_| bad())?;
        let expected = key_id(name, ALG_COSIGNATURE_V1, &key);
        if u32::from_str_radix(id, 16).ok() != Some(expected) {
            return Err(bad());
        }
        Ok(Self { name: name.to_owned(), id: expected, key })
    }

    /// The time a valid cosignature `sig` of `body` was made, or `None` if it is not valid.
    pub fn verify_time(&self, body: &[u8], sig: &[u8]) -> Option<u64> {
        if sig.len() != 72 {
            return None;
        }
        let time = u64::from_be_bytes(sig[..8].try_into().ok()?);
        let signature = ed25519_dalek::Signature::from_bytes(&sig[8..].try_into().ok()?);
        self.key.verify_strict(&cosigned_message(time, body), &signature).ok().map(|()| time)
    }
}

impl signed_note::Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.verify_time(msg, sig).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_starting_together_end_up_with_one_key() {
        for _ in 0..8 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("log-key");
            let started = std::sync::Barrier::new(8);
            let keys: Vec<(String, bool)> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            started.wait();
                            let (key, created) = NamedKey::load_or_create(&path, "example.org/log", 1).unwrap();
                            (key.vkey(), created)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert_eq!(keys.iter().filter(|(_, created)| *created).count(), 1, "exactly one creates the key");
            assert!(keys.iter().all(|(vkey, _)| vkey == &keys[0].0), "all sign with one key: {keys:?}");
            let on_disk = NamedKey::parse(&std::fs::read_to_string(&path).unwrap(), 1).unwrap();
            assert_eq!(on_disk.vkey(), keys[0].0);
            // Nothing is left beside the key file.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        }
    }

    #[test]
    fn keys_round_trip_and_the_vkey_is_the_one_signed_note_makes() {
        for _ in 0..32 {
            let key = NamedKey::generate("example.gov.cn/log", ALG_ED25519).unwrap();
            let again = NamedKey::parse(&key.private_text(), ALG_ED25519).unwrap();
            assert_eq!(again.vkey(), key.vkey());
            assert_eq!(key.vkey(), signed_note::new_ed25519_verifier_key("example.gov.cn/log", &key.public()));
            let signer = signed_note::StandardSigner::new(&key.private_text()).unwrap();
            assert_eq!(signed_note::Signer::key_id(&signer), key.id());
            let witness = NamedKey::generate("example.gov.cn/witness", ALG_COSIGNATURE_V1).unwrap();
            let verifier = CosignatureVerifier::new(&witness.vkey()).unwrap();
            let sig = signed_note::Signer::sign(&Cosigner { key: &witness, time: 1_800_000_000 }, b"body\n").unwrap();
            assert_eq!(verifier.verify_time(b"body\n", &sig), Some(1_800_000_000));
            assert!(verifier.verify_time(b"body\n", &sig).is_some());
            assert!(verifier.verify_time(b"other\n", &sig).is_none());
            assert!(NamedKey::parse(&key.private_text(), ALG_COSIGNATURE_V1).is_err());
        }
    }
}
