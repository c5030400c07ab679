//! The index file: what is written comes back block by block, decoded as summaries, in
//! the order written; a file that is damaged anywhere, cut short, extended, of another
//! build or format is refused, never half taken; a save replaces the old file only when
//! it is whole.

mod support;

use std::path::Path;

use clearinghouse_domain::{Need, Offer};
use clearinghouse_storage::{
    index_file::{
        IndexFileEnd, IndexFileError, IndexFileHeader, IndexFileReader, IndexFileWriter, MAGIC,
        anchor_of,
    },
    summary::Summarized,
};
use support::fixtures::*;

const LABEL: &str = "test build 1";

fn header(position: u64) -> IndexFileHeader {
    IndexFileHeader {
        label: LABEL.into(),
        position,
    }
}

const END: IndexFileEnd = IndexFileEnd {
    covered: 45,
    anchor: [7; 32],
};

fn needs(n: usize) -> Vec<Need> {
    let kenya = state("KEN");
    (0..n)
        .map(|i| need(&format!("N{i:05}"), &kenya, &format!("Need {i}")))
        .collect()
}

fn offers(n: usize) -> Vec<Offer> {
    (0..n)
        .map(|i| offer(&format!("O{i:05}"), "state-FRA"))
        .collect()
}

/// Writes offers, then needs, and returns the file's path.
fn write(dir: &Path, offers: &[Offer], needs: &[Need]) -> std::path::PathBuf {
    let path = dir.join("matching-index");
    let mut w = IndexFileWriter::create(&path, &header(42)).expect("create");
    for o in offers {
        w.push(o).expect("push offer");
    }
    for n in needs {
        w.push(n).expect("push need");
    }
    let (records, bytes) = w.finish(&END).expect("finish");
    assert_eq!(records as usize, offers.len() + needs.len());
    assert_eq!(bytes, std::fs::metadata(&path).expect("metadata").len());
    path
}

/// Every record of the file, by kind, in the order read; or the first refusal.
fn read_all(path: &Path) -> Result<(IndexFileHeader, Vec<Offer>, Vec<Need>), IndexFileError> {
    let mut r = IndexFileReader::open(path, LABEL)?;
    let head = r.header().clone();
    let (mut os, mut ns) = (Vec::new(), Vec::new());
    assert_eq!(r.end(), None, "no end before the trailer");
    while let Some(block) = r.next_block()? {
        if block.holds::<Offer>() {
            block.decode::<Offer>(|o| os.push(o))?;
        } else {
            block.decode::<Need>(|n| ns.push(n))?;
        }
    }
    assert_eq!(r.end(), Some(&END));
    Ok((head, os, ns))
}

fn summary_of<R: Summarized>(r: &R) -> R {
    R::decode_summary(&r.encode().expect("encode")).expect("decode")
}

#[test]
fn records_come_back_as_summaries_in_the_order_written_across_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Enough records for several blocks of each kind.
    let (os, ns) = (offers(1_500), needs(4_000));
    let path = write(dir.path(), &os, &ns);
    let (head, got_o, got_n) = read_all(&path).expect("read");
    assert_eq!(head, header(42));
    assert_eq!(got_o, os.iter().map(summary_of).collect::<Vec<_>>());
    assert_eq!(got_n, ns.iter().map(summary_of).collect::<Vec<_>>());
    assert!(
        !dir.path().join("matching-index.tmp").exists(),
        "the temporary file was renamed"
    );
}

#[test]
fn an_empty_index_is_a_whole_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), &[], &[]);
    let (head, o, n) = read_all(&path).expect("read");
    assert_eq!((head.position, o.len(), n.len()), (42, 0, 0));
}

fn refusal(path: &Path) -> String {
    match read_all(path) {
        Ok(_) => panic!("a damaged file was taken"),
        Err(IndexFileError::Refused(why)) => why,
        Err(e) => panic!("refused for another reason: {e}"),
    }
}

