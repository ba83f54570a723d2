//! How walmgr stores a file: a 56-byte header (magic, codec, the original
//! length and its SHA-256) followed by the content, raw or compressed with
//! zstd or lz4. Every archived WAL segment and every file of a base backup
//! is stored this way, so each one carries the checksum that a restore
//! (and `verify`) checks before the content is used.
//!
//! Writes are atomic: the stored file is written under a temporary name in
//! the same directory, fsynced, then hard-linked to its final name (which
//! fails if the name exists, so two writers never overwrite each other) and
//! the directory fsynced. A file is therefore in the archive whole or not
//! at all; a killed writer leaves only a temporary file (`.tmp.PID.…`),
//! which [`sweep_temp`] removes once its process is gone (the hosted job
//! each loop, `cleanup`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"SKYWAL\x00\x01";
/// Bytes before the content.
pub const HEADER_LEN: usize = 56;
const CHUNK: usize = 1 << 20;

/// How the content of a stored file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    /// zstd at this level (1 is fast and still shrinks WAL several times).
    Zstd(i32),
    Lz4,
}

impl Codec {
    /// The config value: `none`, `zstd`, `zstd:LEVEL`, `lz4`; the
    /// original's `compression = 0/1` mean none and zstd.
    pub fn parse(s: &str) -> Result<Codec, String> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "" | "none" | "off" | "0" | "no" | "false" => Ok(Codec::None),
            "zstd" | "1" | "yes" | "on" | "true" => Ok(Codec::Zstd(1)),
            "lz4" => Ok(Codec::Lz4),
            _ => {
                if let Some(level) = t.strip_prefix("zstd:") {
                    let l: i32 = level
                        .parse()
                        .map_err(|_| "zstd:LEVEL needs a number from 1 to 19".to_string())?;
                    if (1..=19).contains(&l) {
                        return Ok(Codec::Zstd(l));
                    }
                    return Err("zstd:LEVEL needs a number from 1 to 19".into());
                }
                Err("one of none, zstd, zstd:LEVEL (1-19), lz4".into())
            }
        }
    }

    fn id(self) -> u8 {
        match self {
            Codec::None => 0,
            Codec::Zstd(_) => 1,
            Codec::Lz4 => 2,
        }
    }

    /// Name for listings.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Zstd(_) => "zstd",
            Codec::Lz4 => "lz4",
        }
    }
}

/// What the header of a stored file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub codec: Codec,
    /// Length of the original content.
    pub len: u64,
    pub sha256: [u8; 32],
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..8].copy_from_slice(MAGIC);
        b[8] = self.codec.id();
        b[16..24].copy_from_slice(&self.len.to_le_bytes());
        b[24..56].copy_from_slice(&self.sha256);
        b
    }

    fn decode(b: &[u8; HEADER_LEN]) -> Option<Header> {
        if &b[..8] != MAGIC {
            return None;
        }
        let codec = match b[8] {
            0 => Codec::None,
            1 => Codec::Zstd(0),
            2 => Codec::Lz4,
            _ => return None,
        };
        let mut len = [0u8; 8];
        len.copy_from_slice(&b[16..24]);
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(&b[24..56]);
        Some(Header {
            codec,
            len: u64::from_le_bytes(len),
            sha256,
        })
    }

    /// The checksum in hex.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
}

/// Lower-case hex of bytes.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// A stored file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {what}: {source}")]
    Io {
        path: PathBuf,
        what: &'static str,
        source: io::Error,
    },
    #[error("{path}: not a walmgr archive file (bad header); it may be truncated or written by another tool")]
    BadHeader { path: PathBuf },
    #[error("{path}: checksum mismatch: the content is corrupt (expected sha256 {expected}, {found}); restore it from another copy or take a new base backup")]
    Corrupt {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{path} is already archived with different content (archived sha256 {archived}, new {new}); two servers may be archiving into the same directory — check archive_command on each, do not delete the archived file blindly")]
    Conflict {
        path: PathBuf,
        archived: String,
        new: String,
    },
}

