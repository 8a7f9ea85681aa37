//! The RocksDB [`Store`]: one column family per concern, one synced `WriteBatch` per block.

use std::path::Path;

use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, ReadOptions,
    SnapshotWithThreadMode, WriteBatch, WriteOptions,
};
use veil_circuits::screening::stored::{KvEntry, RegistryKv, StoredRegistryError};

use super::{
    AppliedBlock, Store, StoreError, StoredBlock, StoredEntry, check_next, decode_block_record,
    decode_entry_record, encode_block_record, encode_entry_record, keys,
};
use crate::ledger::EntryId;

/// Memtable bytes per column family (RocksDB's default is 64 MiB, with up to two per family:
/// a node and a gateway each have about ten families, and a one-machine consortium 21 to 64
/// members).
pub const WRITE_BUFFER_BYTES: usize = 8 << 20;
/// Write-ahead log bytes per database before the oldest logs' families are flushed.
pub const WAL_BYTES: u64 = 64 << 20;
/// Block cache bytes per database, shared by its column families (RocksDB's default is one
/// 32 MiB cache per family).
pub const BLOCK_CACHE_BYTES: usize = 16 << 20;

/// Column-family options with bounded memory: [`WRITE_BUFFER_BYTES`] memtables (two at most),
/// blocks cached in `cache` (one per database, [`BLOCK_CACHE_BYTES`]), LZ4 compression. Index
/// and filter blocks live in that cache too (not beside it, growing with the ledger), and each
/// table has a bloom filter of 10 bits per key (about 1% false positives), so a point read of an
/// entry by its random id touches one table, not every level. A database's memory is then about
/// `families × 2 × 8 MiB + 16 MiB` at most.
pub fn bounded_family_options(cache: &rocksdb::Cache) -> Options {
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_bloom_filter(10.0, false);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut options = Options::default();
    options.set_block_based_table_factory(&table);
    options.set_write_buffer_size(WRITE_BUFFER_BYTES);
    options.set_max_write_buffer_number(2);
    options.set_compression_type(rocksdb::DBCompressionType::Lz4);
    options
}

/// A ledger stored in RocksDB.
pub struct RocksStore {
    db: DB,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.db.path())
            .finish()
    }
}

fn engine(error: rocksdb::Error) -> StoreError {
    StoreError::Engine(error.into_string())
}

impl RocksStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_paranoid_checks(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // Families written rarely (metadata, registry) would otherwise keep old write-ahead
        // logs alive: past this size RocksDB flushes them, so a restart replays less.
        options.set_max_total_wal_size(WAL_BYTES);
        let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let families = keys::COLUMN_FAMILIES
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, bounded_family_options(&cache)));
        let db = DB::open_cf_descriptors(&options, path, families).map_err(engine)?;
        Ok(Self { db })
    }

    fn cf(&self, name: &'static str) -> Result<&ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or(StoreError::Corrupt("missing column family"))
    }

    fn ids_with_prefix(&self, prefix: &[u8], start: &[u8]) -> Result<Vec<[u8; 16]>, StoreError> {
        let indexes = self.cf(keys::CF_INDEXES)?;
        let mut ids = Vec::new();
        for item in self
            .db
            .iterator_cf(indexes, IteratorMode::From(start, Direction::Forward))
        {
            let (key, value) = item.map_err(engine)?;
            if !key.starts_with(prefix) {
                break;
            }
            ids.push(
                value
                    .as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("index value"))?,
            );
        }
        Ok(ids)
    }
}

impl Store for RocksStore {
    fn head(&self) -> Result<Option<(u64, [u8; 32])>, StoreError> {
        let Some(value) = self
            .db
            .get_cf(self.cf(keys::CF_METADATA)?, keys::HEAD)
            .map_err(engine)?
        else {
            return Ok(None);
        };
        if value.len() != 40 {
            return Err(StoreError::Corrupt("head"));
        }
        let height = u64::from_be_bytes(
            value[..8]
                .try_into()
                .map_err(|_| StoreError::Corrupt("head"))?,
        );
        let digest = value[8..]
            .try_into()
            .map_err(|_| StoreError::Corrupt("head"))?;
        Ok(Some((height, digest)))
    }

    fn apply(&self, applied: &AppliedBlock) -> Result<(), StoreError> {
        check_next(self.head()?, &applied.block)?;
        let height = applied.block.height;
        let (blocks, entries, indexes, metadata) = (
            self.cf(keys::CF_BLOCKS)?,
            self.cf(keys::CF_ENTRIES)?,
            self.cf(keys::CF_INDEXES)?,
            self.cf(keys::CF_METADATA)?,
        );
        let mut batch = WriteBatch::default();
        batch.put_cf(
            blocks,
            keys::block(height),
            encode_block_record(&applied.block),
        );
        for (index, entry) in applied.entries.iter().enumerate() {
            let index = index as u32;
            batch.put_cf(
                entries,
                entry.id.0,
                encode_entry_record(height, index, &entry.bytes),
            );
            batch.put_cf(
                indexes,
                keys::by_type(&entry.kind, height, index),
                entry.id.0,
            );
            for reference in &entry.references {
                batch.put_cf(
                    indexes,
                    keys::referrer(&reference.0, height, index),
                    entry.id.0,
                );
                if entry.settles_references {
                    batch.put_cf(indexes, keys::settled(&reference.0), entry.id.0);
                }
            }
        }
        let registry = self.cf(keys::CF_REGISTRY)?;
        for (key, value) in &applied.registry {
            match value {
                Some(value) => batch.put_cf(registry, key, value),
                None => batch.delete_cf(registry, key),
            }
        }
        let mut head = Vec::with_capacity(40);
        head.extend_from_slice(&height.to_be_bytes());
        head.extend_from_slice(&applied.block.digest);
        batch.put_cf(metadata, keys::HEAD, head);
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db.write_opt(batch, &options).map_err(engine)
    }

