//! The file a projection of the store keeps of itself (the matching index): records in
//! their stored encoding, the audit position to apply the trail from, and the identity of
//! the last entry whose changes the records may hold. A server that finds a whole file
//! whose last entry is in the store (the same entry, by its chain hash) loads the records
//! from it and applies the audit trail after the position, instead of reading every
//! record of the store again.
//!
//! The file is derived data: whatever is wrong with it (missing, damaged, another build,
//! another store's history, a store that lost or never had the writes it holds) makes
//! the caller refuse it and rebuild from the store. It is written to a temporary name,
//! fsynced, then renamed over the old one, so a crash leaves either the old file or the
//! new one (a temporary file a failed save leaves is removed, or replaced by the next).
//!
//! Layout (integers big-endian):
//!
//! | part | bytes | content |
//! | --- | --- | --- |
//! | header | 8 | magic `CHINDEX1` |
//! | | 2 | format version ([`FORMAT_VERSION`]) |
//! | | 1 + n | label: length, then UTF-8 (the writer's build; a reader wants its own) |
//! | | 8 | position: every audit entry up to it is reflected in the records |
//! | | 4 | CRC-32 of the header bytes before it |
//! | block, repeated | 1 | kind tag ([`Kept::TAG`]) |
//! | | 4 | number of records |
//! | | 4 | byte length of the records |
//! | | 4 | CRC-32 of the records |
//! | | n | records, each: 4-byte length, then the record as [`crate::Resource::encode`] writes it |
//! | trailer | 1 | tag `0` |
//! | | 8 | number of records in every block |
//! | | 8 | covered: no record holds a change of an audit entry after it |
//! | | 32 | anchor of the covered entry ([`anchor_of`]; zeros for 0) |
//! | | 4 | CRC-32 of the trailer bytes after the tag |
//!
//! A reader returns blocks as they come, each checked; only [`IndexFileReader::next_block`]
//! returning `None` (the trailer read, the counts equal, nothing after it) says the file
//! was whole, and only then is [`IndexFileReader::end`] known, so a consumer keeps what it
//! built only then.