impl StoreError {
    /// The stored file itself is bad (truncated, not ours, corrupt): not a
    /// failure to read it or to write its content out.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            StoreError::BadHeader { .. } | StoreError::Corrupt { .. }
        )
    }
}

fn ioe<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        what,
        source,
    }
}

/// How a store went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Written; `stored` bytes on disk.
    New { header: Header, stored: u64 },
    /// The same content was already there (a retried archive_command).
    Same { header: Header, stored: u64 },
}

impl Stored {
    pub fn header(&self) -> Header {
        match self {
            Stored::New { header, .. } | Stored::Same { header, .. } => *header,
        }
    }
    pub fn stored(&self) -> u64 {
        match self {
            Stored::New { stored, .. } | Stored::Same { stored, .. } => *stored,
        }
    }
}

static TMP_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A temporary name next to `dst` that names our pid, so stale ones can be
/// told from live ones.
fn temp_path(dst: &Path) -> PathBuf {
    let name = dst
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    dst.with_file_name(format!(".tmp.{}.{}.{name}", std::process::id(), n))
}

/// Remove temporary files in `dir` left by writers that are gone.
pub fn sweep_temp(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(".tmp.") else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !process_alive(pid) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Whether a process exists (EPERM: it exists, owned by someone else).
pub fn process_alive(pid: i32) -> bool {
    pid > 0 && crate::daemon::pidfile::alive(pid)
}

/// fsync a directory, so a rename or link in it is durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// fsync `root` and every directory under it (symbolic links are not
/// followed), so the names of the files written into them are durable.
pub fn fsync_tree(root: &Path) -> Result<(), StoreError> {
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).map_err(ioe(&d, "reading the directory"))? {
            let e = e.map_err(ioe(&d, "reading the directory"))?;
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                dirs.push(e.path());
            }
        }
        fsync_dir(&d).map_err(ioe(&d, "syncing the directory"))?;
    }
    Ok(())
}

