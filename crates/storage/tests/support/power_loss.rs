//! What the simulated power-loss tests of the embedded engines share: writers that keep a
//! ledger of what was acknowledged by which sync, and the check of each image against it.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, Barrier, Mutex},
};

use clearinghouse_domain::Need;
use clearinghouse_storage::Store;

use super::meta;

/// Acknowledged writes: id -> every (title, sync count seen after its acknowledgement).
pub type Ledger = BTreeMap<String, Vec<(String, u64)>>;

/// `threads` writers each create 24 needs (`make(id, "v1")`) and retitle each twice
/// (`v2`, `v3`), all at once, recording after each acknowledgement the syncs done so far.
pub fn write_with_ledger(
    store: &Arc<Store>,
    threads: usize,
    prefix: &str,
    make: fn(&str, &str) -> Need,
) -> Ledger {
    let ledger: Arc<Mutex<Ledger>> = Arc::default();
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, ledger, start) =
                (Arc::clone(store), Arc::clone(&ledger), Arc::clone(&start));
            let prefix = prefix.to_owned();
            std::thread::spawn(move || {
                start.wait();
                for i in 0..24 {
                    let id = format!("N{prefix}-{t}-{i:02}");
                    for v in 1..=3 {
                        let title = format!("v{v}");
                        if v == 1 {
                            store.create(make(&id, &title), &meta("c")).expect("create");
                        } else {
                            store
                                .update::<Need, ()>(
                                    &id,
                                    None,
                                    &meta("u"),
                                    |_| Ok(()),
                                    |n| {
                                        let mut n = n.clone();
                                        n.fields.title.clone_from(&title);
                                        Ok(n)
                                    },
                                )
                                .expect("update");
                        }
                        let s = store.durability_stats().syncs;
                        ledger
                            .lock()
                            .expect("lock")
                            .entry(id.clone())
                            .or_default()
                            .push((title, s));
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer");
    }
    ledger.lock().expect("lock").clone()
}

/// Opens every image (taken after sync number `n`) and checks that each write
/// acknowledged by then is there, at that version or a newer one (whose write reached
/// the disk without being acknowledged yet). Returns how many writes were checked.
pub fn check_images(
    taken: &[(u64, PathBuf)],
    ledger: &Ledger,
    open: impl Fn(&Path) -> Store,
) -> usize {
    let mut checked = 0;
    for (sync, image) in taken {
        let restored = open(image);
        for (id, versions) in ledger {
            let Some(pos) = versions.iter().rposition(|(_, s)| s <= sync) else {
                continue;
            };
            let got = restored
                .get::<Need>(id)
                .unwrap_or_else(|e| panic!("image {sync}: {id}: {e}"))
                .unwrap_or_else(|| panic!("image after sync {sync} lost acknowledged {id}"));
            let at = versions
                .iter()
                .position(|(t, _)| *t == got.fields.title)
                .unwrap_or_else(|| panic!("{id}: unknown title {}", got.fields.title));
            assert!(
                at >= pos,
                "image {sync}: {id} went back from {} to {}",
                versions[pos].0,
                got.fields.title
            );
            checked += 1;
        }
        restored.close().expect("close image");
    }
    checked
}
