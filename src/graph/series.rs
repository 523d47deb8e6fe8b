//! Linked case series (串并案): victims joined through a common artefact
//! belong to one series. A union-find over series numbers; each series keeps
//! the id it was founded with (from its first victim's key), and when two
//! merge the older one survives, so ids already on tasks stay valid and the
//! absorbed id is reported for the store to alias.

/// One series number per founding victim; merges link them.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Parent of each series (itself for a root).
    pub(super) parent: Vec<u32>,
    /// Founding id of each series.
    pub(super) id: Vec<u64>,
    /// Whether each series' id was handed to a task: only those need an alias
    /// when absorbed.
    pub(super) announced: Vec<bool>,
}

/// Text form of a series id: `S-` and 16 hex digits.
pub fn series_name(id: u64) -> String {
    format!("S-{id:016x}")
}

impl Series {
    /// Founds a series with `id`; returns its number.
    pub fn found(&mut self, id: u64) -> u32 {
        let n = self.parent.len() as u32;
        self.parent.push(n);
        self.id.push(id);
        self.announced.push(false);
        n
    }

    /// Root of `s`, without changing anything.
    #[cfg(test)]
    pub fn root(&self, mut s: u32) -> u32 {
        // Bounded: every parent is strictly older (smaller) than its child.
        while let Some(&p) = self.parent.get(s as usize) {
            if p == s {
                break;
            }
            s = p;
        }
        s
    }

    /// Root of `s`, halving the path on the way.
    fn root_mut(&mut self, mut s: u32) -> u32 {
        loop {
            let p = self.parent[s as usize];
            if p == s {
                return s;
            }
            let gp = self.parent[p as usize];
            self.parent[s as usize] = gp;
            s = gp;
        }
    }

    /// Joins the series of `a` and `b`; the older root survives. Returns the
    /// (absorbed, surviving) ids when the absorbed one was on a task and
    /// the two ids differ.
    pub fn join(&mut self, a: u32, b: u32) -> Option<(u64, u64)> {
        if a as usize >= self.parent.len() || b as usize >= self.parent.len() {
            return None;
        }
        let (ra, rb) = (self.root_mut(a), self.root_mut(b));
        if ra == rb {
            return None;
        }
        let (keep, gone) = (ra.min(rb), ra.max(rb));
        self.parent[gone as usize] = keep;
        let announced = self.announced[gone as usize];
        self.announced[keep as usize] |= announced;
        let (gone_id, kept_id) = (self.id[gone as usize], self.id[keep as usize]);
        // A victim back after its node expired founds a series again under
        // its old id; joining it to the old one renames nothing, and an
        // alias of an id to itself would loop in the store.
        (announced && gone_id != kept_id).then_some((gone_id, kept_id))
    }

    /// The id of `s`'s series, marking it as handed out.
    pub fn announce(&mut self, s: u32) -> u64 {
        let r = self.root_mut(s);
        self.announced[r as usize] = true;
        self.id[r as usize]
    }

    /// The id of `s`'s series.
    #[cfg(test)]
    pub fn id_of(&self, s: u32) -> u64 {
        let r = self.root(s);
        self.id.get(r as usize).copied().unwrap_or(0)
    }

    /// Bytes allocated.
    pub fn allocated_bytes(&self) -> usize {
        self.parent.capacity() * 4 + self.id.capacity() * 8 + self.announced.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_series_survives_a_merge() {
        let mut s = Series::default();
        let a = s.found(10);
        let b = s.found(20);
        assert_eq!(s.announce(b), 20);
        assert_eq!(s.join(b, a), Some((20, 10)));
        assert_eq!(s.id_of(b), 10);
        assert_eq!(s.join(a, b), None);
    }

    #[test]
    fn unannounced_series_merge_without_alias() {
        let mut s = Series::default();
        let a = s.found(1);
        let b = s.found(2);
        s.announce(a);
        assert_eq!(s.join(a, b), None);
        assert_eq!(s.id_of(b), 1);
    }
}
