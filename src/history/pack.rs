//! Packed blobs read the way `git index-pack` resolves deltas: each pack's
//! objects form a forest (a delta's parent is its base), and walking each
//! tree depth first from its full object inflates every object once and
//! applies every delta once, keeping only the current chain in memory.
//!
//! Why not libgit2's `Odb::read`: it resolves one object at a time, caching
//! only the base at the bottom of a chain (16 MB in all, emptied whenever it
//! fills), so reading the 50 versions of a file stored as a depth-50 chain
//! applies about 50 × 50 / 2 deltas instead of 50. On a history packed as a
//! hosting server packs it (`git repack --depth=50 --window=250`) that made
//! the sweep slower than `git cat-file` itself.
//!
//! Only subtrees holding a wanted blob are walked. Whatever this cannot read
//! (loose objects, alternates, a base outside the pack, a damaged entry, an
//! index format it does not know) is left to the caller, which reads it
//! through libgit2 and so keeps its warnings for damaged objects.
//!
//! Object ids are 20 bytes, or 32 in a SHA-256 repository: its pack
//! indexes (version 2 all the same), `REF_DELTA` bases and pack checksums
//! have the longer ids, nothing else differs.

use super::object_format::ObjectFormat;
use flate2::{Decompress, FlushDecompress, Status};
use git2::Oid;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const OBJ_BLOB: u8 = 3;
const OBJ_OFS_DELTA: u8 = 6;
const OBJ_REF_DELTA: u8 = 7;
const NONE: u32 = u32::MAX;

/// Every pack of an object directory, parsed once: read blobs in bulk with
/// [`Packs::read_wanted`], or single objects (trees, as the walk meets
/// them) with [`Packs::read`] and a [`DeltaCache`].
pub struct Packs {
    packs: Vec<Pack>,
}

impl Packs {
    /// Objects in the packs under `objects_dir`, from the indexes' headers
    /// alone (cheap): whether opening them is worth it.
    pub fn count(objects_dir: &Path) -> u64 {
        pack_indexes(objects_dir)
            .iter()
            .filter_map(|idx| {
                let mut head = [0u8; 8 + 1024];
                File::open(idx).ok()?.read_exact_at(&mut head, 0).ok()?;
                Some(u64::from(be32(&head, 8 + 255 * 4)?))
            })
            .sum()
    }

    /// Every object id in the pack indexes under `objects_dir`, read from
    /// the indexes alone. For SHA-256 repositories: libgit2 1.9's
    /// `Odb::foreach` steps through a pack index as if ids were 20 bytes
    /// long and hands out ids that exist nowhere.
    pub fn ids(objects_dir: &Path, format: ObjectFormat) -> Vec<Oid> {
        let id_len = format.raw_len();
        let mut out = Vec::new();
        for idx in pack_indexes(objects_dir) {
            let Ok(bytes) = std::fs::read(&idx) else {
                continue;
            };
            if bytes.get(..8) != Some(&[0xff, b't', b'O', b'c', 0, 0, 0, 2][..]) {
                continue;
            }
            let Some(n) = be32(&bytes, 8 + 255 * 4) else {
                continue;
            };
            let Some(ids) = bytes.get(IDS_AT..IDS_AT + n as usize * id_len) else {
                continue;
            };
            out.extend(ids.chunks(id_len).filter_map(|id| format.id_from_raw(id)));
        }
        out
    }

    /// Parse every pack index and entry header of a repository in
    /// `format`. A pack this cannot parse is left out: its objects are
    /// libgit2's to read.
    pub fn open(objects_dir: &Path, format: ObjectFormat) -> Packs {
        Packs {
            packs: pack_indexes(objects_dir)
                .iter()
                .filter_map(|idx| Pack::open(idx, format.raw_len()).ok())
                .collect(),
        }
    }

    /// Read every blob of `wanted` found in the packs, calling
    /// `visit(index into wanted, bytes)` once for each (from several
    /// threads). Returns which were read; the rest are the caller's.
    pub fn read_wanted(
        &self,
        wanted: &[Oid],
        threads: usize,
        visit: &(dyn Fn(usize, &[u8]) + Sync),
    ) -> Vec<bool> {
        let done: Vec<AtomicBool> = wanted.iter().map(|_| AtomicBool::new(false)).collect();
        for pack in &self.packs {
            if done.iter().all(|d| d.load(Ordering::Relaxed)) {
                break;
            }
            let forest = pack.forest(wanted);
            pack.resolve(&forest, threads.max(1), &done, visit);
        }
        done.into_iter().map(AtomicBool::into_inner).collect()
    }

    /// Object `id` (raw bytes) if `cache` holds it resolved: never reads
    /// the pack.
    pub fn cached(&self, id: &[u8], cache: &DeltaCache) -> Option<Resolved> {
        self.packs.iter().enumerate().find_map(|(p, pack)| {
            let e = pack.find(id)?;
            cache.entries.get(&(p as u32, e)).cloned()
        })
    }

