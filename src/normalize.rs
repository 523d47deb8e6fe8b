//! The *normalize* stage: turns a wire alert into a checked [`Alert`] or a
//! [`Rejection`] naming the bad field and its (masked) value. First stage
//! after ingest; pure, with the clock passed in.

use crate::directory::DivisionCode;
use crate::model::{
    Alert, AlertKey, Artefact, ArtefactKind, Link, LinkKind, PersonKeys, SourceKind, Subject, mask,
};
use crate::proto;

/// Longest accepted `source`.
const MAX_SOURCE_LEN: usize = 64;
/// Longest accepted `source_id`.
const MAX_SOURCE_ID_LEN: usize = 128;
/// Longest accepted free text (name, address, artefact value).
const MAX_TEXT_LEN: usize = 256;
/// Most counterparts or links on one alert.
const MAX_ARTEFACTS: usize = 64;
/// Most free attributes on one alert.
const MAX_ATTRIBUTES: usize = 32;
/// How far in the future an event time may lie (clock skew), ms.
const MAX_FUTURE_MS: i64 = 24 * 3600 * 1000;
/// Default oldest accepted event time, as an age: a centre's backlog of
/// weeks (a source back after an outage, a national push re-sent).
pub const DEFAULT_MAX_EVENT_AGE_MS: i64 = 30 * 24 * 3600 * 1000;

/// What an alert is checked against: the clock and the oldest event time
/// accepted. Replay from the store does not pass through here.
#[derive(Clone, Copy, Debug)]
pub struct Checks<'k> {
    /// Now, unix ms.
    pub now_ms: i64,
    /// Oldest accepted event time, as an age in ms.
    pub max_age_ms: i64,
    /// The installation's person keys.
    pub keys: &'k PersonKeys,
    /// The `source` values the publisher may send; `None`: any.
    pub sources: Option<&'k std::collections::HashSet<String>>,
}

impl Checks<'static> {
    /// Checks at `now_ms` with the default maximum age and the fixed keys
    /// of offline tools ([`PersonKeys::offline`]).
    pub fn at(now_ms: i64) -> Checks<'static> {
        Checks {
            now_ms,
            max_age_ms: DEFAULT_MAX_EVENT_AGE_MS,
            keys: PersonKeys::offline(),
            sources: None,
        }
    }
}

impl Checks<'_> {
    /// Refuses an event time outside `[now - max age, now + skew]`.
    fn time(&self, field: &str, at_ms: i64) -> Result<(), Rejection> {
        let oldest = self.now_ms.saturating_sub(self.max_age_ms);
        let newest = self.now_ms.saturating_add(MAX_FUTURE_MS);
        if at_ms < oldest || at_ms > newest || at_ms <= 0 {
            return Err(Rejection::new(
                field,
                format!(
                    "{at_ms} is outside the accepted event times (unix ms, at most {} days old, not in the future)",
                    self.max_age_ms / (24 * 3600 * 1000)
                ),
            ));
        }
        Ok(())
    }
}

/// Longest rejection reason, in characters.
const MAX_REASON_CHARS: usize = 200;

/// Why one alert was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Dotted path of the bad field.
    pub field: String,
    /// Readable reason naming the field and the masked value.
    pub reason: String,
}

impl Rejection {
    /// A rejection of `field` for `reason`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Rejection {
        let field = field.into();
        // Whatever a check formatted, the answer stays short and masked.
        let reason = mask::bounded(&format!("{field}: {}", reason.into()), MAX_REASON_CHARS);
        Rejection { field, reason }
    }
}