use std::{
    fs::{self, File},
    io::{self, BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use clearinghouse_domain::{AuditEntry, Need, Offer};

use crate::{audit_chain, engine::sled::sync_dir, summary::Summarized};

/// The first bytes of every index file.
pub const MAGIC: &[u8; 8] = b"CHINDEX1";

/// Format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;

/// Bytes of records gathered before a block is written.
const BLOCK_BYTES: usize = 256 * 1024;

/// Largest block a reader accepts: a block closes once it holds [`BLOCK_BYTES`], so it
/// is at most that plus one record (a damaged length must not ask for more).
const MAX_BLOCK_BYTES: usize = BLOCK_BYTES + 2 * crate::records::MAX_VALUE_BYTES;

const TAG_END: u8 = 0;

/// A kind of record an index file holds, with its tag.
pub trait Kept: Summarized {
    /// The block tag of this kind.
    const TAG: u8;
}

impl Kept for Need {
    const TAG: u8 = 1;
}

impl Kept for Offer {
    const TAG: u8 = 2;
}

/// Why an index file was not written or not taken.
#[derive(Debug, thiserror::Error)]
pub enum IndexFileError {
    /// Reading or writing the file failed (including: there is none).
    #[error("index file: {0}")]
    Io(#[from] io::Error),
    /// The file is not one this build takes as it is (damaged, cut short, another format
    /// or build).
    #[error("index file refused: {0}")]
    Refused(String),
    /// A record could not be encoded or decoded.
    #[error("index file record: {0}")]
    Record(#[from] crate::Error),
}

fn refused(detail: impl Into<String>) -> IndexFileError {
    IndexFileError::Refused(detail.into())
}

/// What an index file says of itself before its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFileHeader {
    /// The writer's build (a reader takes only its own).
    pub label: String,
    /// Every audit entry up to this sequence is reflected in the records; a reader
    /// applies the entries after it (the records may hold some of them already: applying
    /// one again changes nothing).
    pub position: u64,
}

/// What an index file says of itself after its records: the newest entry they may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexFileEnd {
    /// No record holds the change of an audit entry after this sequence.
    pub covered: u64,
    /// The identity of the entry at `covered` ([`anchor_of`]; zeros for 0). A store
    /// whose entry at `covered` has it holds every change the records hold.
    pub anchor: [u8; 32],
}

/// The identity of an audit entry: its chain hash, or for an entry written before the
/// trail was chained, the hash of its own fields. Two stores whose entries at one
/// sequence have the same anchor share that entry.
pub fn anchor_of(entry: &AuditEntry) -> [u8; 32] {
    match &entry.chain {
        Some(link) => link.hash,
        None => audit_chain::entry_hash(entry, &[0; 32]),
    }
}

/// Writes an index file: [`IndexFileWriter::push`] records of one kind after another,
/// [`IndexFileWriter::write_pending`] when convenient, then [`IndexFileWriter::finish`]
/// makes it durable under its final name. Dropped unfinished, it removes its temporary
/// file and leaves the old one.
#[derive(Debug)]
pub struct IndexFileWriter {
    out: Option<BufWriter<File>>,
    tmp: PathBuf,
    path: PathBuf,
    block: Vec<u8>,
    block_tag: u8,
    block_count: u32,
    /// Closed blocks not yet written: (tag, count, records).
    pending: Vec<(u8, u32, Vec<u8>)>,
    records: u64,
    /// Whether the temporary file became the file (else dropping removes it).
    renamed: bool,
}

impl IndexFileWriter {
    /// Starts the file that will replace `path`, at a temporary name beside it.
    pub fn create(path: &Path, header: &IndexFileHeader) -> Result<Self, IndexFileError> {
        let name = path
            .file_name()
            .ok_or_else(|| refused(format!("{} names no file", path.display())))?;
        let mut tmp_name = name.to_os_string();
        tmp_name.push(".tmp");
        let tmp = path.with_file_name(tmp_name);
        let out = BufWriter::with_capacity(BLOCK_BYTES, File::create(&tmp)?);
        let label = header.label.as_bytes();
        let label_len = u8::try_from(label.len()).map_err(|_| refused("label over 255 bytes"))?;
        let mut head = Vec::with_capacity(32 + label.len());
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        head.push(label_len);
        head.extend_from_slice(label);
        head.extend_from_slice(&header.position.to_be_bytes());
        head.extend_from_slice(&crc32fast::hash(&head).to_be_bytes());
        // From here on, dropping the writer removes the temporary file.
        let mut w = IndexFileWriter {
            out: Some(out),
            tmp,
            path: path.to_path_buf(),
            block: Vec::with_capacity(BLOCK_BYTES + 4096),
            block_tag: TAG_END,
            block_count: 0,
            pending: Vec::new(),
            records: 0,
            renamed: false,
        };
        w.out
            .as_mut()
            .ok_or_else(|| refused("writer already finished"))?
            .write_all(&head)?;
        Ok(w)
    }

    /// Appends `rec` (in its stored encoding) to the current block; writes nothing (see
    /// [`IndexFileWriter::write_pending`]), so it can run under a lock without I/O.
    pub fn push<R: Kept>(&mut self, rec: &R) -> Result<(), IndexFileError> {
        self.push_encoded::<R>(&rec.encode()?)
    }

    /// Appends a record of kind `R` already in its stored encoding (`R::encode`'s bytes),
    /// as [`IndexFileWriter::push`] appends one it encodes.
    pub fn push_encoded<R: Kept>(&mut self, bytes: &[u8]) -> Result<(), IndexFileError> {
        if self.block_tag != R::TAG || self.block.len() >= BLOCK_BYTES {
            self.close_block();
            self.block_tag = R::TAG;
        }
        let len = u32::try_from(bytes.len()).map_err(|_| refused("record over 4 GiB"))?;
        self.block.extend_from_slice(&len.to_be_bytes());
        self.block.extend_from_slice(bytes);
        self.block_count += 1;
        self.records += 1;
        Ok(())
    }

    fn close_block(&mut self) {
        if self.block_count > 0 {
            let bytes = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK_BYTES + 4096));
            self.pending.push((self.block_tag, self.block_count, bytes));
            self.block_count = 0;
        }
    }

    /// Writes the blocks that are complete.
    pub fn write_pending(&mut self) -> Result<(), IndexFileError> {
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| refused("writer already finished"))?;
        for (tag, count, bytes) in self.pending.drain(..) {
            let len = u32::try_from(bytes.len()).map_err(|_| refused("block over 4 GiB"))?;
            out.write_all(&[tag])?;
            out.write_all(&count.to_be_bytes())?;
            out.write_all(&len.to_be_bytes())?;
            out.write_all(&crc32fast::hash(&bytes).to_be_bytes())?;
            out.write_all(&bytes)?;
        }
        Ok(())
    }

    /// Writes the last blocks and the trailer with `end`, fsyncs the file, renames it
    /// over the old one and fsyncs the directory. Returns the number of records and the
    /// file's size.
    pub fn finish(mut self, end: &IndexFileEnd) -> Result<(u64, u64), IndexFileError> {
        self.close_block();
        self.write_pending()?;
        let mut trailer = Vec::with_capacity(48);
        trailer.extend_from_slice(&self.records.to_be_bytes());
        trailer.extend_from_slice(&end.covered.to_be_bytes());
        trailer.extend_from_slice(&end.anchor);
        let crc = crc32fast::hash(&trailer).to_be_bytes();
        let mut out = self
            .out
            .take()
            .ok_or_else(|| refused("writer already finished"))?;
        out.write_all(&[TAG_END])?;
        out.write_all(&trailer)?;
        out.write_all(&crc)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        drop(file);
        fs::rename(&self.tmp, &self.path)?;
        self.renamed = true;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            sync_dir(dir)?;
        }
        Ok((self.records, bytes))
    }
}

