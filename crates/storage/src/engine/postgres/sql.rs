//! The SQL of the engine: every statement text, built once per engine with the schema
//! name quoted in, and the key range of a prefix scan.
//!
//! One table holds every tree: `kv (tree text, k bytea, v bytea, primary key (tree, k))`.
//! `bytea` compares bytewise (memcmp, then the shorter first), which is the key order
//! of the other engines, so a prefix scan is the range `[max(prefix, from),
//! prefix_end)` of the primary key.

/// Statement texts over one schema.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    /// The quoted schema name.
    pub schema: String,
    /// One value: `$1` tree, `$2` key.
    pub get: String,
    /// A range with an upper bound: `$1` tree, `$2` from, `$3` end, `$4` limit.
    pub scan_to: String,
    /// A range without upper bound: `$1` tree, `$2` from, `$3` limit.
    pub scan_open: String,
    /// Writes a batch: `$1` trees, `$2` keys, `$3` values (arrays of one length).
    pub upsert: String,
    /// Removes a batch: `$1` trees, `$2` keys.
    pub delete: String,
    /// Bytes of the engine's tables and indexes.
    pub size: String,
    /// Starts a transaction.
    pub begin: String,
    /// Starts a transaction that holds the writer lock: it waits for the writers in
    /// progress, then no other transaction writes until it ends, and its snapshot is
    /// taken after the lock (LOCK TABLE takes none).
    pub begin_exclusive: String,
    /// Notifies the feed channel (the schema's name) and commits, in one round trip.
    pub notify_commit: String,
}

impl Sql {
    /// The statements over `schema` (a validated plain identifier).
    pub fn new(schema: &str) -> Sql {
        let s = format!("\"{schema}\"");
        let kv = format!("{s}.kv");
        Sql {
            get: format!("SELECT v FROM {kv} WHERE tree = $1 AND k = $2"),
            scan_to: format!(
                "SELECT k, v FROM {kv} WHERE tree = $1 AND k >= $2 AND k < $3 ORDER BY k LIMIT $4"
            ),
            scan_open: format!(
                "SELECT k, v FROM {kv} WHERE tree = $1 AND k >= $2 ORDER BY k LIMIT $3"
            ),
            upsert: format!(
                "INSERT INTO {kv} (tree, k, v) \
                 SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) \
                 ON CONFLICT (tree, k) DO UPDATE SET v = EXCLUDED.v"
            ),
            delete: format!(
                "DELETE FROM {kv} AS d USING unnest($1::text[], $2::bytea[]) AS x(tree, k) \
                 WHERE d.tree = x.tree AND d.k = x.k"
            ),
            size: format!(
                "SELECT (pg_total_relation_size('{s}.kv') \
                 + pg_total_relation_size('{s}.schema_version'))::bigint"
            ),
            begin: "BEGIN ISOLATION LEVEL SERIALIZABLE".into(),
            begin_exclusive: format!(
                "BEGIN ISOLATION LEVEL SERIALIZABLE; LOCK TABLE {kv} IN SHARE ROW EXCLUSIVE MODE"
            ),
            notify_commit: format!("NOTIFY {s}; COMMIT"),
            schema: s,
        }
    }
}

/// The first key after every key that starts with `prefix`, or `None` when no such key
/// exists (an empty prefix, or one made only of 0xFF bytes): trailing 0xFF bytes are
/// dropped and the last remaining byte is incremented.
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let keep = prefix.iter().rposition(|&b| b != 0xFF)?;
    let mut end = prefix[..=keep].to_vec();
    end[keep] += 1;
    Some(end)
}

/// A row limit as SQL's `bigint`.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_first_key_past_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(&[1, 0xFE, 0xFF, 0xFF]), Some(vec![1, 0xFF]));
        assert_eq!(prefix_end(&[0xFF, 0xFF]), None);
        assert_eq!(prefix_end(&[]), None);
    }

    #[test]
    fn every_key_with_the_prefix_lies_before_its_end_and_no_other_between() {
        let prefix = [3u8, 0xFF];
        let end = prefix_end(&prefix).expect("end");
        let keys: [&[u8]; 6] = [
            &[3, 0xFF],
            &[3, 0xFF, 0],
            &[3, 0xFF, 0xFF, 0xFF],
            &[3, 0xFE, 0xFF],
            &[4],
            &[4, 0],
        ];
        for k in keys {
            let inside = k >= &prefix[..] && k < end.as_slice();
            assert_eq!(inside, k.starts_with(&prefix), "{k:?}");
        }
    }

    #[test]
    fn huge_limits_saturate() {
        assert_eq!(sql_limit(usize::MAX), i64::MAX);
        assert_eq!(sql_limit(256), 256);
    }
}
