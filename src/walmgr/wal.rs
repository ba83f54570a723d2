//! WAL file names: segments (`TTTTTTTTXXXXXXXXYYYYYYYY`), timeline
//! history files (`TTTTTTTT.history`), backup history files
//! (`…segment….OFFSET.backup`) and partial segments (`….partial`).

/// What a file in pg_wal or the archive is, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalFile {
    /// A whole segment.
    Segment(Segment),
    /// A segment the server left unfinished at a timeline switch.
    Partial(Segment),
    /// `TTTTTTTT.history`.
    History(u32),
    /// A backup history file, at this segment.
    Backup(Segment),
}

/// A segment's timeline and position (`log` and `seg` as in its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment {
    pub tli: u32,
    pub log: u32,
    pub seg: u32,
}

impl Segment {
    /// Parse a 24-hex-digit segment name.
    pub fn parse(name: &str) -> Option<Segment> {
        if name.len() != 24 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let h = |r: std::ops::Range<usize>| u32::from_str_radix(&name[r], 16).ok();
        Some(Segment {
            tli: h(0..8)?,
            log: h(8..16)?,
            seg: h(16..24)?,
        })
    }

    pub fn name(&self) -> String {
        format!("{:08X}{:08X}{:08X}", self.tli, self.log, self.seg)
    }

    /// Position regardless of timeline: comparable between segments of the
    /// same segment size.
    pub fn pos(&self) -> (u32, u32) {
        (self.log, self.seg)
    }

    /// The next segment on the same timeline, for `segs_per_log` segments
    /// per log id (256 for 16 MB segments).
    pub fn next(&self, segs_per_log: u32) -> Segment {
        if self.seg + 1 >= segs_per_log {
            Segment {
                tli: self.tli,
                log: self.log + 1,
                seg: 0,
            }
        } else {
            Segment {
                tli: self.tli,
                log: self.log,
                seg: self.seg + 1,
            }
        }
    }
}

impl WalFile {
    pub fn parse(name: &str) -> Option<WalFile> {
        if let Some(seg) = Segment::parse(name) {
            return Some(WalFile::Segment(seg));
        }
        if let Some(base) = name.strip_suffix(".partial") {
            return Segment::parse(base).map(WalFile::Partial);
        }
        if let Some(tli) = name.strip_suffix(".history") {
            if tli.len() == 8 && tli.bytes().all(|b| b.is_ascii_hexdigit()) {
                return u32::from_str_radix(tli, 16).ok().map(WalFile::History);
            }
            return None;
        }
        if let Some(base) = name.strip_suffix(".backup") {
            let (seg, off) = base.split_once('.')?;
            if off.len() == 8 && off.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Segment::parse(seg).map(WalFile::Backup);
            }
        }
        None
    }
}

/// Segments per log id for a segment size in bytes.
pub fn segs_per_log(seg_size: u64) -> u32 {
    (0x1_0000_0000u64 / seg_size.max(1)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let s = Segment::parse("0000000100000002000000FF").unwrap();
        assert_eq!((s.tli, s.log, s.seg), (1, 2, 255));
        assert_eq!(s.next(256).name(), "000000010000000300000000");
        assert_eq!(s.next(1024).name(), "000000010000000200000100");
        assert_eq!(
            WalFile::parse("00000002.history"),
            Some(WalFile::History(2))
        );
        assert!(matches!(
            WalFile::parse("000000010000000000000003.00000028.backup"),
            Some(WalFile::Backup(_))
        ));
        assert!(matches!(
            WalFile::parse("000000010000000000000003.partial"),
            Some(WalFile::Partial(_))
        ));
        for bad in [
            "",
            "0000000100000000000000",
            "00000001000000000000000G",
            "x.history",
            "../000000010000000000000001",
        ] {
            assert_eq!(WalFile::parse(bad), None, "{bad}");
        }
        assert_eq!(segs_per_log(16 << 20), 256);
    }
}