    /// One object, `(type, bytes)` (types as in packs: 1 commit, 2 tree,
    /// 3 blob, 4 tag), resolving its delta chain through `cache`; `None`
    /// if no pack has it or it cannot be resolved here.
    pub fn read(&self, id: Oid, cache: &mut DeltaCache) -> Option<Resolved> {
        self.packs.iter().enumerate().find_map(|(p, pack)| {
            let e = pack.find(id.as_bytes())?;
            pack.read_entry(p as u32, e, cache)
        })
    }
}

pub const OBJ_TREE: u8 = 2;

/// An object's pack type and bytes.
type Resolved = (u8, Rc<Vec<u8>>);

/// Recently resolved objects, so reading the next version of a tree (a
/// delta against the one read just before) applies one delta, not the whole
/// chain: libgit2 keeps only a chain's full base. First in, first out
/// within a byte budget.
pub struct DeltaCache {
    entries: HashMap<(u32, u32), Resolved>,
    order: VecDeque<(u32, u32)>,
    bytes: usize,
    budget: usize,
    reader: Reader,
}

impl DeltaCache {
    pub fn new(budget: usize) -> DeltaCache {
        DeltaCache {
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget,
            reader: Reader::default(),
        }
    }

    fn put(&mut self, key: (u32, u32), kind: u8, data: &Rc<Vec<u8>>) {
        if data.len() > self.budget / 8 || self.entries.contains_key(&key) {
            return;
        }
        while self.bytes + data.len() > self.budget {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((_, d)) = self.entries.remove(&old) {
                self.bytes -= d.len();
            }
        }
        self.bytes += data.len();
        self.order.push_back(key);
        self.entries.insert(key, (kind, data.clone()));
    }
}

/// `*.idx` files with their `.pack`, in name order (deterministic).
fn pack_indexes(objects_dir: &Path) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(objects_dir.join("pack")) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = dir
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx") && p.with_extension("pack").is_file())
        .collect();
    out.sort();
    out
}

/// One pack entry, in pack order.
#[derive(Clone, Copy)]
struct Entry {
    /// Where its compressed data starts and the next entry begins.
    data: u64,
    end: u64,
    size: u64,
    kind: u8,
    /// Index of its delta base, or [`NONE`].
    base: u32,
}

struct Pack {
    file: File,
    entries: Vec<Entry>,
    /// The index file: object ids in id order, for lookups.
    idx: Vec<u8>,
    /// Index position (id order) → entry (pack order).
    entry_of: Vec<u32>,
    /// Bytes of an object id (20, or 32 for SHA-256).
    id_len: usize,
    /// Per reader thread: see [`CHAIN_BYTES`].
    chain_budget: usize,
    /// Bases rebuilt after being dropped for the budget (for tests).
    rebuilt: AtomicUsize,
}

/// Bytes of resolved bases one reader thread keeps while it walks a tree of
/// deltas, besides the object it applies deltas to. A plain chain of
/// versions holds one version at a time; bases are kept only where the
/// tree branches (several deltas against one object), and past this budget
/// the ones nearest the tree's root are dropped and rebuilt when their next
/// delta comes (from the nearest base still kept), so a history of many
/// large files branching deep does not hold their chains whole.
const CHAIN_BYTES: usize = 32 << 20;

/// One level of the chain a reader walks: an entry, its bytes (`None` once
/// dropped to stay within the budget), and the range of its deltas still
/// to apply, in [`Forest::children`].
struct Level {
    entry: u32,
    bytes: Option<Vec<u8>>,
    cursor: u32,
    end: u32,
}

/// The current chain of bases, within a budget of bytes.
struct Chain {
    levels: Vec<Level>,
    /// Bytes of the levels that hold theirs.
    held: usize,
    budget: usize,
}

impl Chain {
    fn push(&mut self, entry: u32, bytes: Vec<u8>, cursor: u32, end: u32) {
        self.held += bytes.len();
        self.levels.push(Level {
            entry,
            bytes: Some(bytes),
            cursor,
            end,
        });
        // Drop from the bottom, which is needed last; never the top.
        let top = self.levels.len() - 1;
        for level in &mut self.levels[..top] {
            if self.held <= self.budget {
                break;
            }
            if let Some(bytes) = level.bytes.take() {
                self.held -= bytes.len();
            }
        }
    }

    fn pop(&mut self) {
        if let Some(Level {
            bytes: Some(bytes), ..
        }) = self.levels.pop()
        {
            self.held -= bytes.len();
        }
    }
}

/// What resolving a set of wanted blobs needs from one pack.
struct Forest {
    /// Children of each entry (deltas against it), as ranges into `children`.
    child_start: Vec<u32>,
    children: Vec<u32>,
    /// Per entry: index into the caller's `wanted`, or [`NONE`].
    wanted: Vec<u32>,
    /// Per entry: it or a delta built on it is wanted.
    needed: Vec<bool>,
}

