//! The backup file format: a logical, versioned and checksummed copy of every tree, read
//! and written over any [`Read`] / [`Write`] (no I/O of its own besides those).
//!
//! Layout (integers big-endian):
//!
//! | part | bytes | content |
//! | --- | --- | --- |
//! | header | 8 | magic `CHBACKUP` |
//! | | 2 | format version ([`FORMAT_VERSION`]) |
//! | | 8 | schema version of the store the entries come from |
//! | | 8 | creation time, milliseconds since the Unix epoch (signed) |
//! | | 8 | audit watermark: the highest audit sequence in the snapshot |
//! | entry, repeated | 1 | tag `1` |
//! | | 1 + n | tree name: length, then ASCII |
//! | | 4 + n | key: length, then the bytes |
//! | | 4 + n | value: length, then the bytes |
//! | trailer | 1 | tag `0` |
//! | | 8 | number of entries |
//! | | 32 | SHA-256 of every byte before it, from the magic to the entry count |
//!
//! A reader refuses, each with its own [`BackupError`]: another magic, a newer format, a
//! store schema newer than the build's, a file that ends early (inside an entry or before
//! the trailer), an unknown tag or tree, a length over the caps, a wrong entry count, a
//! checksum that does not match and bytes after the trailer. [`BackupReader::next_entry`]
//! returns `None` only after the trailer has been checked, so a consumer that applies
//! entries as they come knows the file was whole only at the end.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use clearinghouse_domain::Timestamp;

use crate::{engine::TreeName, error::Error, trees};

/// The first bytes of every backup.
pub const MAGIC: &[u8; 8] = b"CHBACKUP";

/// Format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;

/// Largest key a backup may hold.
pub const MAX_KEY_BYTES: usize = 64 * 1024;

/// Largest value a backup may hold (stored values are capped well below it; the cap keeps
/// a damaged length from asking for gigabytes).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

const TAG_ENTRY: u8 = 1;
const TAG_END: u8 = 0;

/// What a backup says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupHeader {
    /// Format version of the file.
    pub format_version: u16,
    /// Schema version of the store the entries come from.
    pub schema_version: u64,
    /// When the backup was taken.
    pub created_at: Timestamp,
    /// Highest audit sequence in the snapshot (every entry up to it is in the backup).
    pub audit_watermark: u64,
}

/// What a finished backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSummary {
    /// The header written.
    pub header: BackupHeader,
    /// Number of entries.
    pub entries: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// SHA-256 of the file up to the checksum (the file's last 32 bytes).
    pub sha256: [u8; 32],
}

/// One (tree, key, value) of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupEntry {
    /// The tree (one of the store's trees).
    pub tree: TreeName,
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
}

/// A backup that cannot be written, read or restored.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file does not start with [`MAGIC`].
    #[error("not a Clearinghouse backup: the file does not start with \"CHBACKUP\"")]
    BadMagic,
    /// The file's format is newer than this build reads.
    #[error(
        "backup format version {found} is newer than this build reads ({supported}); use a newer clearinghouse"
    )]
    NewerFormat {
        /// Version in the file.
        found: u16,
        /// Newest version this build reads.
        supported: u16,
    },
    /// The store in the file has a newer schema than this build.
    #[error(
        "the backup holds a store of schema version {found}, newer than this build's {supported}; restore it with a newer clearinghouse"
    )]
    NewerSchema {
        /// Schema version in the file.
        found: u64,
        /// This build's schema version.
        supported: u64,
    },
    /// The file ends early.
    #[error("the backup is truncated: it ends {0}; the copy is incomplete")]
    Truncated(String),
    /// The checksum in the trailer is not the hash of the contents.
    #[error(
        "backup checksum mismatch: the trailer says {stored} but the contents hash to {computed}; the file is damaged"
    )]
    Checksum {
        /// Checksum in the trailer (hex).
        stored: String,
        /// Checksum of what was read (hex).
        computed: String,
    },
    /// The trailer counts another number of entries than the file holds.
    #[error("the backup trailer counts {stored} entries but the file holds {read}")]
    Count {
        /// Count in the trailer.
        stored: u64,
        /// Entries read.
        read: u64,
    },
    /// The bytes do not follow the format (unknown tag or tree, oversized length,
    /// trailing bytes, a header that contradicts the entries).
    #[error("the backup is corrupt: {0}")]
    Corrupt(String),
    /// Reading or writing failed.
    #[error("backup I/O failed: {0}")]
    Io(#[source] io::Error),
    /// The target of a restore already holds data.
    #[error("the target store is not empty (tree {tree} holds entries); restore into an empty one")]
    NotEmpty {
        /// A tree that holds entries.
        tree: TreeName,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] Error),
}