/// Checks and normalizes one wire alert.
pub fn normalize(a: &proto::Alert, checks: Checks<'_>) -> Result<Alert, Rejection> {
    check_id("source", &a.source, MAX_SOURCE_LEN)?;
    if a.source.contains('/') {
        return Err(Rejection::new(
            "source",
            format!("{:?} must not contain '/'", mask::echo(&a.source)),
        ));
    }
    if let Some(allowed) = checks.sources
        && !allowed.contains(&a.source)
    {
        return Err(Rejection::new(
            "source",
            format!(
                "{:?} is not a source this publisher token may send",
                mask::echo(&a.source)
            ),
        ));
    }
    check_id("source_id", &a.source_id, MAX_SOURCE_ID_LEN)?;
    let source_kind = source_kind(a.source_kind)?;
    checks.time("occurred_at_ms", a.occurred_at_ms)?;
    let subject = checks.keys.keyed(subject(a.subject.as_ref())?);
    if a.counterparts.len() > MAX_ARTEFACTS || a.links.len() > MAX_ARTEFACTS {
        return Err(Rejection::new(
            "counterparts",
            format!("more than {MAX_ARTEFACTS} counterparts or links"),
        ));
    }
    let counterparts = a
        .counterparts
        .iter()
        .enumerate()
        .map(|(i, c)| artefact(&|leaf| format!("counterparts[{i}].{leaf}"), c))
        .collect::<Result<Vec<_>, _>>()?;
    let links = a
        .links
        .iter()
        .enumerate()
        .map(|(i, l)| link(i, l, checks))
        .collect::<Result<Vec<_>, _>>()?;
    if a.amount_fen < 0 {
        return Err(Rejection::new(
            "amount_fen",
            format!("{} is negative", a.amount_fen),
        ));
    }
    check_len("fraud_type_hint", &a.fraud_type_hint, 64)?;
    if a.attributes.len() > MAX_ATTRIBUTES {
        return Err(Rejection::new(
            "attributes",
            format!("{} entries, at most {MAX_ATTRIBUTES}", a.attributes.len()),
        ));
    }
    for (k, v) in &a.attributes {
        if k.chars().count() > 64 {
            return Err(Rejection::new(
                format!("attributes.{}", mask::opaque(k)),
                "key longer than 64 characters",
            ));
        }
        if v.chars().count() > 1024 {
            return Err(Rejection::new(
                format!("attributes.{}", mask::opaque(k)),
                "value longer than 1024 characters",
            ));
        }
    }
    Ok(Alert {
        key: AlertKey::new(&a.source, &a.source_id),
        source_kind,
        occurred_at_ms: a.occurred_at_ms,
        subject,
        counterparts,
        links,
        amount_fen: a.amount_fen,
        fraud_type_hint: a.fraud_type_hint.trim().to_string(),
        attributes: a
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// Normalizes an artefact value so lists and alerts compare equal: phone
/// and card numbers lose spaces, dashes and a +86 prefix; others are
/// trimmed and lowercased.
pub fn normalize_artefact_value(raw: &str) -> String {
    let t = raw.trim();
    // Fast paths for values already in normal form (lists are mostly so).
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.to_string();
    }
    if t.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase())
        && !t.bytes().any(|b| b.is_ascii_digit())
    {
        return t.to_string();
    }
    let digits_only = t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+'));
    if digits_only && t.chars().any(|c| c.is_ascii_digit()) {
        let d: String = t.chars().filter(char::is_ascii_digit).collect();
        return match d.strip_prefix("86") {
            Some(rest) if t.starts_with('+') => rest.to_string(),
            _ => d,
        };
    }
    t.to_lowercase()
}

fn subject(s: Option<&proto::Subject>) -> Result<Subject, Rejection> {
    let s = s.ok_or_else(|| Rejection::new("subject", "missing"))?;
    let phone = normalize_artefact_value(&s.phone);
    if phone.len() != 11 || !phone.starts_with('1') || !phone.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::new(
            "subject.phone",
            format!("{} is not an 11-digit mobile number", mask::phone(&s.phone)),
        ));
    }
    let id_hash = s.id_hash.trim().to_ascii_lowercase();
    if looks_like_raw_id_number(&id_hash) {
        return Err(Rejection::new(
            "subject.id_hash",
            "looks like a raw ID number; send its hash, never the number",
        ));
    }
    if !id_hash.is_empty()
        && (id_hash.len() < 16
            || id_hash.len() > 128
            || !id_hash.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(Rejection::new(
            "subject.id_hash",
            format!("{} is not a 16–128 digit hex hash", mask::opaque(&id_hash)),
        ));
    }
    check_len("subject.name", &s.name, 64)?;
    check_len("subject.address", &s.address, MAX_TEXT_LEN)?;
    let division = DivisionCode::parse(s.division_code.trim()).map_err(|e| {
        Rejection::new(
            "subject.division_code",
            format!("{:?} is malformed: {e}", mask::echo(&s.division_code)),
        )
    })?;
    let grid_id = match s.grid_id.trim() {
        "" => None,
        g => {
            check_len("subject.grid_id", g, 64)?;
            Some(g.to_string())
        }
    };
    if s.age > 130 {
        return Err(Rejection::new(
            "subject.age",
            format!("{} is not a plausible age", s.age),
        ));
    }
    Ok(Subject {
        phone,
        id_hash,
        name: s.name.trim().to_string(),
        division,
        grid_id,
        address: s.address.trim().to_string(),
        age: s.age,
        keys: Default::default(),
    })
}

fn looks_like_raw_id_number(v: &str) -> bool {
    let b = v.as_bytes();
    (b.len() == 18 || b.len() == 15)
        && b[..b.len() - 1].iter().all(u8::is_ascii_digit)
        && (b[b.len() - 1].is_ascii_digit() || b[b.len() - 1] == b'x')
}