const IDS_AT: usize = 8 + 1024;

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl Pack {
    fn open(idx_path: &Path, id_len: usize) -> Result<Pack, String> {
        let idx = std::fs::read(idx_path).map_err(|e| e.to_string())?;
        // Version 2 index: magic, version, fan-out, ids, CRCs, offsets,
        // large offsets, checksums.
        if idx.get(..8) != Some(&[0xff, b't', b'O', b'c', 0, 0, 0, 2][..]) {
            return Err("not a version 2 pack index".into());
        }
        let n = be32(&idx, 8 + 255 * 4).ok_or("short index")? as usize;
        let offsets_at = IDS_AT + n * (id_len + 4);
        let large_at = offsets_at + n * 4;
        if idx.len() < large_at + 2 * id_len {
            return Err("short index".into());
        }
        let mut by_offset: Vec<(u64, u32)> = Vec::with_capacity(n);
        for j in 0..n {
            let small = be32(&idx, offsets_at + j * 4).ok_or("short index")?;
            let offset = if small & 0x8000_0000 != 0 {
                let at = large_at + (small & 0x7fff_ffff) as usize * 8;
                u64::from_be_bytes(
                    idx.get(at..at + 8)
                        .ok_or("bad large offset")?
                        .try_into()
                        .map_err(|_| "bad large offset")?,
                )
            } else {
                u64::from(small)
            };
            by_offset.push((offset, j as u32));
        }
        by_offset.sort_unstable();
        let mut entry_of = vec![NONE; n];
        for (e, &(_, j)) in by_offset.iter().enumerate() {
            entry_of[j as usize] = e as u32;
        }
        let mut pack = Pack {
            file: File::open(idx_path.with_extension("pack")).map_err(|e| e.to_string())?,
            entries: Vec::with_capacity(n),
            idx,
            entry_of,
            id_len,
            chain_budget: CHAIN_BYTES,
            rebuilt: AtomicUsize::new(0),
        };
        let file = &pack.file;
        let pack_len = file.metadata().map_err(|e| e.to_string())?.len();
        let mut head = [0u8; 12];
        file.read_exact_at(&mut head, 0)
            .map_err(|e| e.to_string())?;
        if &head[..4] != b"PACK" || !matches!(be32(&head, 4), Some(2 | 3)) {
            return Err("not a version 2 or 3 pack".into());
        }
        let data_end = pack_len.saturating_sub(id_len as u64);
        let mut entries = Vec::with_capacity(n);
        let mut headers = HeaderWindow::default();
        for (e, &(offset, _)) in by_offset.iter().enumerate() {
            let end = by_offset.get(e + 1).map_or(data_end, |&(next, _)| next);
            let parsed = if offset < 12 || end <= offset {
                None
            } else {
                let want = ((end - offset) as usize).min(MAX_HEADER);
                headers
                    .read(file, offset, want, data_end)
                    .and_then(|b| parse_header(b, offset, id_len))
            };
            let entry = match parsed {
                Some(h) => Entry {
                    data: offset + h.len as u64,
                    end,
                    size: h.size,
                    kind: h.kind,
                    base: match h.base {
                        Base::None => NONE,
                        Base::Offset(at) => by_offset
                            .binary_search_by_key(&at, |&(o, _)| o)
                            .map_or(NONE, |b| b as u32),
                        Base::Id(id) => pack.find(id).unwrap_or(NONE),
                    },
                },
                // Unreadable: neither it nor its deltas are resolved here.
                None => Entry {
                    data: 0,
                    end: 0,
                    size: 0,
                    kind: 0,
                    base: NONE,
                },
            };
            entries.push(entry);
        }

        pack.entries = entries;
        Ok(pack)
    }

    /// The entry of an object id. Ids are hash output, spread evenly: the
    /// search starts where the id's bytes say it should be and gallops from
    /// there (a few probes, not the 18 of a binary search over 250k ids,
    /// and at worst twice a binary search's).
    fn find(&self, id: &[u8]) -> Option<u32> {
        if id.len() != self.id_len {
            return None;
        }
        // The fan-out table bounds the ids starting with this byte.
        let first = usize::from(id[0]);
        let fanout = |b: usize| be32(&self.idx, 8 + b * 4).map_or(0, |v| v as usize);
        let lo = if first == 0 { 0 } else { fanout(first - 1) };
        let hi = fanout(first).min(self.entry_of.len());
        if lo >= hi {
            return None;
        }
        let prefix = |bytes: &[u8]| u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
        let key = prefix(id);
        let order = |j: usize| {
            let at = IDS_AT + j * self.id_len;
            let there = &self.idx[at..at + self.id_len];
            prefix(there)
                .cmp(&key)
                .then_with(|| there[8..].cmp(&id[8..]))
        };
        let fraction = u64::from(u32::from_be_bytes(id[1..5].try_into().expect("4 bytes")));
        let guess = lo + ((fraction * (hi - lo) as u64) >> 32) as usize;
        // Gallop from the guess to a range that holds the id, then bisect it.
        let (mut lo, mut hi) = match order(guess) {
            std::cmp::Ordering::Equal => return Some(self.entry_of[guess]),
            std::cmp::Ordering::Less => {
                let mut step = 1;
                while guess + step < hi && order(guess + step) == std::cmp::Ordering::Less {
                    step *= 2;
                }
                (guess + step / 2 + 1, (guess + step + 1).min(hi))
            }
            std::cmp::Ordering::Greater => {
                let mut step = 1;
                while step <= guess - lo && order(guess - step) == std::cmp::Ordering::Greater {
                    step *= 2;
                }
                (guess.saturating_sub(step).max(lo), guess - step / 2)
            }
        };
        while lo < hi {
            let mid = (lo + hi) / 2;
            match order(mid) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(self.entry_of[mid]),
            }
        }
        None
    }

    /// One entry, resolving its chain from the nearest cached or full
    /// object and caching every object on the way.
    fn read_entry(&self, p: u32, e: u32, cache: &mut DeltaCache) -> Option<Resolved> {
        let mut chain = Vec::new();
        let mut at = e;
        let (kind, mut data) = loop {
            if let Some((kind, data)) = cache.entries.get(&(p, at)) {
                break (*kind, data.clone());
            }
            let entry = self.entries.get(at as usize)?;
            if entry.kind == 0 {
                return None;
            }
            if entry.kind < OBJ_OFS_DELTA {
                let data = Rc::new(cache.reader.inflate(&self.file, entry).ok()?);
                cache.put((p, at), entry.kind, &data);
                break (entry.kind, data);
            }
            chain.push(at);
            // A cycle or absurd depth is damage.
            if entry.base == NONE || chain.len() > self.entries.len() {
                return None;
            }
            at = entry.base;
        };
        for &d in chain.iter().rev() {
            let delta = cache
                .reader
                .inflate(&self.file, &self.entries[d as usize])
                .ok()?;
            data = Rc::new(apply_delta(&data, &delta).ok()?);
            cache.put((p, d), kind, &data);
        }
        Some((kind, data))
    }

    fn forest(&self, wanted: &[Oid]) -> Forest {
        let n = self.entries.len();
        let entries = &self.entries;
        let mut wanted_of = vec![NONE; n];
        for (w, id) in wanted.iter().enumerate() {
            if let Some(e) = self.find(id.as_bytes()) {
                wanted_of[e as usize] = w as u32;
            }
        }
        // Mark every entry on the chain of a wanted one.
        let mut needed = vec![false; n];
        for (e, w) in wanted_of.iter().enumerate() {
            if *w == NONE {
                continue;
            }
            let mut at = e as u32;
            let mut steps = 0;
            while at != NONE && !needed[at as usize] && steps <= n {
                needed[at as usize] = true;
                at = entries[at as usize].base;
                steps += 1;
            }
        }
        // Children lists (compressed rows), only for needed entries.
        let mut child_start = vec![0u32; n + 1];
        for e in 0..n {
            let base = entries[e].base;
            if needed[e] && base != NONE {
                child_start[base as usize + 1] += 1;
            }
        }
        for e in 0..n {
            child_start[e + 1] += child_start[e];
        }
        let mut fill = child_start.clone();
        let mut children = vec![0u32; child_start[n] as usize];
        for e in 0..n {
            let base = entries[e].base;
            if needed[e] && base != NONE {
                children[fill[base as usize] as usize] = e as u32;
                fill[base as usize] += 1;
            }
        }
        Forest {
            child_start,
            children,
            wanted: wanted_of,
            needed,
        }
    }

    /// Resolve every needed tree of deltas, roots shared among threads.
    fn resolve(
        &self,
        f: &Forest,
        threads: usize,
        done: &[AtomicBool],
        visit: &(dyn Fn(usize, &[u8]) + Sync),
    ) {
        let roots: Vec<u32> = (0..self.entries.len() as u32)
            .filter(|&e| {
                let entry = &self.entries[e as usize];
                f.needed[e as usize] && entry.kind != 0 && entry.kind < OBJ_OFS_DELTA
            })
            .collect();
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let mut reader = Reader::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&root) = roots.get(i) else { break };
                        self.resolve_tree(f, root, &mut reader, done, visit);
                    }
                });
            }
        });
    }

    fn resolve_tree(
        &self,
        f: &Forest,
        root: u32,
        reader: &mut Reader,
        done: &[AtomicBool],
        visit: &(dyn Fn(usize, &[u8]) + Sync),
    ) {
        let kind = self.entries[root as usize].kind;
        let Ok(data) = reader.inflate(&self.file, &self.entries[root as usize]) else {
            return; // left to libgit2, which names the damage
        };
        self.deliver(f, root, kind, &data, done, visit);
        let mut chain = Chain {
            levels: Vec::new(),
            held: 0,
            budget: self.chain_budget,
        };
        chain.push(
            root,
            data,
            f.child_start[root as usize],
            f.child_start[root as usize + 1],
        );
        while let Some(top) = chain.levels.last_mut() {
            if top.cursor == top.end {
                chain.pop();
                continue;
            }
            let child = f.children[top.cursor as usize];
            top.cursor += 1;
            if top.bytes.is_none() {
                let at = top.entry;
                let Some(bytes) = self.rebuild(at, &chain.levels, reader) else {
                    // Read once already, so only damage: its other deltas
                    // are left to libgit2.
                    chain.pop();
                    continue;
                };
                self.rebuilt.fetch_add(1, Ordering::Relaxed);
                chain.held += bytes.len();
                chain.levels.last_mut().expect("the top level").bytes = Some(bytes);
            }
            let top = chain.levels.last().expect("the top level");
            let base = top.bytes.as_deref().expect("resolved just above");
            let entry = &self.entries[child as usize];
            let Ok(delta) = reader.inflate(&self.file, entry) else {
                continue;
            };
            let Ok(object) = apply_delta(base, &delta) else {
                continue;
            };
            self.deliver(f, child, kind, &object, done, visit);
            // A base with no delta left to apply is not kept under its
            // child: a plain chain of versions holds one version at a time.
            if top.cursor == top.end {
                chain.pop();
            }
            let (from, to) = (
                f.child_start[child as usize],
                f.child_start[child as usize + 1],
            );
            if from < to {
                chain.push(child, object, from, to);
            }
        }
    }

    /// The bytes of entry `at` again, after [`Chain`] dropped them: from the
    /// nearest base up its chain whose bytes a level still holds, or from
    /// the full object at the chain's bottom, applying the deltas down.
    fn rebuild(&self, at: u32, levels: &[Level], reader: &mut Reader) -> Option<Vec<u8>> {
        let mut deltas = Vec::new();
        let mut e = at;
        let mut data = loop {
            if let Some(bytes) = levels
                .iter()
                .find(|l| l.entry == e)
                .and_then(|l| l.bytes.as_ref())
            {
                break bytes.clone();
            }
            let entry = self.entries.get(e as usize)?;
            if entry.kind != 0 && entry.kind < OBJ_OFS_DELTA {
                break reader.inflate(&self.file, entry).ok()?;
            }
            deltas.push(e);
            if entry.base == NONE || deltas.len() > self.entries.len() {
                return None;
            }
            e = entry.base;
        };
        for &d in deltas.iter().rev() {
            let delta = reader.inflate(&self.file, &self.entries[d as usize]).ok()?;
            data = apply_delta(&data, &delta).ok()?;
        }
        Some(data)
    }

    fn deliver(
        &self,
        f: &Forest,
        entry: u32,
        kind: u8,
        bytes: &[u8],
        done: &[AtomicBool],
        visit: &(dyn Fn(usize, &[u8]) + Sync),
    ) {
        let w = f.wanted[entry as usize];
        // A wanted id that is not a blob here is left to libgit2's warning.
        if w != NONE && kind == OBJ_BLOB && !done[w as usize].swap(true, Ordering::Relaxed) {
            visit(w as usize, bytes);
        }
    }
}