fn hex(bytes: &[u8]) -> String {
    crate::audit_chain::hex(bytes)
}

/// Writes a backup: the header at once, then entries, then the trailer on
/// [`BackupWriter::finish`].
#[derive(Debug)]
pub struct BackupWriter<W: Write> {
    out: W,
    hasher: Sha256,
    header: BackupHeader,
    entries: u64,
    bytes: u64,
}

impl<W: Write> BackupWriter<W> {
    /// Starts a backup on `out` with `header` (its format version is replaced by
    /// [`FORMAT_VERSION`]).
    pub fn new(out: W, header: BackupHeader) -> Result<BackupWriter<W>, BackupError> {
        let header = BackupHeader {
            format_version: FORMAT_VERSION,
            ..header
        };
        let mut w = BackupWriter {
            out,
            hasher: Sha256::new(),
            header,
            entries: 0,
            bytes: 0,
        };
        let mut buf = Vec::with_capacity(34);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&header.format_version.to_be_bytes());
        buf.extend_from_slice(&header.schema_version.to_be_bytes());
        buf.extend_from_slice(&header.created_at.0.to_be_bytes());
        buf.extend_from_slice(&header.audit_watermark.to_be_bytes());
        w.put(&buf)?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), BackupError> {
        self.hasher.update(bytes);
        self.out.write_all(bytes).map_err(BackupError::Io)?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Appends one entry.
    pub fn entry(&mut self, tree: &str, key: &[u8], value: &[u8]) -> Result<(), BackupError> {
        let tree_len = u8::try_from(tree.len())
            .map_err(|_| BackupError::Corrupt(format!("tree name {tree} is too long")))?;
        if key.len() > MAX_KEY_BYTES || value.len() > MAX_VALUE_BYTES {
            return Err(BackupError::Corrupt(format!(
                "an entry of tree {tree} is over the caps (key {} bytes, value {} bytes)",
                key.len(),
                value.len()
            )));
        }
        let mut buf = Vec::with_capacity(10 + tree.len() + key.len() + value.len());
        buf.push(TAG_ENTRY);
        buf.push(tree_len);
        buf.extend_from_slice(tree.as_bytes());
        // Both lengths are under the caps checked above, so they fit in u32.
        buf.extend_from_slice(&(key.len() as u32).to_be_bytes());
        buf.extend_from_slice(key);
        buf.extend_from_slice(&(value.len() as u32).to_be_bytes());
        buf.extend_from_slice(value);
        self.put(&buf)?;
        self.entries += 1;
        Ok(())
    }

    /// Writes the trailer and flushes; returns the output and what was written.
    pub fn finish(mut self) -> Result<(W, BackupSummary), BackupError> {
        let mut buf = Vec::with_capacity(9);
        buf.push(TAG_END);
        buf.extend_from_slice(&self.entries.to_be_bytes());
        self.put(&buf)?;
        let sha256: [u8; 32] = self.hasher.finalize_reset().into();
        self.out.write_all(&sha256).map_err(BackupError::Io)?;
        self.out.flush().map_err(BackupError::Io)?;
        let summary = BackupSummary {
            header: self.header,
            entries: self.entries,
            bytes: self.bytes + 32,
            sha256,
        };
        Ok((self.out, summary))
    }
}

/// Reads a backup entry by entry, checking the trailer at the end.
#[derive(Debug)]
pub struct BackupReader<R: Read> {
    input: R,
    hasher: Sha256,
    header: BackupHeader,
    entries: u64,
    bytes: u64,
    sha256: Option<[u8; 32]>,
}