/// Store the content of `src` (read from its start to its end) at `dst`.
/// With `replace`, an existing `dst` is replaced (partial segments);
/// without, an existing `dst` with the same content is [`Stored::Same`] and
/// one with other content is a [`StoreError::Conflict`].
pub fn store(
    src: &mut dyn Read,
    dst: &Path,
    codec: Codec,
    replace: bool,
) -> Result<Stored, StoreError> {
    let tmp = temp_path(dst);
    let result = write_temp(src, &tmp, codec, true);
    let (header, stored) = match result {
        Ok(x) => x,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    place(&tmp, dst, header, stored, replace)
}

/// Write the stored form of `src` to `path` (replacing a file left there),
/// without fsync: a scratch copy to be sent elsewhere and removed (a
/// remote archive's file, checked and made durable on the far side).
/// Nothing is left at `path` on an error.
pub fn store_scratch(src: &mut dyn Read, path: &Path, codec: Codec) -> Result<Stored, StoreError> {
    let _ = fs::remove_file(path);
    match write_temp(src, path, codec, false) {
        Ok((header, stored)) => Ok(Stored::New { header, stored }),
        Err(e) => {
            let _ = fs::remove_file(path);
            Err(e)
        }
    }
}

/// Move a finished temporary file (next to `dst`, holding a stored file
/// with `header`) into place, with [`store`]'s rules: replaced, or linked
/// where the name is free, same content accepted, other content refused.
/// The temporary file is gone afterwards in every case.
fn place(
    tmp: &Path,
    dst: &Path,
    header: Header,
    stored: u64,
    replace: bool,
) -> Result<Stored, StoreError> {
    let dir = dst.parent().unwrap_or(Path::new("."));
    let done = if replace {
        fs::rename(tmp, dst).map_err(ioe(dst, "renaming into place"))
    } else {
        match fs::hard_link(tmp, dst) {
            Ok(()) => {
                let _ = fs::remove_file(tmp);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let _ = fs::remove_file(tmp);
                let old = read_header(dst)?;
                if old.len == header.len && old.sha256 == header.sha256 {
                    // Same checksum named; the body must hold it too.
                    verify(dst)?;
                    let stored = fs::metadata(dst).map(|m| m.len()).unwrap_or(stored);
                    return Ok(Stored::Same {
                        header: old,
                        stored,
                    });
                }
                return Err(StoreError::Conflict {
                    path: dst.to_path_buf(),
                    archived: old.sha256_hex(),
                    new: header.sha256_hex(),
                });
            }
            Err(e) => Err(ioe(dst, "linking into place")(e)),
        }
    };
    if let Err(e) = done {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    // Running as root, a file written into a directory belongs to the
    // directory's owner: the archive is the server's, whose archive_command
    // and restore_command run as its user.
    let _ = super::give_to(dst, super::owner_of(dir));
    fsync_dir(dir).map_err(ioe(dir, "syncing the directory"))?;
    Ok(Stored::New { header, stored })
}

/// Receive an already stored file (header and content, as [`store`] wrote
/// it — sent by another host) from `src` and put it at `dst` with
/// [`store`]'s rules, after checking its content against its checksum: a
/// damaged transfer is refused and leaves nothing behind.
pub fn receive(src: &mut dyn Read, dst: &Path, replace: bool) -> Result<Stored, StoreError> {
    let tmp = temp_path(dst);
    let r = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(ioe(&tmp, "creating"))?;
        let stored = io::copy(src, &mut f).map_err(ioe(&tmp, "receiving"))?;
        f.sync_all().map_err(ioe(&tmp, "syncing"))?;
        let header = verify(&tmp)?;
        Ok((header, stored))
    })();
    match r {
        Ok((header, stored)) => place(&tmp, dst, header, stored, replace),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Store a file by path (see [`store`]).
pub fn store_file(
    src: &Path,
    dst: &Path,
    codec: Codec,
    replace: bool,
) -> Result<Stored, StoreError> {
    let mut f = File::open(src).map_err(ioe(src, "opening"))?;
    store(&mut f, dst, codec, replace)
}

struct HashingReader<'a> {
    inner: &'a mut dyn Read,
    hash: Sha256,
    len: u64,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

fn write_temp(
    src: &mut dyn Read,
    tmp: &Path,
    codec: Codec,
    durable: bool,
) -> Result<(Header, u64), StoreError> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(ioe(tmp, "creating"))?;
    let mut out = BufWriter::with_capacity(CHUNK, file);
    out.write_all(&[0u8; HEADER_LEN])
        .map_err(ioe(tmp, "writing"))?;
    let mut reader = HashingReader {
        inner: src,
        hash: Sha256::new(),
        len: 0,
    };
    let copy = |r: &mut HashingReader, w: &mut dyn Write| each_chunk(r, |b| w.write_all(b));
    match codec {
        Codec::None => copy(&mut reader, &mut out).map_err(ioe(tmp, "writing"))?,
        Codec::Zstd(level) => {
            let mut enc = zstd::stream::write::Encoder::new(&mut out, level)
                .map_err(ioe(tmp, "compressing"))?;
            copy(&mut reader, &mut enc).map_err(ioe(tmp, "compressing"))?;
            enc.finish().map_err(ioe(tmp, "compressing"))?;
        }
        Codec::Lz4 => {
            let mut enc = lz4_flex::frame::FrameEncoder::new(&mut out);
            copy(&mut reader, &mut enc).map_err(ioe(tmp, "compressing"))?;
            enc.finish()
                .map_err(|e| ioe(tmp, "compressing")(io::Error::other(e)))?;
        }
    }
    let header = Header {
        codec,
        len: reader.len,
        sha256: reader.hash.finalize().into(),
    };
    let mut file = out
        .into_inner()
        .map_err(|e| ioe(tmp, "writing")(e.into_error()))?;
    let stored = file.stream_position().map_err(ioe(tmp, "writing"))?;
    file.seek(SeekFrom::Start(0)).map_err(ioe(tmp, "writing"))?;
    file.write_all(&header.encode())
        .map_err(ioe(tmp, "writing"))?;
    if durable {
        file.sync_all().map_err(ioe(tmp, "syncing"))?;
    }
    Ok((header, stored))
}

/// SHA-256 and length of a plain file, read in chunks.
pub fn hash_file(path: &Path) -> Result<([u8; 32], u64), StoreError> {
    let f = File::open(path).map_err(ioe(path, "opening"))?;
    let mut h = Sha256::new();
    let mut len = 0u64;
    each_chunk(&mut BufReader::with_capacity(CHUNK, f), |b| {
        h.update(b);
        len += b.len() as u64;
        Ok(())
    })
    .map_err(ioe(path, "reading"))?;
    Ok((h.finalize().into(), len))
}

/// Reads `r` to its end in CHUNK-sized pieces, handing each to `each`.
fn each_chunk(r: &mut dyn Read, mut each: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => each(&buf[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The header of a stored file.
pub fn read_header(path: &Path) -> Result<Header, StoreError> {
    let mut f = File::open(path).map_err(ioe(path, "opening"))?;
    read_header_from(&mut f, path)
}

fn read_header_from(f: &mut File, path: &Path) -> Result<Header, StoreError> {
    let mut b = [0u8; HEADER_LEN];
    match f.read_exact(&mut b) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            return Err(StoreError::BadHeader {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(ioe(path, "reading")(e)),
    }
    Header::decode(&b).ok_or_else(|| StoreError::BadHeader {
        path: path.to_path_buf(),
    })
}

/// Stream the original content of the stored file `path` into `out`,
/// checking its length and checksum. On an error `out` may hold part of
/// the content: write to a temporary file and keep it only on success.
pub fn extract(path: &Path, out: &mut dyn Write) -> Result<Header, StoreError> {
    extract_into(path, out, None)
}

/// A writer that keeps the error of its inner writer, so that a failure
/// to write the output (a full disk, permissions) is told from a failure
/// to read or decode the stored file.
struct KeepError<'a> {
    inner: &'a mut dyn Write,
    error: Option<io::Error>,
}

impl KeepError<'_> {
    fn keep(&mut self, e: io::Error) -> io::Error {
        let out = io::Error::new(e.kind(), "writing the output failed");
        if e.kind() != io::ErrorKind::Interrupted {
            self.error = Some(e);
        }
        out
    }
}

impl Write for KeepError<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.keep(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.keep(e))
    }
}

/// [`extract`], naming `dst` (the file `out` writes) in an error writing
/// it.
fn extract_into(
    path: &Path,
    out: &mut dyn Write,
    dst: Option<&Path>,
) -> Result<Header, StoreError> {
    let mut f = File::open(path).map_err(ioe(path, "opening"))?;
    let header = read_header_from(&mut f, path)?;
    let mut body = BufReader::with_capacity(CHUNK, f);
    let mut hash = Sha256::new();
    let mut len = 0u64;
    let mut out = KeepError {
        inner: out,
        error: None,
    };
    let mut pump = |r: &mut dyn Read| {
        each_chunk(r, |b| {
            hash.update(b);
            len += b.len() as u64;
            out.write_all(b)
        })
    };
    let corrupt = |found: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        expected: header.sha256_hex(),
        found,
    };
    let r = match header.codec {
        Codec::None => pump(&mut body),
        Codec::Zstd(_) => match zstd::stream::read::Decoder::with_buffer(body) {
            Ok(mut d) => pump(&mut d),
            Err(e) => Err(e),
        },
        Codec::Lz4 => pump(&mut lz4_flex::frame::FrameDecoder::new(body)),
    };
    if let Err(e) = r {
        if let Some(w) = out.error.take() {
            // Writing the output failed: the stored file is not at fault.
            return Err(match dst {
                Some(d) => ioe(d, "writing")(w),
                None => ioe(path, "writing out the extracted content")(w),
            });
        }
        // A decoder error is a damaged file; another error reading it is
        // the disk's.
        return Err(match e.kind() {
            io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof | io::ErrorKind::Other => {
                corrupt(format!("it does not decompress: {e}"))
            }
            _ => ioe(path, "reading")(e),
        });
    }
    let got: [u8; 32] = hash.finalize().into();
    if len != header.len || got != header.sha256 {
        return Err(corrupt(format!(
            "found sha256 {} over {len} bytes",
            hex(&got)
        )));
    }
    Ok(header)
}