    fn registry(&self) -> Result<Box<dyn RegistryKv + '_>, StoreError> {
        Ok(Box::new(RegistrySnapshot::new(
            &self.db,
            self.cf(keys::CF_REGISTRY)?,
        )))
    }

    fn block(&self, height: u64) -> Result<Option<StoredBlock>, StoreError> {
        self.db
            .get_cf(self.cf(keys::CF_BLOCKS)?, keys::block(height))
            .map_err(engine)?
            .map(|bytes| decode_block_record(height, &bytes))
            .transpose()
    }

    fn entry(&self, id: &EntryId) -> Result<Option<StoredEntry>, StoreError> {
        self.db
            .get_cf(self.cf(keys::CF_ENTRIES)?, id.0)
            .map_err(engine)?
            .map(|bytes| decode_entry_record(&bytes))
            .transpose()
    }

    fn entries_by_type(
        &self,
        kind: &str,
        after: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let prefix = keys::by_type_prefix(kind);
        let start = match after {
            Some((height, index)) => {
                let mut key = keys::by_type(kind, height, index);
                key.push(0);
                key
            }
            None => prefix.clone(),
        };
        let indexes = self.cf(keys::CF_INDEXES)?;
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(indexes, IteratorMode::From(&start, Direction::Forward))
        {
            if out.len() >= limit {
                break;
            }
            let (key, value) = item.map_err(engine)?;
            if !key.starts_with(&prefix) {
                break;
            }
            let id: [u8; 16] = value
                .as_ref()
                .try_into()
                .map_err(|_| StoreError::Corrupt("index value"))?;
            let entry = self
                .entry(&EntryId(id))?
                .ok_or(StoreError::Corrupt("index points to a missing entry"))?;
            out.push(entry);
        }
        Ok(out)
    }

    fn referrers(&self, id: &EntryId) -> Result<Vec<StoredEntry>, StoreError> {
        let prefix = keys::referrers_prefix(&id.0);
        self.ids_with_prefix(&prefix, &prefix)?
            .into_iter()
            .map(|id| {
                self.entry(&EntryId(id))?
                    .ok_or(StoreError::Corrupt("index points to a missing entry"))
            })
            .collect()
    }

    fn settled_by(&self, id: &EntryId) -> Result<Option<EntryId>, StoreError> {
        self.db
            .get_cf(self.cf(keys::CF_INDEXES)?, keys::settled(&id.0))
            .map_err(engine)?
            .map(|value| {
                value
                    .as_slice()
                    .try_into()
                    .map(EntryId)
                    .map_err(|_| StoreError::Corrupt("settled index"))
            })
            .transpose()
    }

    fn check_genesis(&self, genesis_hash: &[u8; 32]) -> Result<(), StoreError> {
        let metadata = self.cf(keys::CF_METADATA)?;
        match self.db.get_cf(metadata, keys::GENESIS).map_err(engine)? {
            Some(existing) if existing.as_slice() != genesis_hash => Err(StoreError::WrongGenesis),
            Some(_) => Ok(()),
            None => {
                let mut options = WriteOptions::default();
                options.set_sync(true);
                self.db
                    .put_cf_opt(metadata, keys::GENESIS, genesis_hash, &options)
                    .map_err(engine)
            }
        }
    }
}

/// A registry column family as of one RocksDB snapshot (a node's, and a gateway's copy).
pub struct RegistrySnapshot<'a> {
    db: &'a DB,
    cf: &'a ColumnFamily,
    snapshot: SnapshotWithThreadMode<'a, DB>,
}

impl std::fmt::Debug for RegistrySnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrySnapshot")
            .field("path", &self.db.path())
            .finish_non_exhaustive()
    }
}

impl<'a> RegistrySnapshot<'a> {
    /// The registry kept in column family `cf` of `db`, as of now: later writes are not seen.
    pub fn new(db: &'a DB, cf: &'a ColumnFamily) -> Self {
        Self {
            db,
            cf,
            snapshot: db.snapshot(),
        }
    }
}

fn registry_error(error: rocksdb::Error) -> StoredRegistryError {
    StoredRegistryError::Store(error.into_string())
}

impl RegistrySnapshot<'_> {
    fn bounded(&self, start: &[u8], end: &[u8]) -> ReadOptions {
        let mut options = ReadOptions::default();
        options.set_snapshot(&self.snapshot);
        options.set_iterate_lower_bound(start.to_vec());
        options.set_iterate_upper_bound(end.to_vec());
        options
    }
}

impl RegistryKv for RegistrySnapshot<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoredRegistryError> {
        let mut options = ReadOptions::default();
        options.set_snapshot(&self.snapshot);
        self.db
            .get_cf_opt(self.cf, key, &options)
            .map_err(registry_error)
    }

    fn first_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvEntry>, StoredRegistryError> {
        self.db
            .iterator_cf_opt(self.cf, self.bounded(start, end), IteratorMode::Start)
            .next()
            .transpose()
            .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .map_err(registry_error)
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvEntry>, StoredRegistryError> {
        self.db
            .iterator_cf_opt(self.cf, self.bounded(start, end), IteratorMode::End)
            .next()
            .transpose()
            .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .map_err(registry_error)
    }
}
