//! Keys for a person that nobody outside the installation can reverse: a
//! keyed MAC (HMAC-SHA256, truncated) of the phone or ID hash under the
//! installation's secret. *normalize* puts them on every [`Subject`]; the
//! open-pair index, the graph, series and the console view all use them, so
//! a phone number never serves as a key and a console's `subject_key`
//! cannot be guessed back from the masked phone beside it.

use std::sync::LazyLock;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Subject;

/// Bytes of a generated installation secret.
pub const SECRET_BYTES: usize = 32;
/// Shortest secret accepted from a config.
pub const MIN_SECRET_BYTES: usize = 16;

/// The installation's keyed MAC, ready to key persons.
#[derive(Clone)]
pub struct PersonKeys {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for PersonKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonKeys(secret hidden)")
    }
}

/// The keys of one person, as a subject carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PersonKey {
    /// 16 hex digits: the key consoles, the graph and series see.
    pub subject: String,
    /// Keys under which an open pair is found: `id:` (ID hash, when known)
    /// and `ph:` (phone), each 32 hex digits.
    pub identity: Vec<String>,
}

/// A fixed secret for offline tools (rule tests, the generator, precision
/// runs), whose keys never leave the process. A server never uses it.
static OFFLINE: LazyLock<PersonKeys> =
    LazyLock::new(|| PersonKeys::new(b"dualwarn offline tools; never a server's secret"));

impl PersonKeys {
    /// Keys under `secret`.
    pub fn new(secret: &[u8]) -> PersonKeys {
        // HMAC takes a key of any length.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
        PersonKeys { mac }
    }

    /// The fixed keys of offline tools.
    pub fn offline() -> &'static PersonKeys {
        &OFFLINE
    }

    fn tag(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut m = self.mac.clone();
        m.update(domain.as_bytes());
        m.update(&[0]);
        m.update(value.as_bytes());
        m.finalize().into_bytes().into()
    }

    fn hex(bytes: &[u8]) -> String {
        hex::encode(bytes)
    }

    /// The open-pair key of a raw identity `kind:value` (`ph:` phone or
    /// `id:` ID hash), as stores before keyed MACs kept them.
    pub fn identity_of_raw(&self, raw: &str) -> String {
        let (kind, value) = raw.split_once(':').unwrap_or(("ph", raw));
        format!("{kind}:{}", Self::hex(&self.tag(kind, value)[..16]))
    }

    /// The keys of a person with this phone and ID hash.
    pub fn key(&self, phone: &str, id_hash: &str) -> PersonKey {
        let mut identity = Vec::with_capacity(2);
        if !id_hash.is_empty() {
            identity.push(self.identity_of_raw(&format!("id:{id_hash}")));
        }
        identity.push(self.identity_of_raw(&format!("ph:{phone}")));
        let subject = match id_hash.is_empty() {
            true => self.tag("subject-ph", phone),
            false => self.tag("subject-id", id_hash),
        };
        PersonKey {
            subject: Self::hex(&subject[..8]),
            identity,
        }
    }

    /// `subject` with its keys set.
    pub fn keyed(&self, mut subject: Subject) -> Subject {
        self.fill(&mut subject);
        subject
    }

    /// Sets the keys of `subject` (an alert read from an older store has none).
    pub fn fill(&self, subject: &mut Subject) {
        subject.keys = self.key(&subject.phone, &subject.id_hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_under_one_secret_and_differ_under_another() {
        let a = PersonKeys::new(b"installation a secret");
        let b = PersonKeys::new(b"installation b secret");
        let k = a.key("13912345678", "");
        assert_eq!(k, a.key("13912345678", ""));
        assert_ne!(k.subject, b.key("13912345678", "").subject);
        assert_eq!(k.subject.len(), 16);
        assert_eq!(k.identity.len(), 1);
        assert!(k.identity[0].starts_with("ph:") && k.identity[0].len() == 35);
        let with_id = a.key("13912345678", "00ff00ff00ff00ff");
        assert_eq!(with_id.identity.len(), 2);
        assert_eq!(
            with_id.identity[1], k.identity[0],
            "the phone key is the same"
        );
        assert_ne!(with_id.subject, k.subject, "the ID hash names the person");
    }

    #[test]
    fn raw_identities_map_to_the_same_keys() {
        let a = PersonKeys::new(b"installation a secret");
        let k = a.key("13912345678", "00ff00ff00ff00ff");
        assert_eq!(a.identity_of_raw("id:00ff00ff00ff00ff"), k.identity[0]);
        assert_eq!(a.identity_of_raw("ph:13912345678"), k.identity[1]);
    }
}