impl Drop for IndexFileWriter {
    fn drop(&mut self) {
        drop(self.out.take());
        if !self.renamed {
            // Best effort: a leftover temporary file is replaced by the next save.
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// One checked block of an index file.
#[derive(Debug)]
pub struct Block {
    tag: u8,
    count: u32,
    bytes: Vec<u8>,
}

impl Block {
    /// Whether the block holds records of kind `R`.
    pub fn holds<R: Kept>(&self) -> bool {
        self.tag == R::TAG
    }

    /// Decodes the block's records (as [`Summarized::decode_summary`]: without the text,
    /// contacts and history) and calls `f` with each, in the order written.
    pub fn decode<R: Kept>(&self, mut f: impl FnMut(R)) -> Result<(), IndexFileError> {
        self.decode_with_bytes(|r: R, _: &[u8]| f(r))
    }

    /// As [`Block::decode`], with each record's bytes as written (its stored encoding).
    pub fn decode_with_bytes<R: Kept>(
        &self,
        mut f: impl FnMut(R, &[u8]),
    ) -> Result<(), IndexFileError> {
        if !self.holds::<R>() {
            return Err(refused(format!(
                "block of tag {} read as {}",
                self.tag,
                R::KIND
            )));
        }
        let mut rest = self.bytes.as_slice();
        for _ in 0..self.count {
            let (len, after) = split_u32(rest).ok_or_else(|| refused("record cut short"))?;
            let len = len as usize;
            if after.len() < len {
                return Err(refused("record cut short"));
            }
            let (rec, after) = after.split_at(len);
            f(R::decode_summary(rec)?, rec);
            rest = after;
        }
        if rest.is_empty() {
            Ok(())
        } else {
            Err(refused("bytes after the block's records"))
        }
    }
}

fn split_u32(b: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = b.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*head), rest))
}

/// Reads an index file block by block.
#[derive(Debug)]
pub struct IndexFileReader {
    input: BufReader<File>,
    header: IndexFileHeader,
    records: u64,
    end: Option<IndexFileEnd>,
}

