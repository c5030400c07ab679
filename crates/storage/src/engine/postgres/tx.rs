//! One transaction's reads and writes on its connection. Reads go to the server (inside
//! the SERIALIZABLE transaction, so the server tracks them for conflicts) through an
//! overlay of the transaction's own writes; the writes stay in the overlay until commit,
//! when they are sent as one upsert and one delete, in key order.

use std::collections::{BTreeMap, HashMap};

use super::{
    conn::PgConn,
    failure::Failure,
    sql::{prefix_end, sql_limit},
};
use crate::{
    engine::{Entry, TreeName, TxOps, sled::merge_scan, window_start},
    error::Error,
};

/// A transaction's own writes, per tree (`None` removes).
pub(crate) type Overlay = HashMap<TreeName, BTreeMap<Vec<u8>, Option<Vec<u8>>>>;

/// The body's view of one open transaction.
pub(crate) struct PgTx<'c> {
    conn: &'c mut PgConn,
    writes: Overlay,
    /// The first statement that failed: the server has aborted the transaction, so
    /// every later call fails the same way.
    failure: Option<Failure>,
}

fn error_of(f: &Failure) -> Error {
    match f {
        Failure::Conflict => Error::Conflict,
        Failure::Lost(m) => Error::Engine(format!("connection to PostgreSQL lost: {m}")),
        Failure::Other(m) => Error::Engine(m.clone()),
    }
}

impl<'c> PgTx<'c> {
    /// A transaction on `conn`, on which `BEGIN` has run.
    pub(crate) fn new(conn: &'c mut PgConn) -> PgTx<'c> {
        PgTx {
            conn,
            writes: HashMap::new(),
            failure: None,
        }
    }

    /// The writes and the first failure, once the body has returned.
    pub(crate) fn finish(self) -> (Overlay, Option<Failure>) {
        (self.writes, self.failure)
    }

    fn check(&self) -> Result<(), Error> {
        self.failure.as_ref().map_or(Ok(()), |f| Err(error_of(f)))
    }

    fn fail(&mut self, e: &postgres::Error) -> Error {
        let f = Failure::of(e, self.conn.client.is_closed());
        let err = error_of(&f);
        self.failure.get_or_insert(f);
        err
    }

    fn committed_scan(
        &mut self,
        tree: TreeName,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, postgres::Error> {
        let limit = sql_limit(limit);
        let rows = match end {
            Some(end) => self
                .conn
                .client
                .query(&self.conn.stmts.scan_to, &[&tree, &start, &end, &limit])?,
            None => self
                .conn
                .client
                .query(&self.conn.stmts.scan_open, &[&tree, &start, &limit])?,
        };
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

impl TxOps for PgTx<'_> {
    fn get(&mut self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        self.check()?;
        if let Some(v) = self.writes.get(tree).and_then(|w| w.get(key)) {
            return Ok(v.clone());
        }
        match self
            .conn
            .client
            .query_opt(&self.conn.stmts.get, &[&tree, &key])
        {
            Ok(row) => Ok(row.map(|r| r.get(0))),
            Err(e) => Err(self.fail(&e)),
        }
    }

    fn put(&mut self, tree: TreeName, key: &[u8], value: &[u8]) -> Result<(), Error> {
        self.check()?;
        self.writes
            .entry(tree)
            .or_default()
            .insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn remove(&mut self, tree: TreeName, key: &[u8]) -> Result<(), Error> {
        self.check()?;
        self.writes
            .entry(tree)
            .or_default()
            .insert(key.to_vec(), None);
        Ok(())
    }

    fn scan(
        &mut self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, Error> {
        self.check()?;
        let start = window_start(prefix, from).to_vec();
        // Each own write in the window hides at most one committed entry, so `limit`
        // plus their number of committed entries always fill the merged page.
        let own = self.writes.get(tree).map_or(0, |w| {
            w.range(start.clone()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .count()
        });
        let end = prefix_end(prefix);
        let committed =
            match self.committed_scan(tree, &start, end.as_deref(), limit.saturating_add(own)) {
                Ok(rows) => rows,
                Err(e) => return Err(self.fail(&e)),
            };
        merge_scan(
            committed.into_iter().map(Ok),
            self.writes.get(tree),
            prefix,
            from,
            limit,
        )
    }
}

/// Sends `writes` as one upsert and one delete, in (tree, key) order so that
/// concurrent commits lock rows in the same order.
pub(crate) fn flush(conn: &mut PgConn, writes: &Overlay) -> Result<(), postgres::Error> {
    let mut names: Vec<TreeName> = writes.keys().copied().collect();
    names.sort_unstable();
    let (mut put_trees, mut put_keys, mut put_values) = (Vec::new(), Vec::new(), Vec::new());
    let (mut del_trees, mut del_keys) = (Vec::new(), Vec::new());
    for name in names {
        for (k, v) in writes.get(name).into_iter().flatten() {
            match v {
                Some(v) => {
                    put_trees.push(name);
                    put_keys.push(k.as_slice());
                    put_values.push(v.as_slice());
                }
                None => {
                    del_trees.push(name);
                    del_keys.push(k.as_slice());
                }
            }
        }
    }
    if !put_keys.is_empty() {
        conn.client
            .execute(&conn.stmts.upsert, &[&put_trees, &put_keys, &put_values])?;
    }
    if !del_keys.is_empty() {
        conn.client
            .execute(&conn.stmts.delete, &[&del_trees, &del_keys])?;
    }
    Ok(())
}