enum Base<'a> {
    None,
    Offset(u64),
    Id(&'a [u8]),
}

struct Header<'a> {
    kind: u8,
    size: u64,
    len: usize,
    base: Base<'a>,
}

/// An entry's header: type and inflated size, then the delta base (an
/// `id_len`-byte id for a `REF_DELTA`).
fn parse_header(b: &[u8], offset: u64, id_len: usize) -> Option<Header<'_>> {
    let mut p = 0;
    let mut c = *b.get(p)?;
    p += 1;
    let kind = (c >> 4) & 7;
    let mut size = u64::from(c & 15);
    let mut shift = 4;
    while c & 0x80 != 0 {
        c = *b.get(p)?;
        p += 1;
        if shift > 57 {
            return None;
        }
        size |= u64::from(c & 0x7f) << shift;
        shift += 7;
    }
    let base = match kind {
        1..=4 => Base::None,
        OBJ_OFS_DELTA => {
            let mut c = *b.get(p)?;
            p += 1;
            let mut back = u64::from(c & 0x7f);
            while c & 0x80 != 0 {
                c = *b.get(p)?;
                p += 1;
                back = back.checked_add(1)?.checked_mul(128)? | u64::from(c & 0x7f);
            }
            if back == 0 || back > offset {
                return None;
            }
            Base::Offset(offset - back)
        }
        OBJ_REF_DELTA => {
            let id = b.get(p..p + id_len)?;
            p += id_len;
            Base::Id(id)
        }
        _ => return None,
    };
    Some(Header {
        kind,
        size,
        len: p,
        base,
    })
}