/// Builds the dotted path of a field below an artefact, only when a
/// rejection needs it: the happy path allocates no field names.
type PathOf<'a> = &'a dyn Fn(&str) -> String;

fn artefact(path: PathOf<'_>, a: &proto::Artefact) -> Result<Artefact, Rejection> {
    let kind = artefact_kind(a.kind).ok_or_else(|| {
        Rejection::new(
            path("kind"),
            format!("{} is not a known artefact kind", a.kind),
        )
    })?;
    let value = normalize_artefact_value(&a.value);
    if value.is_empty() {
        return Err(Rejection::new(path("value"), "is empty"));
    }
    let n = value.chars().count();
    if n > MAX_TEXT_LEN {
        return Err(Rejection::new(
            path("value"),
            format!("{n} characters, at most {MAX_TEXT_LEN}"),
        ));
    }
    Ok(Artefact { kind, value })
}

fn link(i: usize, l: &proto::Link, checks: Checks<'_>) -> Result<Link, Rejection> {
    let f = format_args!("links[{i}]");
    let kind = match proto::LinkKind::try_from(l.kind) {
        Ok(proto::LinkKind::Call) => LinkKind::Call,
        Ok(proto::LinkKind::Sms) => LinkKind::Sms,
        Ok(proto::LinkKind::Transfer) => LinkKind::Transfer,
        Ok(proto::LinkKind::SharedDevice) => LinkKind::SharedDevice,
        Ok(proto::LinkKind::Ownership) => LinkKind::Ownership,
        _ => {
            return Err(Rejection::new(
                format!("{f}.kind"),
                format!("{} is not a known link kind", l.kind),
            ));
        }
    };
    let from = l
        .from
        .as_ref()
        .ok_or_else(|| Rejection::new(format!("{f}.from"), "missing"))?;
    let to =
        l.to.as_ref()
            .ok_or_else(|| Rejection::new(format!("{f}.to"), "missing"))?;
    // 0: the link happened when the alert did.
    if l.at_ms != 0 {
        checks.time(&format!("{f}.at_ms"), l.at_ms)?;
    }
    if l.amount_fen < 0 {
        return Err(Rejection::new(
            format!("{f}.amount_fen"),
            format!("{} is negative", l.amount_fen),
        ));
    }
    Ok(Link {
        kind,
        from: artefact(&|leaf| format!("links[{i}].from.{leaf}"), from)?,
        to: artefact(&|leaf| format!("links[{i}].to.{leaf}"), to)?,
        amount_fen: l.amount_fen,
        at_ms: l.at_ms,
    })
}

fn source_kind(v: i32) -> Result<SourceKind, Rejection> {
    match proto::SourceKind::try_from(v) {
        Ok(proto::SourceKind::NationalPush) => Ok(SourceKind::NationalPush),
        Ok(proto::SourceKind::Bank) => Ok(SourceKind::Bank),
        Ok(proto::SourceKind::Telecom) => Ok(SourceKind::Telecom),
        Ok(proto::SourceKind::PoliceReport) => Ok(SourceKind::PoliceReport),
        Ok(proto::SourceKind::Tip) => Ok(SourceKind::Tip),
        _ => Err(Rejection::new(
            "source_kind",
            format!("{v} is not a known source kind"),
        )),
    }
}

/// The model kind of a proto `ArtefactKind` value; `None` when unspecified or unknown.
pub fn artefact_kind(v: i32) -> Option<ArtefactKind> {
    match proto::ArtefactKind::try_from(v) {
        Ok(proto::ArtefactKind::Phone) => Some(ArtefactKind::Phone),
        Ok(proto::ArtefactKind::BankCard) => Some(ArtefactKind::BankCard),
        Ok(proto::ArtefactKind::Url) => Some(ArtefactKind::Url),
        Ok(proto::ArtefactKind::App) => Some(ArtefactKind::App),
        Ok(proto::ArtefactKind::SocialAccount) => Some(ArtefactKind::SocialAccount),
        Ok(proto::ArtefactKind::Device) => Some(ArtefactKind::Device),
        Ok(proto::ArtefactKind::Ip) => Some(ArtefactKind::Ip),
        _ => None,
    }
}

fn check_id(field: &str, v: &str, max: usize) -> Result<(), Rejection> {
    if v.is_empty() {
        return Err(Rejection::new(field, "is empty"));
    }
    if v.chars().any(char::is_control) {
        return Err(Rejection::new(field, "contains control characters"));
    }
    check_len(field, v, max)
}

fn check_len(field: &str, v: &str, max: usize) -> Result<(), Rejection> {
    let n = v.chars().count();
    if n > max {
        return Err(Rejection::new(
            field,
            format!("{n} characters, at most {max}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