/// Extract the stored file `path` to `dst` atomically (temporary file,
/// rename; with `durable`, fsynced before the rename): `dst` appears only
/// with verified content. A WAL file handed to the server's
/// restore_command need not be durable (the server fetches it again after
/// a crash); restored data files are. An error writing `dst` (a full
/// disk, permissions) is a [`StoreError::Io`] naming `dst` or its
/// temporary file, never [`StoreError::is_damage`].
pub fn extract_to(path: &Path, dst: &Path, mode: u32, durable: bool) -> Result<Header, StoreError> {
    let tmp = temp_path(dst);
    let r = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(ioe(&tmp, "creating"))?;
        let mut w = BufWriter::with_capacity(CHUNK, file);
        let h = extract_into(path, &mut w, Some(dst))?;
        let file = w
            .into_inner()
            .map_err(|e| ioe(dst, "writing")(e.into_error()))?;
        if durable {
            file.sync_all().map_err(ioe(dst, "syncing"))?;
        }
        fs::rename(&tmp, dst).map_err(ioe(dst, "renaming into place"))?;
        Ok(h)
    })();
    if r.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    r
}

/// Read the whole stored file and check it, without writing anything.
pub fn verify(path: &Path) -> Result<Header, StoreError> {
    extract(path, &mut io::sink())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("skydeck-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn content() -> Vec<u8> {
        // WAL-like: long zero runs with some varied records.
        let mut v = vec![0u8; 3 << 20];
        for (i, b) in v.iter_mut().enumerate().step_by(7) {
            *b = (i % 251) as u8;
        }
        v
    }

    #[test]
    fn every_codec_round_trips_and_is_checked() {
        let d = dir("codecs");
        let data = content();
        for codec in [Codec::None, Codec::Zstd(1), Codec::Zstd(9), Codec::Lz4] {
            let dst = d.join(format!("seg-{}", codec.name()));
            let _ = fs::remove_file(&dst);
            let s = store(&mut data.as_slice(), &dst, codec, false).unwrap();
            assert!(matches!(s, Stored::New { .. }));
            assert_eq!(s.header().len, data.len() as u64);
            if codec != Codec::None {
                assert!(
                    s.stored() < data.len() as u64 / 2,
                    "{codec:?} {}",
                    s.stored()
                );
            }
            let mut out = Vec::new();
            let h = extract(&dst, &mut out).unwrap();
            assert_eq!(out, data);
            assert_eq!(h.codec.name(), codec.name());
            let want: [u8; 32] = Sha256::digest(&data).into();
            assert_eq!(h.sha256, want);
        }
        assert_no_temp(&d);
        fs::remove_dir_all(&d).unwrap();
    }

    /// No temporary files are left in `d`.
    fn assert_no_temp(d: &Path) {
        let names: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with(".tmp")), "{names:?}");
    }

    #[test]
    fn same_content_twice_is_fine_other_content_conflicts() {
        let d = dir("twice");
        let dst = d.join("000000010000000000000001");
        let a = content();
        store(&mut a.as_slice(), &dst, Codec::Zstd(1), false).unwrap();
        let again = store(&mut a.as_slice(), &dst, Codec::Lz4, false).unwrap();
        assert!(matches!(again, Stored::Same { .. }));
        let mut b = a.clone();
        b[100] ^= 1;
        let err = store(&mut b.as_slice(), &dst, Codec::Zstd(1), false).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
        assert!(err
            .to_string()
            .contains("already archived with different content"));
        // The archived file is untouched.
        let mut out = Vec::new();
        extract(&dst, &mut out).unwrap();
        assert_eq!(out, a);
        // replace overwrites (partial segments).
        store(&mut b.as_slice(), &dst, Codec::None, true).unwrap();
        let mut out = Vec::new();
        extract(&dst, &mut out).unwrap();
        assert_eq!(out, b);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn damage_is_caught_and_extract_to_writes_nothing() {
        let d = dir("damage");
        let data = content();
        for codec in [Codec::None, Codec::Zstd(1), Codec::Lz4] {
            let dst = d.join(format!("seg-{}", codec.name()));
            store(&mut data.as_slice(), &dst, codec, false).unwrap();
            let mut raw = fs::read(&dst).unwrap();
            let at = HEADER_LEN + (raw.len() - HEADER_LEN) / 2;
            raw[at] ^= 0x55;
            fs::write(&dst, &raw).unwrap();
            let err = verify(&dst).unwrap_err();
            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "{codec:?}: {err}"
            );
            assert!(err.is_damage());
            let out = d.join(format!("out-{}", codec.name()));
            assert!(extract_to(&dst, &out, 0o600, true).is_err());
            assert!(!out.exists());
            // Truncated.
            fs::write(&dst, &raw[..raw.len() / 3]).unwrap();
            assert!(verify(&dst).is_err());
            fs::write(&dst, &raw[..10]).unwrap();
            assert!(matches!(verify(&dst), Err(StoreError::BadHeader { .. })));
        }
        assert_no_temp(&d);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_failed_write_is_not_damage_and_names_the_destination() {
        let d = dir("writefail");
        let src = d.join("000000010000000000000001");
        store(&mut content().as_slice(), &src, Codec::Zstd(1), false).unwrap();
        // ENOSPC on every write.
        let full = Path::new("/dev/full");
        if let Ok(mut f) = OpenOptions::new().write(true).open(full) {
            let err = extract_into(&src, &mut f, Some(full)).unwrap_err();
            assert!(!err.is_damage(), "{err}");
            match &err {
                StoreError::Io { path, source, .. } => {
                    assert_eq!(path, full, "{err}");
                    assert_eq!(source.kind(), io::ErrorKind::StorageFull, "{err}");
                }
                _ => panic!("not an I/O error: {err}"),
            }
        }
        // A destination directory that is not there.
        let err = extract_to(&src, &d.join("no/such/dir/f"), 0o600, true).unwrap_err();
        assert!(!err.is_damage(), "{err}");
        assert!(err.to_string().contains("no/such/dir"), "{err}");
        // The stored file is fine and still extracts.
        let out = d.join("out");
        extract_to(&src, &out, 0o600, true).unwrap();
        assert_eq!(fs::read(&out).unwrap(), content());
        assert_no_temp(&d);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_scratch_copy_is_a_stored_file() {
        let d = dir("scratch");
        let data = content();
        let p = d.join("000000010000000000000001.123");
        let s = store_scratch(&mut data.as_slice(), &p, Codec::Lz4).unwrap();
        assert_eq!(s.stored(), fs::metadata(&p).unwrap().len());
        let mut out = Vec::new();
        assert_eq!(extract(&p, &mut out).unwrap(), s.header());
        assert_eq!(out, data);
        // One left there is replaced.
        let s = store_scratch(&mut &b"x"[..], &p, Codec::None).unwrap();
        assert_eq!(s.header().len, 1);
        assert_eq!(verify(&p).unwrap(), s.header());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn stale_temp_files_are_swept_live_ones_kept() {
        let d = dir("sweep");
        let dead = d.join(".tmp.999999999.0.000000010000000000000002");
        let live = d.join(format!(
            ".tmp.{}.0.000000010000000000000003",
            std::process::id()
        ));
        fs::write(&dead, b"x").unwrap();
        fs::write(&live, b"x").unwrap();
        sweep_temp(&d);
        assert!(!dead.exists());
        assert!(live.exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn codec_values() {
        assert_eq!(Codec::parse("zstd"), Ok(Codec::Zstd(1)));
        assert_eq!(Codec::parse("zstd:7"), Ok(Codec::Zstd(7)));
        assert_eq!(Codec::parse("1"), Ok(Codec::Zstd(1)));
        assert_eq!(Codec::parse("0"), Ok(Codec::None));
        assert_eq!(Codec::parse("LZ4"), Ok(Codec::Lz4));
        assert!(Codec::parse("zstd:40").is_err());
        assert!(Codec::parse("gzip").unwrap_err().contains("one of none"));
    }
}