#[test]
fn a_file_damaged_anywhere_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), &offers(300), &needs(900));
    let whole = std::fs::read(&path).expect("read");
    // One flipped bit in the header, the first block head, the middle of the records
    // and the trailer.
    for at in [9, 40, whole.len() / 2, whole.len() - 3] {
        let mut bad = whole.clone();
        bad[at] ^= 0x10;
        std::fs::write(&path, &bad).expect("write");
        let why = refusal(&path);
        assert!(
            why.contains("checksum")
                || why.contains("format")
                || why.contains("count")
                || why.contains("block"),
            "byte {at}: {why}"
        );
    }
    // Cut short at every part, and extended.
    for len in [5, 30, whole.len() / 3, whole.len() - 1] {
        std::fs::write(&path, &whole[..len]).expect("write");
        assert!(refusal(&path).contains("ends inside"), "cut at {len}");
    }
    let mut longer = whole.clone();
    longer.push(0);
    std::fs::write(&path, &longer).expect("write");
    assert!(refusal(&path).contains("after the trailer"));
    // A trailer whose count is wrong but whose checksum agrees with it.
    let mut recounted = whole.clone();
    let trailer = recounted.len() - 52;
    recounted[trailer..trailer + 8].copy_from_slice(&1_199u64.to_be_bytes());
    let crc = crc32fast::hash(&recounted[trailer..trailer + 48]).to_be_bytes();
    recounted[trailer + 48..].copy_from_slice(&crc);
    std::fs::write(&path, &recounted).expect("write");
    assert!(refusal(&path).contains("count differs"));
    // The first block says one record fewer than it holds (its checksum, over the
    // records alone, still agrees).
    let mut short = whole.clone();
    let block = 8 + 2 + 1 + LABEL.len() + 8 + 4;
    let count = u32::from_be_bytes(short[block + 1..block + 5].try_into().expect("4 bytes"));
    short[block + 1..block + 5].copy_from_slice(&(count - 1).to_be_bytes());
    std::fs::write(&path, &short).expect("write");
    assert!(refusal(&path).contains("bytes after the block's records"));
}

#[test]
fn another_build_or_format_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), &offers(2), &needs(2));
    let why = match IndexFileReader::open(&path, "another build") {
        Err(IndexFileError::Refused(why)) => why,
        other => panic!("taken: {other:?}"),
    };
    assert!(why.contains("test build 1"), "{why}");
    let mut other_format = std::fs::read(&path).expect("read");
    other_format[9] = 9;
    std::fs::write(&path, &other_format).expect("write");
    assert!(refusal(&path).contains("format 9"));
    std::fs::write(&path, b"not an index at all").expect("write");
    assert!(refusal(&path).contains("not an index file"));
    assert_eq!(&MAGIC[..], b"CHINDEX1");
}

#[test]
fn a_save_given_up_or_cut_short_leaves_the_old_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), &offers(3), &needs(3));
    let before = std::fs::read(&path).expect("read");
    let tmp = dir.path().join("matching-index.tmp");
    let mut w = IndexFileWriter::create(&path, &header(43)).expect("create");
    for o in offers(3_000) {
        w.push(&o).expect("push");
    }
    w.write_pending().expect("write");
    assert!(tmp.metadata().expect("temporary file").len() > 0);
    drop(w);
    assert_eq!(std::fs::read(&path).expect("read"), before);
    assert!(!tmp.exists(), "a save given up removes its temporary file");
    // A crash in the middle of a save leaves a temporary file and the old file, which
    // is still taken; the next save replaces the temporary file.
    std::fs::write(&tmp, b"CHINDEX1 half a file").expect("write");
    assert_eq!(read_all(&path).expect("old file").0.position, 42);
    write(dir.path(), &offers(1), &needs(1));
    assert!(!tmp.exists());
}

#[test]
fn a_save_that_fails_before_its_rename_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The final name is taken by a directory that is not empty: the rename fails.
    let path = dir.path().join("matching-index");
    std::fs::create_dir(&path).expect("dir");
    std::fs::write(path.join("occupied"), b"x").expect("write");
    let mut w = IndexFileWriter::create(&path, &header(1)).expect("create");
    w.push(&offer("O1", "state-FRA")).expect("push");
    assert!(w.finish(&END).is_err(), "renamed over a directory");
    assert!(!dir.path().join("matching-index.tmp").exists());
    assert!(path.join("occupied").exists(), "what was there stays");
}

#[test]
fn the_anchor_is_the_chain_hash_or_the_hash_of_an_unchained_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = support::open_sled(dir.path());
    store
        .create(offer("O1", "state-FRA"), &support::meta("offer.create"))
        .expect("create");
    store
        .create(offer("O2", "state-FRA"), &support::meta("offer.create"))
        .expect("create");
    let entries = store
        .list_audit(&Default::default(), None, 10)
        .expect("audit")
        .items;
    let (a, b) = (&entries[0], &entries[1]);
    assert_eq!(anchor_of(a), a.chain.expect("chained").hash);
    assert_ne!(anchor_of(a), anchor_of(b));
    let mut unchained = b.clone();
    unchained.chain = None;
    let mut other = unchained.clone();
    other.resource_id = "O3".into();
    assert_ne!(anchor_of(&unchained), anchor_of(&other));
}
