//! The windows' durable image: every sliding window of the rules in force,
//! each tagged with its definition's identity, written whole (temporary
//! file, fsync, rename) beside the graph's snapshot and covering the same
//! store log positions. At start the app gives each window whose definition
//! is unchanged its saved state and replays only the alerts the store logged
//! after the snapshot (`app::window_state`). A file that does not check
//! (truncated, another version, bad checksum) is refused with a reason.
//!
//! Layout, little-endian: magic (ending in the version), the log positions
//! covered, the limits and UTC offset the windows were kept under, the
//! number of windows, then per window its identity and its store
//! ([`super::codec`]); last a CRC-32 of everything before it.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use super::codec::{Decoder, Encoded, bad};
use super::{WindowLimits, WindowStore};

const MAGIC: &[u8; 8] = b"DWWINDS\x01";
/// Longest identity a snapshot may announce (a rule's compiled window is a
/// few hundred bytes): bounds allocation before the checksum is read.
const MAX_IDENTITY_BYTES: u32 = 1 << 20;

/// How far the store's logs were applied when the windows were saved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowCheckpoint {
    /// Last alert log sequence the windows hold.
    pub alert_seq: u64,
    /// Last import log sequence (imports do not touch windows; kept so the
    /// file names the same positions as the graph's snapshot).
    pub import_seq: u64,
}

/// What the windows were kept under; a start under other settings does not
/// take them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// The log positions covered.
    pub at: WindowCheckpoint,
    /// Lateness and caps of every store.
    pub limits: WindowLimits,
    /// The clock rule filters read hours and weekdays on.
    pub utc_offset_hours: i32,
}

/// A snapshot read back.
#[derive(Debug)]
pub struct SavedWindows {
    /// What they were kept under.
    pub header: SnapshotHeader,
    /// Each window definition's identity and state, in the saved order.
    pub stores: Vec<(String, WindowStore)>,
}

/// What a save wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// File size.
    pub bytes: u64,
    /// Windows (definitions).
    pub windows: u64,
    /// Keys across them.
    pub keys: u64,
    /// Events across them.
    pub events: u64,
}

/// A windows snapshot that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum WindowSnapshotError {
    /// The file could not be read or written.
    #[error("window snapshot {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: io::Error,
    },
    /// The file is not a snapshot this version can read.
    #[error("window snapshot {path} is not valid: {why}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// CRC-32 of the bytes passing through, up to `left` of them when reading
/// (the checksum itself is not summed).
struct Crc<T> {
    inner: T,
    hasher: crc32fast::Hasher,
    left: u64,
}

impl<T> Crc<T> {
    fn new(inner: T, left: u64) -> Self {
        Crc {
            inner,
            hasher: crc32fast::Hasher::new(),
            left,
        }
    }
}

impl<W: Write> Write for Crc<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let summed = (n as u64).min(self.left) as usize;
        self.hasher.update(&buf[..summed]);
        self.left -= summed as u64;
        Ok(n)
    }
}