/// Longest entry header read: type and size varint, then a base offset
/// varint or a base id.
const MAX_HEADER: usize = 64;

/// Entry headers read through one buffer that slides along the pack: a
/// pack holds hundreds of thousands of small entries, and one read per
/// header made opening it cost more system time than the whole walk.
/// Entries far apart (large blobs between) are read on their own.
#[derive(Default)]
struct HeaderWindow {
    buf: Vec<u8>,
    start: u64,
}

impl HeaderWindow {
    const SIZE: usize = 1 << 20;

    /// `want` bytes at `offset` (in order of offset, before `limit`).
    fn read(&mut self, file: &File, offset: u64, want: usize, limit: u64) -> Option<&[u8]> {
        let held = self.start..self.start + self.buf.len() as u64;
        if !(held.contains(&offset) && offset + want as u64 <= held.end) {
            let len = if offset.saturating_sub(held.end) > Self::SIZE as u64 / 2 {
                want
            } else {
                Self::SIZE
                    .min(usize::try_from(limit.saturating_sub(offset)).ok()?)
                    .max(want)
            };
            self.buf.resize(len, 0);
            file.read_exact_at(&mut self.buf, offset).ok()?;
            self.start = offset;
        }
        let at = (offset - self.start) as usize;
        self.buf.get(at..at + want)
    }
}

