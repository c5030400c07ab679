//! The file a projection of the store keeps of itself (the matching index): records in
//! their stored encoding, with the audit position they cover and the identity of the
//! entry at that position. A server that finds a whole file whose entry is still in the
//! store at that position loads the records from it and applies the audit trail after the
//! position, instead of reading every record of the store again.
//!
//! The file is derived data: whatever is wrong with it (missing, damaged, another build,
//! another store's history) makes the reader refuse it, and the caller rebuilds from the
//! store. It is written to a temporary name, fsynced, then renamed over the old one, so a
//! crash leaves either the old file or the new one.
//!
//! Layout (integers big-endian):
//!
//! | part | bytes | content |
//! | --- | --- | --- |
//! | header | 8 | magic `CHINDEX1` |
//! | | 2 | format version ([`FORMAT_VERSION`]) |
//! | | 1 + n | label: length, then UTF-8 (the writer's build; a reader wants its own) |
//! | | 8 | audit position: every entry up to it is reflected in the records |
//! | | 32 | anchor: the identity of the audit entry at that position ([`anchor_of`]) |
//! | | 4 | CRC-32 of the header bytes before it |
//! | block, repeated | 1 | kind tag ([`Kept::TAG`]) |
//! | | 4 | number of records |
//! | | 4 | byte length of the records |
//! | | 4 | CRC-32 of the records |
//! | | n | records, each: 4-byte length, then the record as [`Resource::encode`] writes it |
//! | trailer | 1 | tag `0` |
//! | | 8 | number of records in every block |
//! | | 4 | CRC-32 of the record count |
//!
//! A reader returns blocks as they come, each checked; only [`IndexFileReader::next_block`]
//! returning `None` (the trailer read, the counts equal, nothing after it) says the file
//! was whole, so a consumer keeps what it built only then.

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

/// Largest block a reader accepts (a damaged length must not ask for gigabytes).
const MAX_BLOCK_BYTES: usize = 64 * 1024 * 1024;

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

/// Where the records of an index file stand in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFileHeader {
    /// The writer's build (a reader takes only its own).
    pub label: String,
    /// Every audit entry up to this sequence is reflected in the records (later ones may
    /// be too: applying them again changes nothing).
    pub position: u64,
    /// The identity of the entry at `position` ([`anchor_of`]; zeros for position 0).
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
/// then [`IndexFileWriter::finish`] makes it durable under its final name.
#[derive(Debug)]
pub struct IndexFileWriter {
    out: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    block: Vec<u8>,
    block_tag: u8,
    block_count: u32,
    records: u64,
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
        let mut out = BufWriter::with_capacity(BLOCK_BYTES, File::create(&tmp)?);
        let label = header.label.as_bytes();
        let label_len = u8::try_from(label.len()).map_err(|_| refused("label over 255 bytes"))?;
        let mut head = Vec::with_capacity(64 + label.len());
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        head.push(label_len);
        head.extend_from_slice(label);
        head.extend_from_slice(&header.position.to_be_bytes());
        head.extend_from_slice(&header.anchor);
        head.extend_from_slice(&crc32fast::hash(&head).to_be_bytes());
        out.write_all(&head)?;
        Ok(IndexFileWriter {
            out,
            tmp,
            path: path.to_path_buf(),
            block: Vec::with_capacity(BLOCK_BYTES + 4096),
            block_tag: TAG_END,
            block_count: 0,
            records: 0,
        })
    }

    /// Appends `rec` (in its stored encoding).
    pub fn push<R: Kept>(&mut self, rec: &R) -> Result<(), IndexFileError> {
        if self.block_tag != R::TAG || self.block.len() >= BLOCK_BYTES {
            self.write_block()?;
            self.block_tag = R::TAG;
        }
        let bytes = rec.encode()?;
        let len = u32::try_from(bytes.len()).map_err(|_| refused("record over 4 GiB"))?;
        self.block.extend_from_slice(&len.to_be_bytes());
        self.block.extend_from_slice(&bytes);
        self.block_count += 1;
        self.records += 1;
        Ok(())
    }

    fn write_block(&mut self) -> Result<(), IndexFileError> {
        if self.block_count == 0 {
            return Ok(());
        }
        let len = u32::try_from(self.block.len()).map_err(|_| refused("block over 4 GiB"))?;
        self.out.write_all(&[self.block_tag])?;
        self.out.write_all(&self.block_count.to_be_bytes())?;
        self.out.write_all(&len.to_be_bytes())?;
        self.out
            .write_all(&crc32fast::hash(&self.block).to_be_bytes())?;
        self.out.write_all(&self.block)?;
        self.block.clear();
        self.block_count = 0;
        Ok(())
    }

    /// Drops the unfinished file (the old one, if any, stays).
    pub fn abandon(self) {
        let IndexFileWriter { out, tmp, .. } = self;
        drop(out);
        // Best effort: a leftover temporary file is replaced by the next save.
        let _ = fs::remove_file(tmp);
    }

    /// Writes the last block and the trailer, fsyncs the file, renames it over the old
    /// one and fsyncs the directory. Returns the number of records and the file's size.
    pub fn finish(mut self) -> Result<(u64, u64), IndexFileError> {
        self.write_block()?;
        let count = self.records.to_be_bytes();
        self.out.write_all(&[TAG_END])?;
        self.out.write_all(&count)?;
        self.out.write_all(&crc32fast::hash(&count).to_be_bytes())?;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        drop(file);
        fs::rename(&self.tmp, &self.path)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            sync_dir(dir)?;
        }
        Ok((self.records, bytes))
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
            f(R::decode_summary(rec)?);
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
        head.resize(start + label_len + 8 + 32 + 4, 0);
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
        let mut anchor = [0u8; 32];
        anchor.copy_from_slice(&body[at + 8..at + 40]);
        Ok(IndexFileReader {
            input,
            header: IndexFileHeader {
                label: written.to_owned(),
                position: u64::from_be_bytes(position),
                anchor,
            },
            records: 0,
        })
    }

    /// The header read.
    pub fn header(&self) -> &IndexFileHeader {
        &self.header
    }

    /// The next block, checked against its checksum; `None` once the trailer has been
    /// read and found to agree with the blocks (and nothing follows it).
    pub fn next_block(&mut self) -> Result<Option<Block>, IndexFileError> {
        let mut tag = [0u8; 1];
        read_exact(&mut self.input, &mut tag, "block")?;
        if tag[0] == TAG_END {
            let mut trailer = [0u8; 12];
            read_exact(&mut self.input, &mut trailer, "trailer")?;
            let (count, crc) = trailer.split_at(8);
            if crc32fast::hash(count).to_be_bytes() != crc {
                return Err(refused("trailer checksum differs"));
            }
            let mut c = [0u8; 8];
            c.copy_from_slice(count);
            if u64::from_be_bytes(c) != self.records {
                return Err(refused("record count differs from the blocks"));
            }
            let mut more = [0u8; 1];
            if self.input.read(&mut more)? != 0 {
                return Err(refused("bytes after the trailer"));
            }
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