impl<R: Read> BackupReader<R> {
    /// Reads and checks the header; a schema newer than `supported_schema` is refused.
    pub fn open(input: R, supported_schema: u64) -> Result<BackupReader<R>, BackupError> {
        let mut r = BackupReader {
            input,
            hasher: Sha256::new(),
            header: BackupHeader {
                format_version: 0,
                schema_version: 0,
                created_at: Timestamp(0),
                audit_watermark: 0,
            },
            entries: 0,
            bytes: 0,
            sha256: None,
        };
        let mut magic = [0u8; 8];
        match r.fill(&mut magic) {
            Ok(()) => {}
            Err(BackupError::Truncated(_)) => return Err(BackupError::BadMagic),
            Err(e) => return Err(e),
        }
        if &magic != MAGIC {
            return Err(BackupError::BadMagic);
        }
        let format_version = u16::from_be_bytes(r.array("inside the header")?);
        if format_version > FORMAT_VERSION {
            return Err(BackupError::NewerFormat {
                found: format_version,
                supported: FORMAT_VERSION,
            });
        }
        if format_version == 0 {
            return Err(BackupError::Corrupt(
                "format version 0 does not exist".into(),
            ));
        }
        let schema_version = u64::from_be_bytes(r.array("inside the header")?);
        if schema_version > supported_schema {
            return Err(BackupError::NewerSchema {
                found: schema_version,
                supported: supported_schema,
            });
        }
        let created_at = Timestamp(i64::from_be_bytes(r.array("inside the header")?));
        let audit_watermark = u64::from_be_bytes(r.array("inside the header")?);
        r.header = BackupHeader {
            format_version,
            schema_version,
            created_at,
            audit_watermark,
        };
        Ok(r)
    }

    /// The header.
    pub fn header(&self) -> &BackupHeader {
        &self.header
    }

    /// Entries read so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Reads exactly `buf.len()` bytes into the checksum; an early end is `Truncated`.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), BackupError> {
        self.raw(buf, "")?;
        self.hasher.update(&*buf);
        Ok(())
    }

    fn raw(&mut self, buf: &mut [u8], place: &str) -> Result<(), BackupError> {
        match self.input.read_exact(buf) {
            Ok(()) => {
                self.bytes += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(BackupError::Truncated(place.to_owned()))
            }
            Err(e) => Err(BackupError::Io(e)),
        }
    }

    fn array<const N: usize>(&mut self, place: &str) -> Result<[u8; N], BackupError> {
        let mut a = [0u8; N];
        self.fill(&mut a).map_err(|e| match e {
            BackupError::Truncated(_) => BackupError::Truncated(place.to_owned()),
            other => other,
        })?;
        Ok(a)
    }

    fn bytes_of(&mut self, len: usize, place: &str) -> Result<Vec<u8>, BackupError> {
        let mut v = vec![0u8; len];
        self.fill(&mut v).map_err(|e| match e {
            BackupError::Truncated(_) => BackupError::Truncated(place.to_owned()),
            other => other,
        })?;
        Ok(v)
    }

    /// The next entry, or `None` once the trailer has been read and checked (entry count,
    /// checksum, nothing after it).
    pub fn next_entry(&mut self) -> Result<Option<BackupEntry>, BackupError> {
        if self.sha256.is_some() {
            return Ok(None);
        }
        let n = self.entries + 1;
        let [tag] = self.array::<1>(&format!(
            "after {} entries, without its trailer",
            self.entries
        ))?;
        match tag {
            TAG_ENTRY => {}
            TAG_END => return self.trailer().map(|()| None),
            t => {
                return Err(BackupError::Corrupt(format!(
                    "unknown tag {t} where entry {n} or the trailer should start"
                )));
            }
        }
        let inside = format!("inside entry {n}");
        let [tree_len] = self.array::<1>(&inside)?;
        let name = self.bytes_of(usize::from(tree_len), &inside)?;
        let tree = trees::all()
            .into_iter()
            .find(|t| t.as_bytes() == name.as_slice())
            .ok_or_else(|| {
                BackupError::Corrupt(format!(
                    "entry {n} names an unknown tree {:?}",
                    String::from_utf8_lossy(&name)
                ))
            })?;
        let key_len = u32::from_be_bytes(self.array(&inside)?) as usize;
        if key_len > MAX_KEY_BYTES {
            return Err(BackupError::Corrupt(format!(
                "entry {n} has a key of {key_len} bytes (at most {MAX_KEY_BYTES})"
            )));
        }
        let key = self.bytes_of(key_len, &inside)?;
        let value_len = u32::from_be_bytes(self.array(&inside)?) as usize;
        if value_len > MAX_VALUE_BYTES {
            return Err(BackupError::Corrupt(format!(
                "entry {n} has a value of {value_len} bytes (at most {MAX_VALUE_BYTES})"
            )));
        }
        let value = self.bytes_of(value_len, &inside)?;
        self.entries = n;
        Ok(Some(BackupEntry { tree, key, value }))
    }

    fn trailer(&mut self) -> Result<(), BackupError> {
        let stored_count = u64::from_be_bytes(self.array("inside the trailer")?);
        let computed: [u8; 32] = self.hasher.finalize_reset().into();
        let mut stored = [0u8; 32];
        self.raw(&mut stored, "inside the trailer's checksum")?;
        if stored != computed {
            return Err(BackupError::Checksum {
                stored: hex(&stored),
                computed: hex(&computed),
            });
        }
        if stored_count != self.entries {
            return Err(BackupError::Count {
                stored: stored_count,
                read: self.entries,
            });
        }
        let mut extra = [0u8; 1];
        match self.input.read(&mut extra) {
            Ok(0) => {}
            Ok(_) => {
                return Err(BackupError::Corrupt(
                    "bytes follow the trailer; the file is not one backup".into(),
                ));
            }
            Err(e) => return Err(BackupError::Io(e)),
        }
        self.sha256 = Some(computed);
        Ok(())
    }

    /// What the file held, once [`BackupReader::next_entry`] has returned `None`.
    pub fn summary(&self) -> Option<BackupSummary> {
        self.sha256.map(|sha256| BackupSummary {
            header: self.header,
            entries: self.entries,
            bytes: self.bytes,
            sha256,
        })
    }
}