/// Per-thread buffers and inflater, reused for every entry.
struct Reader {
    compressed: Vec<u8>,
    inflater: Decompress,
}

impl Default for Reader {
    fn default() -> Reader {
        Reader {
            compressed: Vec::new(),
            inflater: Decompress::new(true),
        }
    }
}

impl Reader {
    fn inflate(&mut self, file: &File, entry: &Entry) -> Result<Vec<u8>, ()> {
        if entry.kind == 0 || entry.end <= entry.data {
            return Err(());
        }
        let len = usize::try_from(entry.end - entry.data).map_err(|_| ())?;
        self.compressed.resize(len, 0);
        file.read_exact_at(&mut self.compressed, entry.data)
            .map_err(|_| ())?;
        let size = usize::try_from(entry.size).map_err(|_| ())?;
        // zlib cannot expand more than about 1032:1: a header claiming more
        // is damage, and must not make us reserve it.
        if size / 1032 > len + 64 {
            return Err(());
        }
        let mut out = Vec::with_capacity(size);
        self.inflater.reset(true);
        loop {
            let read = self.inflater.total_in() as usize;
            let input = self.compressed.get(read..).ok_or(())?;
            let before = (self.inflater.total_in(), out.len());
            let status = self
                .inflater
                .decompress_vec(input, &mut out, FlushDecompress::Finish)
                .map_err(|_| ())?;
            match status {
                Status::StreamEnd => break,
                _ if out.len() == out.capacity() => {
                    // More output than the header said: damage.
                    if out.len() > size {
                        return Err(());
                    }
                    out.reserve(1);
                }
                _ if before == (self.inflater.total_in(), out.len()) => return Err(()),
                _ => {}
            }
        }
        if out.len() == size { Ok(out) } else { Err(()) }
    }
}

fn varint(b: &[u8], p: &mut usize) -> Option<usize> {
    let mut value = 0usize;
    let mut shift = 0;
    loop {
        let c = *b.get(*p)?;
        *p += 1;
        if shift > 56 {
            return None;
        }
        value |= usize::from(c & 0x7f) << shift;
        shift += 7;
        if c & 0x80 == 0 {
            return Some(value);
        }
    }
}

