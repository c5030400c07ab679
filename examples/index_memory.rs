//! How much memory the matching index takes: reads a matching index file
//! (`<data_dir>/matching-index`) as the server does at start (`app::index_file::read`)
//! and prints the bytes its allocations hold once it is built, counted by a global
//! allocator that wraps the system one, with the records and the time taken.
//!
//! Run: `cargo run --release --example index_memory -- /path/to/data_dir/matching-index`
//! (BENCHMARKS.md, "A packed matching index").
#![allow(unsafe_code)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    path::PathBuf,
    process::ExitCode,
    sync::atomic::{AtomicIsize, Ordering},
};

/// The system allocator, counting the bytes currently allocated through it.
struct Counting;

/// Bytes allocated and not yet freed.
static LIVE: AtomicIsize = AtomicIsize::new(0);

fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold as they are; the counter is only arithmetic beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(signed(layout.size()), Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(signed(layout.size()), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` through this wrapper with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(signed(new_size) - signed(layout.size()), Ordering::Relaxed);
        // SAFETY: as for `dealloc`; `new_size` is the caller's, passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[allow(clippy::cast_precision_loss)]
fn mib(bytes: isize) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: index_memory <data_dir>/matching-index");
        return ExitCode::from(2);
    };
    let before = LIVE.load(Ordering::Relaxed);
    let loaded = match clearinghouse::app::index_file::read(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let held = LIVE.load(Ordering::Relaxed) - before;
    let records = loaded.offers.len() + loaded.needs.len();
    println!(
        "matching index: {:.1} MiB allocated for {} offers and {} needs ({} bytes per record), read and indexed in {:.2} s",
        mib(held),
        loaded.offers.len(),
        loaded.needs.len(),
        held / signed(records.max(1)),
        loaded.elapsed.as_secs_f64()
    );
    ExitCode::SUCCESS
}