/// Writes `stores` (identity, state) under `header` to `path` atomically.
pub fn save(
    path: &Path,
    header: &SnapshotHeader,
    stores: &[(&str, &WindowStore)],
) -> Result<Written, WindowSnapshotError> {
    let io_err = |source| WindowSnapshotError::Io {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let written = write_file(&tmp, header, stores).and_then(|mut written| {
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent()
            && let Ok(d) = File::open(dir)
        {
            // Makes the rename itself durable; not all platforms allow it.
            let _ = d.sync_all();
        }
        written.windows = stores.len() as u64;
        Ok(written)
    });
    if written.is_err() {
        // A half-written temporary file is of no use to anyone.
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io_err)
}

/// The whole file at `tmp`, fsynced; its size, keys and events.
fn write_file(
    tmp: &Path,
    header: &SnapshotHeader,
    stores: &[(&str, &WindowStore)],
) -> io::Result<Written> {
    let file = File::create(tmp)?;
    let mut w = BufWriter::with_capacity(1 << 20, Crc::new(file, u64::MAX));
    write_header(&mut w, header, stores.len())?;
    let (mut keys, mut events) = (0, 0);
    let mut scratch = Vec::new();
    for (identity, store) in stores {
        let id = identity.as_bytes();
        let len = u32::try_from(id.len())
            .ok()
            .filter(|&n| n <= MAX_IDENTITY_BYTES)
            .ok_or_else(|| bad("window identity too long"))?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(id)?;
        let Encoded { keys: k, events: e } = store.encode(&mut w, &mut scratch)?;
        (keys, events) = (keys + k, events + e);
    }
    let mut crc = w.into_inner().map_err(|e| e.into_error())?;
    let sum = crc.hasher.clone().finalize();
    crc.inner.write_all(&sum.to_le_bytes())?;
    crc.inner.sync_all()?;
    let bytes = crc.inner.metadata()?.len();
    Ok(Written {
        bytes,
        windows: 0,
        keys,
        events,
    })
}

fn write_header(w: &mut impl Write, h: &SnapshotHeader, windows: usize) -> io::Result<()> {
    w.write_all(MAGIC)?;
    for x in [h.at.alert_seq, h.at.import_seq] {
        w.write_all(&x.to_le_bytes())?;
    }
    w.write_all(&h.limits.allowed_lateness_ms.to_le_bytes())?;
    for x in [h.limits.max_events_per_key, h.limits.max_keys] {
        w.write_all(&(x as u64).to_le_bytes())?;
    }
    w.write_all(&h.utc_offset_hours.to_le_bytes())?;
    let n = u32::try_from(windows).map_err(|_| bad("too many windows"))?;
    w.write_all(&n.to_le_bytes())
}

/// Reads a snapshot written by [`save`].
pub fn load(path: &Path) -> Result<SavedWindows, WindowSnapshotError> {
    let name = path.display().to_string();
    let io_err = |source| WindowSnapshotError::Io {
        path: name.clone(),
        source,
    };
    let invalid = |why: String| WindowSnapshotError::Invalid {
        path: name.clone(),
        why,
    };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let Some(body) = len.checked_sub(4) else {
        return Err(invalid(format!("{len} bytes: too short")));
    };
    let mut r = Decoder::new(BufReader::with_capacity(1 << 20, Crc::new(file, body)));
    let saved = read_body(&mut r, len).map_err(|e| invalid(reason(&e)))?;
    if r.taken != body {
        return Err(invalid(match body.checked_sub(r.taken) {
            Some(extra) => format!("{extra} bytes after the last window"),
            None => "truncated: the checksum is missing".into(),
        }));
    }
    let mut rest = r.into_inner();
    let mut sum = [0u8; 4];
    rest.read_exact(&mut sum)
        .map_err(|e| invalid(format!("no checksum: {e}")))?;
    if u32::from_le_bytes(sum) != rest.get_ref().hasher.clone().finalize() {
        return Err(invalid(
            "checksum does not match: the file is damaged".into(),
        ));
    }
    Ok(saved)
}

/// A read error as the reason a snapshot is refused.
fn reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "truncated: the file ends inside a window".into(),
        _ => e.to_string(),
    }
}

fn read_body<R: io::BufRead>(r: &mut Decoder<R>, file_len: u64) -> io::Result<SavedWindows> {
    if &r.take::<8>()? != MAGIC {
        return Err(bad(
            "not a dualwarn window snapshot of this version (magic differs)",
        ));
    }
    let at = WindowCheckpoint {
        alert_seq: r.u64()?,
        import_seq: r.u64()?,
    };
    let allowed_lateness_ms = r.i64()?;
    let caps = [r.u64()?, r.u64()?].map(|x| usize::try_from(x).unwrap_or(usize::MAX));
    let limits = WindowLimits {
        allowed_lateness_ms,
        max_events_per_key: caps[0],
        max_keys: caps[1],
    };
    let utc_offset_hours = i32::from_le_bytes(r.take()?);
    let windows = r.u32()?;
    let mut stores = Vec::new();
    for _ in 0..windows {
        let len = r.u32()?;
        if len > MAX_IDENTITY_BYTES {
            return Err(bad(format!("an identity of {len} bytes")));
        }
        let identity = String::from_utf8(r.bytes(len as usize)?)
            .map_err(|_| bad("an identity that is not UTF-8"))?;
        let store = WindowStore::decode(r, limits, file_len)?;
        stores.push((identity, store));
    }
    Ok(SavedWindows {
        header: SnapshotHeader {
            at,
            limits,
            utc_offset_hours,
        },
        stores,
    })
}

#[cfg(test)]
mod tests;