/// Apply a git delta (copy-from-base and insert instructions) to `base`.
fn apply_delta(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, ()> {
    let mut p = 0;
    let source = varint(delta, &mut p).ok_or(())?;
    let target = varint(delta, &mut p).ok_or(())?;
    if source != base.len() {
        return Err(());
    }
    // A damaged header must not make us reserve more than the delta's
    // instructions could produce (a copy yields at most 16 MiB).
    let mut out = Vec::with_capacity(target.min(delta.len().saturating_mul(1 << 24)));
    while let Some(&op) = delta.get(p) {
        p += 1;
        if op & 0x80 != 0 {
            let mut offset = 0usize;
            for i in 0..4 {
                if op & (1 << i) != 0 {
                    offset |= usize::from(*delta.get(p).ok_or(())?) << (8 * i);
                    p += 1;
                }
            }
            let mut len = 0usize;
            for i in 0..3 {
                if op & (0x10 << i) != 0 {
                    len |= usize::from(*delta.get(p).ok_or(())?) << (8 * i);
                    p += 1;
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            let end = offset.checked_add(len).ok_or(())?;
            out.extend_from_slice(base.get(offset..end).ok_or(())?);
        } else if op != 0 {
            let n = usize::from(op);
            out.extend_from_slice(delta.get(p..p + n).ok_or(())?);
            p += n;
        } else {
            return Err(());
        }
        if out.len() > target {
            return Err(());
        }
    }
    if out.len() == target {
        Ok(out)
    } else {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_apply_and_damage_is_refused() {
        let base = b"hello, world";
        // source 12, target 12: copy 7 bytes from 0, insert "wor", copy "ld".
        let delta = [12, 12, 0x90, 7, 3, b'w', b'o', b'r', 0x91, 10, 2];
        assert_eq!(apply_delta(base, &delta).unwrap(), b"hello, world");
        // Wrong source size, copy past the end, zero opcode, short result.
        assert!(apply_delta(base, &[11, 1, 0x01, b'x']).is_err());
        assert!(apply_delta(base, &[12, 20, 0x91, 0, 20]).is_err());
        assert!(apply_delta(base, &[12, 1, 0]).is_err());
        assert!(apply_delta(base, &[12, 5, 1, b'x']).is_err());
    }

    #[test]
    fn headers() {
        // Blob of 100 bytes: 0b1_011_0100, 6.
        let h = parse_header(&[0xb4, 0x06], 50, 20).unwrap();
        assert_eq!((h.kind, h.size, h.len), (3, 100, 2));
        // Offset delta 10 bytes back.
        let h = parse_header(&[0x65, 10], 50, 20).unwrap();
        assert!(matches!(h.base, Base::Offset(40)));
        assert!(parse_header(&[0x65, 60], 50, 20).is_none());
        assert!(parse_header(&[0xb4], 50, 20).is_none());
        // Ref delta of 5 bytes: the base id is as long as the format's ids.
        let mut ref_delta = vec![0x75];
        ref_delta.extend([7; 32]);
        let h = parse_header(&ref_delta, 50, 32).unwrap();
        assert!(matches!(h.base, Base::Id(id) if id == [7; 32]));
        assert_eq!(h.len, 33);
        let h = parse_header(&ref_delta, 50, 20).unwrap();
        assert!(matches!(h.base, Base::Id(id) if id == [7; 20]));
        assert!(parse_header(&ref_delta[..30], 50, 32).is_none());
    }

    /// Every id of an index is found at its entry, from any guess, and
    /// ids that are not there are not.
    #[test]
    fn find_finds_every_id_and_nothing_else() {
        let id_len = 20;
        // Uneven on purpose: a crowd of ids sharing long prefixes, gaps,
        // and first bytes with no id at all.
        let mut ids: Vec<[u8; 20]> = Vec::new();
        for i in 0u32..3000 {
            let mut id = [0u8; 20];
            let mixed = i.wrapping_mul(2_654_435_761);
            id[0] = if i % 3 == 0 {
                7
            } else {
                (mixed >> 24) as u8 & 0xf0
            };
            id[1..5].copy_from_slice(&if i % 5 == 0 {
                [9, 9, 9, 9]
            } else {
                mixed.to_be_bytes()
            });
            id[5..9].copy_from_slice(&i.to_be_bytes());
            ids.push(id);
        }
        ids.sort();
        ids.dedup();
        let n = ids.len();
        let mut idx = vec![0xff, b't', b'O', b'c', 0, 0, 0, 2];
        for b in 0..256usize {
            let count = ids.iter().filter(|id| usize::from(id[0]) <= b).count() as u32;
            idx.extend(count.to_be_bytes());
        }
        for id in &ids {
            idx.extend(id);
        }
        let pack = Pack {
            file: File::open("/dev/null").unwrap(),
            entries: Vec::new(),
            idx,
            entry_of: (0..n as u32).collect(),
            id_len,
            chain_budget: CHAIN_BYTES,
            rebuilt: AtomicUsize::new(0),
        };
        for (j, id) in ids.iter().enumerate() {
            assert_eq!(pack.find(id), Some(j as u32), "{id:?}");
            let mut absent = *id;
            absent[19] ^= 0x55;
            if ids.binary_search(&absent).is_err() {
                assert_eq!(pack.find(&absent), None);
            }
        }
        assert_eq!(pack.find(&[0xee; 20]), None);
        assert_eq!(pack.find(&[0; 20]), None);
        assert_eq!(pack.find(&[7; 19]), None, "wrong length");
    }

    fn commit_all(dir: &Path) {
        git(dir, &["add", "-A"]);
        git(
            dir,
            &[
                "-c",
                "user.name=a",
                "-c",
                "user.email=a@b",
                "commit",
                "-qm",
                "v",
            ],
        );
    }

    fn git(dir: &Path, args: &[&str]) {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Past the chain budget, bases are dropped and rebuilt: with no budget
    /// every base under another is rebuilt from the full object, with room
    /// for one version from the nearest kept one, and every blob still reads
    /// back as libgit2 reads it.
    #[test]
    fn chains_over_budget_are_rebuilt_to_the_same_bytes() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path();
        git(path, &["init", "-q"]);
        // Versions of one file, each one line away from a shared text: many
        // deltas against one base, and chains of them.
        let shared: Vec<String> = (0..200)
            .map(|line| format!("line {line} of a text that every version shares\n"))
            .collect();
        for version in 0..30 {
            let mut text = shared.clone();
            text[(version * 7) % 200] = format!("version {version} changed this line\n");
            text.truncate(200 - version % 3);
            std::fs::write(path.join("f.txt"), text.concat()).unwrap();
            commit_all(path);
        }
        git(path, &["repack", "-adfq", "--depth=50", "--window=250"]);
        let repo = git2::Repository::open(path).unwrap();
        let odb = repo.odb().unwrap();
        let objects = path.join(".git/objects");
        let ids: Vec<git2::Oid> = Packs::ids(&objects, ObjectFormat::Sha1)
            .into_iter()
            .filter(|id| odb.read_header(*id).map(|(_, t)| t) == Ok(git2::ObjectType::Blob))
            .collect();
        assert_eq!(ids.len(), 30);
        let one_version = shared.concat().len() + 64;
        for budget in [0, one_version] {
            let mut packs = Packs::open(&objects, ObjectFormat::Sha1);
            packs.packs[0].chain_budget = budget;
            let seen = std::sync::Mutex::new(vec![None; ids.len()]);
            let read = packs.read_wanted(&ids, 1, &|w, bytes| {
                seen.lock().unwrap()[w] = Some(bytes.to_vec());
            });
            assert!(read.iter().all(|r| *r), "budget {budget}");
            for (bytes, id) in seen.into_inner().unwrap().into_iter().zip(&ids) {
                assert_eq!(
                    bytes.as_deref(),
                    Some(odb.read(*id).unwrap().data()),
                    "{id}, budget {budget}"
                );
            }
            let rebuilt = packs.packs[0].rebuilt.load(Ordering::Relaxed);
            assert!(
                rebuilt > 0,
                "budget {budget}: no base was dropped and rebuilt"
            );
        }
    }

    /// Every blob of a deeply deltified pack reads back as libgit2 reads it,
    /// and a loose blob is left to the caller.
    #[test]
    fn reads_every_packed_blob_like_libgit2() {
        reads_every_packed_object_like_libgit2(ObjectFormat::Sha1);
    }

    /// The same in a SHA-256 repository: 32-byte ids in the index, the
    /// trees and the pack's checksum.
    #[test]
    fn reads_every_packed_sha256_object_like_libgit2() {
        reads_every_packed_object_like_libgit2(ObjectFormat::Sha256);
    }

    fn reads_every_packed_object_like_libgit2(format: ObjectFormat) {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path();
        git(
            path,
            &["init", "-q", &format!("--object-format={}", format.name())],
        );
        let mut text = String::new();
        for version in 0..40 {
            for line in 0..50 {
                text.push_str(&format!("line {line} of version {version}\n"));
            }
            std::fs::write(path.join("a.txt"), &text).unwrap();
            std::fs::write(path.join("b.txt"), format!("{version}\n{text}")).unwrap();
            commit_all(path);
        }
        git(path, &["repack", "-adfq", "--depth=50", "--window=250"]);
        std::fs::write(path.join("loose.txt"), "only loose\n").unwrap();
        git(path, &["add", "loose.txt"]);

        let repo = git2::Repository::open(path).unwrap();
        assert_eq!(ObjectFormat::of(&repo), format);
        let odb = repo.odb().unwrap();
        // Every object, from the pack indexes and the loose files' names;
        // for SHA-1, libgit2 lists the same (for SHA-256 its listing of
        // packs is wrong, which is why `Packs::ids` exists).
        let objects = path.join(".git/objects");
        let mut all = Packs::ids(&objects, format);
        all.extend(super::super::loose::ids(&objects, format));
        all.sort();
        all.dedup();
        if format == ObjectFormat::Sha1 {
            let mut listed = Vec::new();
            odb.foreach(|id| {
                listed.push(super::super::object_format::canonical(*id));
                true
            })
            .unwrap();
            listed.sort();
            listed.dedup();
            assert_eq!(listed, all);
        }
        let mut ids: Vec<git2::Oid> = all
            .iter()
            .copied()
            .filter(|id| odb.read_header(*id).map(|(_, t)| t) == Ok(git2::ObjectType::Blob))
            .collect();
        ids.sort();
        ids.dedup();
        assert!(ids.len() > 80, "{}", ids.len());
        let seen = std::sync::Mutex::new(Vec::new());
        let packs = Packs::open(&path.join(".git/objects"), format);
        assert_eq!(packs.packs.len(), 1, "the pack index was understood");
        let read = packs.read_wanted(&ids, 2, &|w, bytes| {
            seen.lock().unwrap().push((w, bytes.to_vec()));
        });
        let loose =
            git2::Oid::hash_object_ext(git2::ObjectType::Blob, b"only loose\n", format.to_git2())
                .unwrap();
        for (w, id) in ids.iter().enumerate() {
            assert_eq!(read[w], *id != loose, "{id}");
        }
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), ids.len() - 1);
        for (w, bytes) in seen {
            assert_eq!(bytes, odb.read(ids[w]).unwrap().data(), "{}", ids[w]);
        }

        // One object at a time, through a small cache (evictions happen):
        // every packed object of every type reads as libgit2 reads it.
        let mut cache = DeltaCache::new(16 << 10);
        let mut trees = 0;
        for id in all {
            let expected = odb.read(id).unwrap();
            match packs.read(id, &mut cache) {
                Some((kind, data)) => {
                    let types = [
                        git2::ObjectType::Commit,
                        git2::ObjectType::Tree,
                        git2::ObjectType::Blob,
                        git2::ObjectType::Tag,
                    ];
                    assert_eq!(types[usize::from(kind) - 1], expected.kind(), "{id}");
                    assert_eq!(&data[..], expected.data(), "{id}");
                    trees += usize::from(kind == OBJ_TREE);
                }
                None => assert_eq!(id, loose, "only the loose blob is not packed"),
            }
        }
        assert!(trees >= 40, "{trees}");
    }
}