impl IndexFileReader {
    /// Opens `path` and checks its header: the magic, the format version, its checksum,
    /// and that its label is `label`.
    pub fn open(path: &Path, label: &str) -> Result<IndexFileReader, IndexFileError> {
        let mut input = BufReader::with_capacity(BLOCK_BYTES, File::open(path)?);
        let mut head = vec![0u8; 11];
        read_exact(&mut input, &mut head, "header")?;
        if head.get(..8) != Some(MAGIC.as_slice()) {
            return Err(refused("not an index file"));
        }
        let version = u16::from_be_bytes([head[8], head[9]]);
        if version != FORMAT_VERSION {
            return Err(refused(format!(
                "format {version}, this build reads {FORMAT_VERSION}"
            )));
        }
        let label_len = usize::from(head[10]);
        let start = head.len();
        head.resize(start + label_len + 8 + 4, 0);
        read_exact(&mut input, &mut head[start..], "header")?;
        let (body, crc) = head.split_at(head.len() - 4);
        if crc32fast::hash(body).to_be_bytes() != crc {
            return Err(refused("header checksum differs"));
        }
        let written = std::str::from_utf8(&body[start..start + label_len])
            .map_err(|_| refused("label is not UTF-8"))?;
        if written != label {
            return Err(refused(format!(
                "written by build {written}, this is {label}"
            )));
        }
        let at = start + label_len;
        let mut position = [0u8; 8];
        position.copy_from_slice(&body[at..at + 8]);
        Ok(IndexFileReader {
            input,
            header: IndexFileHeader {
                label: written.to_owned(),
                position: u64::from_be_bytes(position),
            },
            records: 0,
            end: None,
        })
    }

    /// The header read.
    pub fn header(&self) -> &IndexFileHeader {
        &self.header
    }

    /// The trailer's end, once [`IndexFileReader::next_block`] has returned `None`.
    pub fn end(&self) -> Option<&IndexFileEnd> {
        self.end.as_ref()
    }

    /// The next block, checked against its checksum; `None` once the trailer has been
    /// read and found to agree with the blocks (and nothing follows it).
    pub fn next_block(&mut self) -> Result<Option<Block>, IndexFileError> {
        let mut tag = [0u8; 1];
        read_exact(&mut self.input, &mut tag, "block")?;
        if tag[0] == TAG_END {
            let mut trailer = [0u8; 52];
            read_exact(&mut self.input, &mut trailer, "trailer")?;
            let (body, crc) = trailer.split_at(48);
            if crc32fast::hash(body).to_be_bytes() != crc {
                return Err(refused("trailer checksum differs"));
            }
            let mut count = [0u8; 8];
            count.copy_from_slice(&body[..8]);
            if u64::from_be_bytes(count) != self.records {
                return Err(refused("record count differs from the blocks"));
            }
            let mut more = [0u8; 1];
            if self.input.read(&mut more)? != 0 {
                return Err(refused("bytes after the trailer"));
            }
            let mut covered = [0u8; 8];
            covered.copy_from_slice(&body[8..16]);
            let mut anchor = [0u8; 32];
            anchor.copy_from_slice(&body[16..48]);
            self.end = Some(IndexFileEnd {
                covered: u64::from_be_bytes(covered),
                anchor,
            });
            return Ok(None);
        }
        let mut head = [0u8; 12];
        read_exact(&mut self.input, &mut head, "block")?;
        let count = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let crc = [head[8], head[9], head[10], head[11]];
        if len > MAX_BLOCK_BYTES {
            return Err(refused(format!("block of {len} bytes")));
        }
        let mut bytes = vec![0u8; len];
        read_exact(&mut self.input, &mut bytes, "block")?;
        if crc32fast::hash(&bytes).to_be_bytes() != crc {
            return Err(refused("block checksum differs"));
        }
        self.records += u64::from(count);
        Ok(Some(Block {
            tag: tag[0],
            count,
            bytes,
        }))
    }
}

fn read_exact(input: &mut impl Read, buf: &mut [u8], part: &str) -> Result<(), IndexFileError> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => refused(format!("file ends inside the {part}")),
        _ => IndexFileError::Io(e),
    })
}
