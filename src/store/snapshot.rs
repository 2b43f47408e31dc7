//! Snapshots in sled: chunks under a snapshot id in the `snapshot` tree, and a manifest in
//! `meta` written only after every chunk is on disk. A snapshot without a manifest (a crash
//! while writing it) is never read; a chunk that fails its checksum stops start-up.

use super::{Seq, Store};
use crate::error::Fault;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Log records removed per batch when trimming, so no single sled batch is huge.
const TRIM_BATCH: usize = 10_000;

/// Threads that check and decode snapshot chunks at start-up.
const LOAD_THREADS: usize = 2;

/// What a complete snapshot is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: u64,
    /// Every operation up to this sequence number is in the snapshot.
    pub seq: Seq,
    pub chunks: u32,
    pub bytes: u64,
    /// SHA-256 of each chunk, in order.
    pub checksums: Vec<[u8; 32]>,
}

fn chunk_key(id: u64, index: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&id.to_be_bytes());
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

impl Store {
    /// The manifest of the newest complete snapshot.
    pub fn manifest(&self) -> Result<Option<Manifest>, Fault> {
        match self.meta.get("snapshot")? {
            None => Ok(None),
            Some(bytes) => rmp_serde::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Fault(format!("the snapshot manifest is corrupt: {e}"))),
        }
    }

    /// Writes a snapshot covering the log up to `seq`, makes it the current one, then drops
    /// the previous snapshot and the log it covers. Blocking.
    pub fn write_snapshot(
        &self,
        seq: Seq,
        chunks: impl Iterator<Item = Vec<u8>>,
    ) -> Result<Manifest, Fault> {
        let previous = self.manifest()?;
        let id = previous.as_ref().map(|m| m.id + 1).unwrap_or(1);
        let mut checksums = Vec::new();
        let mut bytes = 0u64;
        for (index, chunk) in chunks.enumerate() {
            let index =
                u32::try_from(index).map_err(|_| Fault("too many snapshot chunks".into()))?;
            checksums.push(Sha256::digest(&chunk).into());
            bytes += chunk.len() as u64;
            self.snapshot.insert(chunk_key(id, index), chunk)?;
        }
        let manifest = Manifest {
            id,
            seq,
            chunks: checksums.len() as u32,
            bytes,
            checksums,
        };
        // Every chunk (and every log record up to `seq`) is on disk before the manifest
        // names them.
        self.db.flush()?;
        let encoded = rmp_serde::to_vec_named(&manifest).expect("manifests always encode");
        self.meta.insert("snapshot", encoded)?;
        self.db.flush()?;
        if let Some(old) = previous {
            self.drop_chunks(old.id)?;
        }
        self.trim_log(seq)?;
        self.db.flush()?;
        Ok(manifest)
    }

    /// The current snapshot's chunks, each checked against its checksum and turned into a
    /// `T` by `decode`. This thread reads; [`LOAD_THREADS`] threads check and decode
    /// meanwhile, so start-up costs about the slower of the two, not their sum.
    pub fn load_snapshot<T: Send>(
        &self,
        decode: impl Fn(u32, &[u8]) -> Result<T, Fault> + Sync,
    ) -> Result<Option<(Manifest, Vec<T>)>, Fault> {
        let Some(manifest) = self.manifest()? else {
            return Ok(None);
        };
        let manifest_ref = &manifest;
        let decode = &decode;
        // A few chunks read ahead, so the readers never wait and memory stays bounded.
        let (tx, rx) = std::sync::mpsc::sync_channel::<(u32, sled::IVec)>(LOAD_THREADS * 4);
        let rx = std::sync::Mutex::new(rx);
        let results = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..LOAD_THREADS)
                .map(|_| {
                    let rx = &rx;
                    scope.spawn(move || -> Result<Vec<(u32, T)>, Fault> {
                        let mut out = Vec::new();
                        loop {
                            let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                            let Ok((index, chunk)) = next else {
                                return Ok(out);
                            };
                            let sum: [u8; 32] = Sha256::digest(&chunk).into();
                            if manifest_ref.checksums.get(index as usize) != Some(&sum) {
                                return Err(Fault(format!(
                                    "snapshot {} chunk {index} fails its checksum: the data \
                                     folder is damaged",
                                    manifest_ref.id
                                )));
                            }
                            out.push((index, decode(index, &chunk)?));
                        }
                    })
                })
                .collect();
            let mut read = Ok(());
            for index in 0..manifest.chunks {
                let chunk = match self.snapshot.get(chunk_key(manifest.id, index)) {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => {
                        read = Err(Fault(format!(
                            "snapshot {} is missing chunk {index} of {}: the data folder is \
                             damaged",
                            manifest.id, manifest.chunks
                        )));
                        break;
                    }
                    Err(e) => {
                        read = Err(e.into());
                        break;
                    }
                };
                if tx.send((index, chunk)).is_err() {
                    // A worker failed; its error is reported below.
                    break;
                }
            }
            drop(tx);
            let mut decoded = Vec::with_capacity(manifest.chunks as usize);
            for worker in workers {
                match worker.join() {
                    Ok(Ok(part)) => decoded.extend(part),
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Err(Fault("a snapshot decoding thread panicked".into())),
                }
            }
            read.map(|()| decoded)
        })?;
        let mut results = results;
        results.sort_unstable_by_key(|(index, _)| *index);
        Ok(Some((
            manifest,
            results.into_iter().map(|(_, t)| t).collect(),
        )))
    }

    fn drop_chunks(&self, id: u64) -> Result<(), Fault> {
        let keys: Vec<sled::IVec> = self
            .snapshot
            .scan_prefix(id.to_be_bytes())
            .keys()
            .collect::<Result<_, _>>()?;
        for key in keys {
            self.snapshot.remove(key)?;
        }
        Ok(())
    }

    /// Removes log records up to `seq` (a snapshot covers them).
    fn trim_log(&self, seq: Seq) -> Result<(), Fault> {
        loop {
            let keys: Vec<sled::IVec> = self
                .log
                .range(..=seq.to_be_bytes())
                .keys()
                .take(TRIM_BATCH)
                .collect::<Result<_, _>>()?;
            if keys.is_empty() {
                return Ok(());
            }
            let mut batch = sled::Batch::default();
            for key in keys {
                batch.remove(key);
            }
            self.log.apply_batch(batch)?;
        }
    }
}