/// Reads a whole backup and checks it, returning what it holds (nothing is kept).
pub fn verify<R: Read>(input: R, supported_schema: u64) -> Result<BackupSummary, BackupError> {
    let mut r = BackupReader::open(input, supported_schema)?;
    while r.next_entry()?.is_some() {}
    r.summary()
        .ok_or_else(|| BackupError::Truncated("before its trailer".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp(1_795_000_000_000);

    fn header(schema: u64) -> BackupHeader {
        BackupHeader {
            format_version: FORMAT_VERSION,
            schema_version: schema,
            created_at: T,
            audit_watermark: 7,
        }
    }

    fn sample() -> Vec<u8> {
        let mut w = BackupWriter::new(Vec::new(), header(2)).expect("header");
        w.entry(trees::META, b"schema_version", &2u64.to_be_bytes())
            .expect("entry");
        w.entry(trees::AUDIT, &1u64.to_be_bytes(), b"\x02audit")
            .expect("entry");
        w.entry("rec/need", &1u64.to_be_bytes(), &[7u8; 300])
            .expect("entry");
        w.finish().expect("finish").0
    }

    fn read_all(bytes: &[u8], schema: u64) -> Result<Vec<BackupEntry>, BackupError> {
        let mut r = BackupReader::open(bytes, schema)?;
        let mut out = Vec::new();
        while let Some(e) = r.next_entry()? {
            out.push(e);
        }
        Ok(out)
    }

    #[test]
    fn a_written_backup_reads_back_entry_for_entry_with_its_header() {
        let bytes = sample();
        let mut r = BackupReader::open(bytes.as_slice(), 2).expect("open");
        assert_eq!(*r.header(), header(2));
        let mut got = Vec::new();
        while let Some(e) = r.next_entry().expect("entry") {
            got.push(e);
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].tree, trees::META);
        assert_eq!(got[2].value, vec![7u8; 300]);
        let s = r.summary().expect("checked");
        assert_eq!(s.entries, 3);
        assert_eq!(s.bytes, bytes.len() as u64);
        let body = &bytes[..bytes.len() - 32];
        let want: [u8; 32] = Sha256::digest(body).into();
        assert_eq!(s.sha256, want);
        assert_eq!(&bytes[bytes.len() - 32..], want.as_slice());
        assert_eq!(verify(bytes.as_slice(), 2).expect("verify"), s);
    }

    #[test]
    fn an_older_schema_is_read_and_a_newer_one_refused() {
        let bytes = sample();
        assert!(read_all(&bytes, 3).is_ok());
        match read_all(&bytes, 1) {
            Err(BackupError::NewerSchema {
                found: 2,
                supported: 1,
            }) => {}
            other => panic!("expected NewerSchema, got {other:?}"),
        }
    }

    #[test]
    fn another_magic_is_refused_as_not_a_backup() {
        let mut bytes = sample();
        bytes[0] = b'X';
        assert!(matches!(read_all(&bytes, 2), Err(BackupError::BadMagic)));
        assert!(matches!(read_all(b"", 2), Err(BackupError::BadMagic)));
        assert!(matches!(read_all(b"CHB", 2), Err(BackupError::BadMagic)));
    }

    #[test]
    fn a_newer_format_version_is_refused() {
        let mut bytes = sample();
        bytes[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_be_bytes());
        match read_all(&bytes, 2) {
            Err(e @ BackupError::NewerFormat { .. }) => {
                assert!(e.to_string().contains("newer clearinghouse"), "{e}");
            }
            other => panic!("expected NewerFormat, got {other:?}"),
        }
    }

    #[test]
    fn every_truncation_is_refused_and_says_where_the_file_ends() {
        let bytes = sample();
        // Any cut past the magic: inside the header, an entry, before or inside the
        // trailer. Never accepted, never a panic.
        for cut in 8..bytes.len() {
            match read_all(&bytes[..cut], 2) {
                Err(BackupError::Truncated(place)) => assert!(!place.is_empty(), "cut {cut}"),
                other => panic!("cut at {cut}: expected Truncated, got {other:?}"),
            }
        }
        // Cut exactly where the trailer would start: the message names it.
        let trailer_start = bytes.len() - 32 - 9;
        let e = read_all(&bytes[..trailer_start], 2).expect_err("no trailer");
        assert!(e.to_string().contains("without its trailer"), "{e}");
    }

    #[test]
    fn a_flipped_byte_fails_the_checksum() {
        let clean = sample();
        // A byte inside the last entry's value: the structure still parses.
        let at = clean.len() - 32 - 9 - 10;
        let mut bytes = clean.clone();
        bytes[at] ^= 0x01;
        match read_all(&bytes, 2) {
            Err(e @ BackupError::Checksum { .. }) => {
                assert!(e.to_string().contains("damaged"), "{e}");
            }
            other => panic!("expected Checksum, got {other:?}"),
        }
        // A byte of the stored checksum itself.
        let mut bytes = clean;
        let last = bytes.len() - 1;
        bytes[last] ^= 0x80;
        assert!(matches!(
            read_all(&bytes, 2),
            Err(BackupError::Checksum { .. })
        ));
    }

    #[test]
    fn a_wrong_entry_count_is_refused_even_with_a_matching_checksum() {
        let mut bytes = sample();
        let count_at = bytes.len() - 32 - 8;
        bytes[count_at..count_at + 8].copy_from_slice(&4u64.to_be_bytes());
        let body_end = bytes.len() - 32;
        let sum: [u8; 32] = Sha256::digest(&bytes[..body_end]).into();
        bytes[body_end..].copy_from_slice(&sum);
        assert!(matches!(
            read_all(&bytes, 2),
            Err(BackupError::Count { stored: 4, read: 3 })
        ));
    }

    #[test]
    fn bytes_after_the_trailer_an_unknown_tree_and_huge_lengths_are_corrupt() {
        let mut extra = sample();
        extra.push(0);
        assert!(matches!(read_all(&extra, 2), Err(BackupError::Corrupt(_))));

        let mut w = BackupWriter::new(Vec::new(), header(2)).expect("header");
        w.entry("rec/unknown", b"k", b"v").expect("entry");
        let bytes = w.finish().expect("finish").0;
        let e = read_all(&bytes, 2).expect_err("unknown tree");
        assert!(e.to_string().contains("unknown tree"), "{e}");

        // A key length of 4 GiB - 1 is refused before anything is allocated.
        let mut bytes = sample();
        let key_len_at = 34 + 1 + 1 + trees::META.len();
        bytes[key_len_at..key_len_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        let e = read_all(&bytes, 2).expect_err("huge key");
        assert!(matches!(e, BackupError::Corrupt(_)), "{e:?}");

        let mut bytes = sample();
        bytes[34] = 9;
        assert!(matches!(read_all(&bytes, 2), Err(BackupError::Corrupt(_))));
    }
}
