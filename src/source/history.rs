//! Git history source: decides which blobs a sweep reads, then reads them in
//! parallel and hands each one's bytes to a visitor.
//!
//! Planning walks commits newest first and each commit's tree, skipping any
//! tree already walked in the same context, and collects every blob once with
//! the kinds of path it appears under. Reading then follows the order in which
//! blobs were first met. For large sweeps the caller reads most blobs by
//! resolving each pack's deltas once ([`crate::history::pack`]) and hands
//! only what that cannot read to [`read_while`]'s libgit2 readers.

use super::SourceStats;
use crate::detect::{DirContext, FileKind};
use crate::history::loose::Damaged;
use crate::history::object_format::{self, ObjectFormat};
use crate::history::pack::{DeltaCache, OBJ_TREE, Packs};
use crate::history::tree::{self, EntryKind};
use git2::{ObjectType, Odb, Oid, Repository};
use std::collections::hash_map::Entry as MapEntry;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which part of history to sweep.
#[derive(Clone, Debug)]
pub enum Selection {
    /// Every ref: branches, tags, remote-tracking branches, notes, the stash
    /// and its reflog, and HEAD.
    AllRefs,
    /// Only what these revisions (`--branch`) reach.
    Revisions(Vec<String>),
    /// Only blobs that the commits of `A..B` add or change.
    Range(String),
}

/// One blob to read, with the kinds of path it was seen under (and the first
/// path seen for each kind) so each analyser runs on it once.
#[derive(Clone, Debug, PartialEq)]
pub struct BlobToScan {
    pub id: Oid,
    pub seen_as: Vec<(FileKind, String)>,
    /// Handed over a second time because it gained a kind of path: read
    /// again for the new analysers, but not counted again.
    pub again: bool,
    /// Root tree of the commit in which the sweep first met the blob: the
    /// tree whose sibling files (a workflow's `package.json`) its analysis
    /// reads. `None` for blobs no commit names.
    pub root: Option<Oid>,
}

impl BlobToScan {
    pub fn kinds(&self) -> Vec<FileKind> {
        self.seen_as.iter().map(|(k, _)| *k).collect()
    }

    /// The path shown when one is needed before provenance is known.
    pub fn first_path(&self) -> &str {
        &self.seen_as[0].1
    }
}

/// A ref (or stash reflog entry) and the object it finally points at.
#[derive(Clone, Debug)]
pub struct RefTip {
    /// Short name as people say it: `main`, `v1.0.0`, `origin/main`, `stash@{1}`.
    pub name: String,
    pub target: Oid,
}

/// What a sweep will read.
#[derive(Debug, Default)]
pub struct Plan {
    /// Blobs in first-seen order (newest commits first).
    pub blobs: Vec<BlobToScan>,
    /// Commits whose trees hold the blobs, newest first.
    pub commits: Vec<Oid>,
    /// For each of `commits` walked from refs: its committer time and
    /// parents (as named, before checking they exist), so the ref graph
    /// and a recorded walk need not read the commits again.
    pub commit_links: Vec<(i64, Box<[Oid]>)>,
    /// Every ref, for "reachable from"; filled for every selection.
    pub refs: Vec<RefTip>,
    /// Range scans only: the (blob, path) pairs the range added. Provenance
    /// keeps to these so a range never reports what it did not add.
    pub added: Option<HashSet<(Oid, String)>>,
    /// Warnings, notes and skipped objects met while planning.
    pub stats: SourceStats,
}

/// Path given to blobs found only through `--all-objects` or a ref that
/// points straight at a blob: no tree names them.
pub const UNREACHABLE_PATH: &str = "(unreachable blob)";

/// Blobs handed to readers while planning goes on, with their index in
/// [`Plan::blobs`].
pub type Batch = Vec<(usize, BlobToScan)>;

/// Blobs per batch: large enough that handing them over is free, small
/// enough that every reader has work and the readers stay close together in
/// the pack.
const BATCH: usize = 64;

/// Work out which blobs to read, handing them to `sink` in batches as they
/// are found (so reading overlaps the walk). A blob seen again under a new
/// kind of path after it was handed over is handed over once more at the
/// end, with all its kinds.
pub fn plan(
    repo: &Repository,
    selection: &Selection,
    all_objects: bool,
    damaged: &Damaged,
    packs: Option<&Packs>,
    threads: usize,
    sink: &mut dyn FnMut(Batch),
) -> Result<Plan, String> {
    plan_in_runs(
        repo,
        selection,
        all_objects,
        damaged,
        packs,
        threads,
        WALK_RUN_MIN_COMMITS,
        sink,
    )
}

/// [`plan`], walking runs of at least `run_min_commits` commits on
/// threads of their own (tests make them short).
#[allow(clippy::too_many_arguments)]
fn plan_in_runs(
    repo: &Repository,
    selection: &Selection,
    all_objects: bool,
    damaged: &Damaged,
    packs: Option<&Packs>,
    threads: usize,
    run_min_commits: usize,
    sink: &mut dyn FnMut(Batch),
) -> Result<Plan, String> {
    let odb = repo
        .odb()
        .map_err(|e| format!("cannot open the object database: {}", e.message()))?;
    let mut planner = Planner::new(repo, &odb, damaged, sink);
    planner.packs = packs;
    planner.track_trees = all_objects;
    planner.walk_threads = reader_threads(threads);
    planner.run_min_commits = run_min_commits.max(1);
    planner.git_dir = Some(repo.path().to_path_buf());
    planner.plan.refs = all_ref_tips(repo, &odb, damaged, &mut planner.plan.stats);
    if repo.is_shallow() {
        planner.plan.stats.notes.push(
            "history is truncated: this is a shallow clone, so commits before its shallow boundary \
             are not in the repository and were not swept (`git fetch --unshallow` fetches them)"
                .to_string(),
        );
    }
    if is_partial_clone(repo) {
        planner.plan.stats.notes.push(
            "this is a partial clone: blobs that were never downloaded are missing and counted as \
             skipped (`git fetch --refetch` without a filter downloads them)"
                .to_string(),
        );
    }
    match selection {
        Selection::AllRefs => {
            let tips: Vec<RefTip> = planner.plan.refs.clone();
            planner.sweep_tips(&tips);
        }
        Selection::Revisions(revs) => {
            let mut tips = Vec::new();
            for rev in revs {
                let target = resolve(repo, &odb, damaged, rev)?;
                tips.push(RefTip {
                    name: rev.clone(),
                    target,
                });
            }
            planner.sweep_tips(&tips);
        }
        Selection::Range(spec) => planner.sweep_range(spec)?,
    }
    if all_objects {
        planner.sweep_unreachable();
    }
    planner.finish();
    Ok(planner.plan)
}

/// Incremental sweeps: the blobs that `commits` (new since a recorded
/// walk, in walk order) add or change compared with their parents, handed
/// to `sink` in batches as for [`plan`]. The plan's `commits` are those
/// read (its `commit_links` stay empty: the caller has them); blobs carried
/// over unchanged from a parent are not listed (the recorded walk has them).
pub fn plan_changes(
    repo: &Repository,
    commits: &[Oid],
    damaged: &Damaged,
    sink: &mut dyn FnMut(Batch),
) -> Result<Plan, String> {
    let odb = repo
        .odb()
        .map_err(|e| format!("cannot open the object database: {}", e.message()))?;
    let mut planner = Planner::new(repo, &odb, damaged, sink);
    for &id in commits {
        planner.sweep_changes(id, None);
    }
    planner.finish();
    Ok(planner.plan)
}

/// A `--branch` revision to the object it finally names (tags peeled,
/// commits kept: peeling a commit "to any type" would give its tree).
/// Names of refs and full ids are resolved without reading objects, so a
/// damaged object is refused rather than read; other expressions
/// (`HEAD~3`) need libgit2 to walk, which is safe only when no loose object
/// is damaged.
fn resolve(repo: &Repository, odb: &Odb, damaged: &Damaged, rev: &str) -> Result<Oid, String> {
    let start = match repo.resolve_reference_from_short_name(rev) {
        Ok(r) => r.resolve().ok().and_then(|r| r.target()),
        Err(_) => None,
    };
    let start = match start.or_else(|| ObjectFormat::of(repo).id_from_hex(rev)) {
        Some(id) => id,
        None if damaged.is_empty() => repo
            .revparse_single(rev)
            .map(|o| o.id())
            .map_err(|e| format!("no such revision {rev:?}: {}", e.message()))?,
        None => {
            return Err(format!(
                "cannot resolve {rev:?} safely in a repository with damaged loose objects: \
                 name a branch, a tag or a full commit id"
            ));
        }
    };
    peel_tags(repo, odb, damaged, start).map_err(|e| format!("no such revision {rev:?}: {e}"))
}

/// Follow annotated tags to the object they finally point at, refusing
/// damaged objects.
fn peel_tags(repo: &Repository, odb: &Odb, damaged: &Damaged, mut id: Oid) -> Result<Oid, String> {
    // Tags of tags of tags…: bounded, a cycle cannot exist in a sound
    // repository but a hostile one should not spin.
    for _ in 0..64 {
        damaged.refuse(id)?;
        let (_, kind) = odb
            .read_header(id)
            .map_err(|e| format!("object {id} is {}", tree::describe_error(&e)))?;
        if kind != ObjectType::Tag {
            return Ok(id);
        }
        id = repo
            .find_tag(id)
            .map_err(|e| format!("tag {id}: {}", e.message()))?
            .target_id();
    }
    Err(format!("tag chain at {id} is too long"))
}

/// Every ref a sweep of all refs walks, with its final target, and
/// warnings about refs that cannot be resolved.
pub fn ref_tips(
    repo: &Repository,
    damaged: &Damaged,
) -> Result<(Vec<RefTip>, SourceStats), String> {
    let odb = repo
        .odb()
        .map_err(|e| format!("cannot open the object database: {}", e.message()))?;
    let mut stats = SourceStats::default();
    let tips = all_ref_tips(repo, &odb, damaged, &mut stats);
    Ok((tips, stats))
}

/// Every ref's final target. Refs that cannot be resolved are warnings.
fn all_ref_tips(
    repo: &Repository,
    odb: &Odb,
    damaged: &Damaged,
    stats: &mut SourceStats,
) -> Vec<RefTip> {
    let mut tips = Vec::new();
    let mut seen = HashSet::new();
    // Why libgit2 could not list every ref, if it could not.
    let mut listing_failed = None;
    match repo.references() {
        Ok(refs) => {
            for reference in refs {
                let reference = match reference {
                    Ok(r) => r,
                    Err(e) => {
                        listing_failed = Some(e.message().to_string());
                        continue;
                    }
                };
                let full = String::from_utf8_lossy(reference.name_bytes()).into_owned();
                if !seen.insert(full.clone()) {
                    continue;
                }
                let name = String::from_utf8_lossy(reference.shorthand_bytes()).into_owned();
                let target = reference
                    .resolve()
                    .map_err(|e| e.message().trim_end_matches('.').to_string())
                    .and_then(|r| r.target().ok_or_else(|| "no target".to_string()))
                    .and_then(|id| peel_tags(repo, odb, damaged, id));
                match target {
                    Ok(target) => tips.push(RefTip { name, target }),
                    Err(e) => {
                        stats.skipped += 1;
                        stats
                            .warnings
                            .push(format!("ref {full}: cannot resolve it ({e}); not swept"));
                    }
                }
            }
        }
        Err(e) => listing_failed = Some(e.message().to_string()),
    }
    // A damaged ref store (one bad line in packed-refs fails libgit2's
    // whole listing) must not turn into "nothing to sweep": read the ref
    // files as git does, keep the good refs, report the rest as skipped.
    if let Some(why) = listing_failed {
        let files = super::ref_files::read(repo.commondir(), ObjectFormat::of(repo));
        stats.skipped += 1 + files.warnings.len() as u64;
        stats.warnings.push(format!(
            "cannot list refs through libgit2 ({}): read {} ref(s) from the ref files directly, as git does",
            why.trim_end_matches('.'),
            files.refs.len()
        ));
        stats.warnings.extend(files.warnings);
        for (full, id) in files.refs {
            if !seen.insert(full.clone()) {
                continue;
            }
            match peel_tags(repo, odb, damaged, id) {
                Ok(target) => tips.push(RefTip {
                    name: super::ref_files::shorthand(&full).to_string(),
                    target,
                }),
                Err(e) => {
                    stats.skipped += 1;
                    stats
                        .warnings
                        .push(format!("ref {full}: cannot resolve it ({e}); not swept"));
                }
            }
        }
    }
    // A detached HEAD is a ref of its own; an attached one is its branch.
    if repo.head_detached().unwrap_or(false)
        && let Some(head) = repo.head().ok().and_then(|h| h.target())
        && let Ok(target) = peel_tags(repo, odb, damaged, head)
    {
        tips.push(RefTip {
            name: "HEAD".into(),
            target,
        });
    }
    // Other worktrees of this repository have HEADs of their own; a
    // detached one keeps its commits alive (git gc and `git log --all`
    // count it) although no branch names them.
    for (name, head) in other_worktree_heads(repo) {
        if let Ok(target) = peel_tags(repo, odb, damaged, head) {
            tips.push(RefTip { name, target });
        }
    }
    // Older stashes live only in the stash's reflog.
    if let Ok(reflog) = repo.reflog("refs/stash") {
        for (i, entry) in reflog.iter().enumerate().skip(1) {
            tips.push(RefTip {
                name: format!("stash@{{{i}}}"),
                target: entry.id_new(),
            });
        }
    }
    tips.sort_by(|a, b| a.name.cmp(&b.name));
    tips
}

/// Detached HEADs of the repository's other worktrees, named
/// `HEAD@worktree:<name>` (`main` for the main worktree when the sweep runs
/// in a linked one). Attached ones are already swept through their branch.
fn other_worktree_heads(repo: &Repository) -> Vec<(String, Oid)> {
    let detached = |r: &Repository| -> Option<Oid> {
        if r.head_detached().ok()? {
            r.head().ok()?.target()
        } else {
            None
        }
    };
    let mut out = Vec::new();
    let here = repo.path().canonicalize().ok();
    if repo.is_worktree()
        && let Ok(main) = Repository::open(repo.commondir())
        && !main.is_bare()
        && let Some(id) = detached(&main)
    {
        out.push(("HEAD@worktree:main".to_string(), id));
    }
    if let Ok(names) = repo.worktrees() {
        for name in names.iter().flatten().flatten() {
            let Ok(wt) = repo.find_worktree(name) else {
                continue;
            };
            let Ok(other) = Repository::open_from_worktree(&wt) else {
                continue;
            };
            if other.path().canonicalize().ok() == here {
                continue;
            }
            if let Some(id) = detached(&other) {
                out.push((format!("HEAD@worktree:{name}"), id));
            }
        }
    }
    out
}

/// An object directory and its alternates (`info/alternates`: one directory
/// per line, relative ones from the directory naming them), as libgit2
/// follows them: five levels deep at most, each directory once.
fn object_directories(objects: &Path) -> Vec<PathBuf> {
    const MAX_DEPTH: usize = 5;
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen = HashSet::new();
    let mut queue = vec![(objects.to_path_buf(), 0)];
    while let Some((dir, depth)) = queue.pop() {
        if !seen.insert(dir.canonicalize().unwrap_or_else(|_| dir.clone())) {
            continue;
        }
        if depth < MAX_DEPTH
            && let Ok(list) = std::fs::read_to_string(dir.join("info/alternates"))
        {
            for line in list.lines().rev() {
                let line = line.trim_end_matches('\r');
                if !line.is_empty() && !line.starts_with('#') {
                    queue.push((dir.join(line), depth + 1));
                }
            }
        }
        out.push(dir);
    }
    out
}

fn is_partial_clone(repo: &Repository) -> bool {
    repo.config()
        .ok()
        .and_then(|c| c.get_string("extensions.partialclone").ok())
        .is_some()
}

struct Planner<'a, 'r, 's> {
    repo: &'r Repository,
    /// Borrowed, not owned, so objects read from it do not borrow the planner.
    odb: &'a Odb<'r>,
    /// Never read these: libgit2 would hang on them.
    damaged: &'a Damaged,
    plan: Plan,
    seen_commits: IdSet<Oid>,
    format: ObjectFormat,
    /// Trees walked, keyed by id and directory context: the kind of a path
    /// depends on its name and its directory's context only, so a tree met
    /// again in another context (a `workflows` directory copied out of
    /// `.github`) is walked again, and one met in the same context under
    /// another path is not.
    seen_trees: IdSet<(IdKey, DirContext)>,
    /// Every tree walked, whatever its context: only `--all-objects` asks.
    tree_ids: IdSet<IdKey>,
    track_trees: bool,
    /// Blob → its index in the plan and the kinds of path it was seen
    /// under (bits of [`kind_bit`]): the unchanged files of every changed
    /// tree, most of the walk, cost two lookups.
    blob_index: IdMap<IdKey, (u32, u32)>,
    /// The kind of each file name in each directory context, classified
    /// once (file names repeat across directories and versions).
    kind_of_name: HashMap<Box<[u8]>, [Option<FileKind>; DirContext::COUNT]>,
    path_buf: String,
    shallow: bool,
    sink: &'s mut dyn FnMut(Batch),
    /// Read trees from these first (large repositories): consecutive
    /// versions of a tree are consecutive links of a delta chain, which
    /// the cache keeps resolved.
    packs: Option<&'a Packs>,
    delta_cache: DeltaCache,
    /// Blobs `[0, sent)` have been handed to the sink.
    sent: usize,
    /// Handed-over blobs that gained a kind of path since.
    regained: Vec<usize>,
    /// Root tree being walked, recorded with the blobs first met in it.
    current_root: Option<Oid>,
    /// The root tree walked before: the previous version of the next one.
    last_root: Option<IdKey>,
    /// Threads that may walk runs of commits at once (with packs only),
    /// each run at least this many commits.
    walk_threads: usize,
    run_min_commits: usize,
    /// For walker threads to open the repository (libgit2 handles are
    /// not shared between threads).
    git_dir: Option<PathBuf>,
}

/// Commits below which a run is not worth a thread of its own.
const WALK_RUN_MIN_COMMITS: usize = 200;

/// Walk a run of root trees with a planner of this thread's own; `None`
/// if anything could not be read (the caller walks it again itself, so
/// warnings are given once and in order).
fn walk_run(
    git_dir: &Path,
    damaged: &Damaged,
    packs: &Packs,
    format: ObjectFormat,
    cache_bytes: usize,
    roots: &[Oid],
) -> Option<Vec<BlobToScan>> {
    let repo = Repository::open(git_dir).ok()?;
    let odb = repo.odb().ok()?;
    let mut ignore = |_: Batch| {};
    let mut planner = Planner::new(&repo, &odb, damaged, &mut ignore);
    if planner.format != format {
        return None;
    }
    planner.packs = Some(packs);
    planner.delta_cache = DeltaCache::new(cache_bytes);
    for &root in roots {
        planner.walk_tree(root);
    }
    let clean = planner.plan.stats.warnings.is_empty() && planner.plan.stats.skipped == 0;
    clean.then_some(planner.plan.blobs)
}

/// Hashing for the walk's hot sets, keyed by object ids: ids are SHA-1
/// output, so a multiply-rotate mix of their bytes spreads them as well as
/// SipHash at a fraction of the cost. The seed is random per process, so a
/// crafted repository cannot aim its ids at one bucket.
#[derive(Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        // Fold the high bits down: the mix leaves them the strongest.
        self.0 ^ (self.0 >> 29)
    }
}

#[derive(Clone, Copy)]
struct IdHash(u64);

impl Default for IdHash {
    fn default() -> IdHash {
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        IdHash(*SEED.get_or_init(|| {
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        }))
    }
}

impl std::hash::BuildHasher for IdHash {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(self.0)
    }
}

/// An object id as a key of the walk's sets: its raw bytes (20, or 32 in a
/// SHA-256 repository; zero-padded), compared and hashed in Rust. `Oid`'s
/// own equality calls into libgit2, and making an `Oid` from a tree entry
/// does too: profiling showed both as the walk's largest costs.
#[derive(Clone, Copy, PartialEq, Eq)]
struct IdKey([u8; 32]);

impl IdKey {
    /// From an id's raw bytes (at most 32, as the tree parser guarantees).
    fn raw(bytes: &[u8]) -> IdKey {
        let mut key = [0u8; 32];
        key[..bytes.len()].copy_from_slice(bytes);
        IdKey(key)
    }

    fn of(id: Oid) -> IdKey {
        IdKey::raw(id.as_bytes())
    }
}

impl Hash for IdKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

/// A kind of path as a bit of a blob's set of kinds.
fn kind_bit(kind: FileKind) -> u32 {
    1 << (kind as u32)
}

type IdSet<T> = HashSet<T, IdHash>;
type IdMap<K, V> = HashMap<K, V, IdHash>;

/// Budget of the planner's cache of resolved trees.
const TREE_CACHE_BYTES: usize = 64 << 20;

/// A tree's bytes, from libgit2 or from pack traversal.
enum TreeBytes<'o> {
    Odb(git2::OdbObject<'o>),
    Packed(std::rc::Rc<Vec<u8>>),
}

impl TreeBytes<'_> {
    fn data(&self) -> &[u8] {
        match self {
            TreeBytes::Odb(o) => o.data(),
            TreeBytes::Packed(d) => d,
        }
    }
}

impl<'a, 'r, 's> Planner<'a, 'r, 's> {
    fn new(
        repo: &'r Repository,
        odb: &'a Odb<'r>,
        damaged: &'a Damaged,
        sink: &'s mut dyn FnMut(Batch),
    ) -> Planner<'a, 'r, 's> {
        Planner {
            repo,
            odb,
            damaged,
            plan: Plan::default(),
            seen_commits: IdSet::default(),
            format: ObjectFormat::of(repo),
            seen_trees: IdSet::default(),
            tree_ids: IdSet::default(),
            track_trees: false,
            blob_index: IdMap::default(),
            kind_of_name: HashMap::new(),
            path_buf: String::new(),
            shallow: repo.is_shallow(),
            sink,
            packs: None,
            delta_cache: DeltaCache::new(TREE_CACHE_BYTES),
            sent: 0,
            regained: Vec::new(),
            current_root: None,
            last_root: None,
            walk_threads: 1,
            run_min_commits: WALK_RUN_MIN_COMMITS,
            git_dir: None,
        }
    }

    fn read_tree(&mut self, id: Oid) -> Result<TreeBytes<'a>, String> {
        if let Some(packs) = self.packs
            && let Some((kind, data)) = packs.read(id, &mut self.delta_cache)
        {
            return match kind {
                OBJ_TREE => Ok(TreeBytes::Packed(data)),
                other => Err(format!(
                    "expected a tree, found a {}",
                    ["?", "commit", "tree", "blob", "tag"]
                        .get(usize::from(other))
                        .unwrap_or(&"?")
                )),
            };
        }
        tree::read(self.odb, id).map(TreeBytes::Odb)
    }

    /// Hand new blobs to the sink in batches (all of them when `all`).
    fn flush(&mut self, all: bool) {
        while self.plan.blobs.len() - self.sent >= BATCH
            || (all && self.plan.blobs.len() > self.sent)
        {
            let end = (self.sent + BATCH).min(self.plan.blobs.len());
            let batch = (self.sent..end)
                .map(|i| (i, self.plan.blobs[i].clone()))
                .collect();
            (self.sink)(batch);
            self.sent = end;
        }
    }

    /// Hand over what is left, then the blobs that gained a kind of path
    /// after being handed over (rare: the same bytes committed under a
    /// config file's name after being seen under another name).
    fn finish(&mut self) {
        self.flush(true);
        let mut regained = std::mem::take(&mut self.regained);
        regained.sort_unstable();
        regained.dedup();
        for chunk in regained.chunks(BATCH) {
            let batch = chunk
                .iter()
                .map(|&i| {
                    let mut blob = self.plan.blobs[i].clone();
                    blob.again = true;
                    (i, blob)
                })
                .collect();
            (self.sink)(batch);
        }
    }

    fn warn(&mut self, message: String) {
        self.plan.stats.skipped += 1;
        self.plan.stats.warnings.push(message);
    }

    /// Sweep what the tips point at: commits (and their history), trees
    /// and blobs.
    fn sweep_tips(&mut self, tips: &[RefTip]) {
        let mut commits = Vec::new();
        for tip in tips {
            if self.damaged.contains(tip.target) {
                continue; // reported when the loose objects were checked
            }
            match self.odb.read_header(tip.target) {
                Ok((_, ObjectType::Commit)) => commits.push(tip.target),
                Ok((_, ObjectType::Tree)) => self.walk_tree(tip.target),
                Ok((_, ObjectType::Blob)) => {
                    self.current_root = None;
                    self.add_blob(tip.target, "", &tip.name);
                }
                Ok(_) => {}
                Err(e) => self.warn(format!(
                    "ref {}: object {} is {}; not swept",
                    tip.name,
                    tip.target,
                    tree::describe_error(&e)
                )),
            }
        }
        self.walk_commits(commits);
    }

    /// Commit `id`, or a warning that it was not swept.
    fn commit_to_sweep(&mut self, id: Oid) -> Option<git2::Commit<'r>> {
        match self.repo.find_commit(id) {
            Ok(c) => Some(c),
            Err(e) => {
                self.warn(format!(
                    "commit {id}: {}; not swept",
                    tree::describe_error(&e)
                ));
                None
            }
        }
    }

    /// Walk commits newest first (by committer time), then their trees in
    /// that order.
    fn walk_commits(&mut self, tips: Vec<Oid>) {
        let mut queue = BinaryHeap::new();
        for tip in tips {
            self.enqueue(&mut queue, tip, None);
        }
        let mut roots = Vec::new();
        while let Some((_, id)) = queue.pop() {
            let Some(commit) = self.commit_to_sweep(id) else {
                continue;
            };
            self.plan.commits.push(id);
            let parents: Box<[Oid]> = commit.parent_ids().map(object_format::canonical).collect();
            self.plan
                .commit_links
                .push((commit.time().seconds(), parents.clone()));
            roots.push(commit.tree_id());
            for parent in parents {
                self.enqueue(&mut queue, parent, Some(id));
            }
        }
        self.walk_roots(&roots);
    }

    /// Walk the root trees of commits, in order. A long history read from
    /// packs is cut into one run of consecutive commits per walker thread:
    /// the calling thread walks the first run (its blobs go to the readers
    /// as it goes), helpers walk the others with planners of their own, and
    /// their plans are merged in order, so the result is the one walk in
    /// order would give: a blob's first path of each kind is met in the
    /// earliest run holding it, and what a later run meets again changes
    /// nothing. Each run's first tree is walked in full (no previous
    /// version at hand): that is the price of the split.
    fn walk_roots(&mut self, roots: &[Oid]) {
        let runs = self
            .walk_threads
            .min(roots.len() / self.run_min_commits)
            .max(1);
        let (Some(packs), false, Some(git_dir)) = (
            self.packs,
            self.track_trees || runs < 2,
            self.git_dir.clone(),
        ) else {
            for &root in roots {
                self.walk_tree(root);
                self.flush(false);
            }
            return;
        };
        let size = roots.len().div_ceil(runs);
        let chunks: Vec<&[Oid]> = roots.chunks(size).collect();
        let damaged = self.damaged;
        let format = self.format;
        let cache_bytes = TREE_CACHE_BYTES / chunks.len();
        std::thread::scope(|scope| {
            let helpers: Vec<_> = chunks[1..]
                .iter()
                .map(|&chunk| {
                    let git_dir = git_dir.clone();
                    scope.spawn(move || {
                        walk_run(&git_dir, damaged, packs, format, cache_bytes, chunk)
                    })
                })
                .collect();
            self.delta_cache = DeltaCache::new(cache_bytes);
            for &root in chunks[0] {
                self.walk_tree(root);
                self.flush(false);
            }
            let mut rest = chunks.len();
            for (n, helper) in helpers.into_iter().enumerate() {
                // A run that met damage is walked again here, with every
                // run after it: its warnings then say what one walk says.
                let run = helper.join().ok().flatten();
                match run {
                    Some(blobs) if rest == chunks.len() => self.merge_run(blobs),
                    _ if rest == chunks.len() => rest = n + 1,
                    _ => {}
                }
            }
            self.delta_cache = DeltaCache::new(TREE_CACHE_BYTES);
            for &root in chunks[rest.min(chunks.len())..]
                .iter()
                .flat_map(|c| c.iter())
            {
                self.walk_tree(root);
                self.flush(false);
            }
        });
    }

    /// Add the blobs another planner met, in its order.
    fn merge_run(&mut self, blobs: Vec<BlobToScan>) {
        for blob in blobs {
            self.current_root = blob.root;
            for (kind, path) in blob.seen_as {
                self.path_buf = path;
                self.record_blob(blob.id, kind);
            }
            self.flush(false);
        }
    }

    fn enqueue(&mut self, queue: &mut BinaryHeap<(i64, Oid)>, id: Oid, child: Option<Oid>) {
        if !self.seen_commits.insert(id) || self.damaged.contains(id) {
            return;
        }
        match self.repo.find_commit(id) {
            Ok(c) => queue.push((c.time().seconds(), id)),
            // Behind a shallow boundary parents are absent by design; the
            // note about truncated history says so once.
            Err(_) if self.shallow && child.is_some() => {}
            Err(e) => {
                let what = match child {
                    Some(c) => format!("commit {id} (parent of {c})"),
                    None => format!("commit {id}"),
                };
                self.warn(format!(
                    "{what}: {}; history behind it was not swept",
                    tree::describe_error(&e)
                ));
            }
        }
    }

    /// Walk one tree and every subtree not walked before.
    ///
    /// Each tree is compared with its previous version (the tree walked
    /// at the same path just before, when the cache still holds it): an
    /// entry both have was recorded in the same context already, so only
    /// the entries a commit changed cost lookups — a few dozen per commit,
    /// not one per entry of every changed directory.
    fn walk_tree(&mut self, root: Oid) {
        let root_key = IdKey::of(root);
        if !self.seen_trees.insert((root_key, DirContext::Root)) {
            return;
        }
        self.current_root = Some(root);
        let mut stack: Vec<(Oid, String, DirContext, Option<IdKey>)> = vec![(
            root,
            String::new(),
            DirContext::Root,
            self.last_root.replace(root_key),
        )];
        while let Some((id, dir, context, previous)) = stack.pop() {
            if self.track_trees {
                self.tree_ids.insert(IdKey::of(id));
            }
            if self.damaged.contains(id) {
                continue;
            }
            let object = match self.read_tree(id) {
                Ok(o) => o,
                Err(e) => {
                    let at = if dir.is_empty() {
                        "/".to_string()
                    } else {
                        dir.clone()
                    };
                    self.warn(format!(
                        "tree {id} ({at}): {e}; the files under it were not swept"
                    ));
                    continue;
                }
            };
            let previous = previous.and_then(|p| self.cached_tree(p));
            let mut before = tree::raw_entries(previous.as_deref().map_or(&[], |v| v), self.format)
                .map_while(Result::ok)
                .peekable();
            for entry in tree::raw_entries(object.data(), self.format) {
                let e = match entry {
                    Ok(e) => e,
                    Err(problem) => {
                        self.plan.stats.warnings.push(format!(
                            "tree {id} ({dir}): malformed {problem}; rest of the tree skipped"
                        ));
                        self.plan.stats.skipped += 1;
                        break;
                    }
                };
                // Step the previous version to this entry's name (both in
                // git's order; an unsorted tree only loses the shortcut).
                let mut was = None;
                while let Some(old) = before.peek() {
                    match tree::entry_order(old, &e) {
                        std::cmp::Ordering::Less => {
                            before.next();
                        }
                        std::cmp::Ordering::Equal => {
                            was = before.next();
                            break;
                        }
                        std::cmp::Ordering::Greater => break,
                    }
                }
                if was.is_some_and(|old| old.id == e.id && old.kind == e.kind) {
                    continue;
                }
                match e.kind {
                    EntryKind::Tree => {
                        let sub = context.child(e.name);
                        if self.seen_trees.insert((IdKey::raw(e.id), sub))
                            && let Some(sub_id) = self.format.id_from_raw(e.id)
                        {
                            let previous = was
                                .filter(|old| old.kind == EntryKind::Tree)
                                .map(|old| IdKey::raw(old.id));
                            stack.push((sub_id, tree::join(&dir, e.name), sub, previous));
                        }
                    }
                    EntryKind::Blob => self.add_entry(e.id, &dir, context, e.name),
                    EntryKind::Submodule => {}
                }
            }
        }
    }

    /// Tree `id`'s bytes if the cache of resolved trees holds them (never
    /// read: a previous version not at hand only costs the shortcut).
    fn cached_tree(&self, id: IdKey) -> Option<std::rc::Rc<Vec<u8>>> {
        let (kind, data) = self
            .packs?
            .cached(&id.0[..self.format.raw_len()], &self.delta_cache)?;
        (kind == OBJ_TREE).then_some(data)
    }

    /// Record a blob (raw id) met as `name` in a tree walked at `dir` in
    /// `context`. A blob already seen with this kind of path costs two
    /// lookups and no allocation.
    fn add_entry(&mut self, raw_id: &[u8], dir: &str, context: DirContext, name: &[u8]) {
        let kind = self.kind_of(context, name);
        let key = IdKey::raw(raw_id);
        if self
            .blob_index
            .get(&key)
            .is_some_and(|(_, kinds)| kinds & kind_bit(kind) != 0)
        {
            return;
        }
        let Some(id) = self.format.id_from_raw(raw_id) else {
            return;
        };
        self.set_path(dir, &super::pathtext::path_text(name));
        self.record_blob(id, kind);
    }

    /// The kind of file `name` in a directory of `context`, classified once.
    fn kind_of(&mut self, context: DirContext, name: &[u8]) -> FileKind {
        let slot = context.index();
        if let Some(kind) = self.kind_of_name.get(name).and_then(|k| k[slot]) {
            return kind;
        }
        // A crafted name holding `/` is classified as the path it spells.
        let (dir, file) = match name.iter().rposition(|&b| b == b'/') {
            Some(at) => (context.child(&name[..at]), &name[at + 1..]),
            None => (context, name),
        };
        let kind = FileKind::in_dir(dir, &super::pathtext::path_text(file));
        self.kind_of_name
            .entry(name.into())
            .or_insert([None; DirContext::COUNT])[slot] = Some(kind);
        kind
    }

    /// Record a blob seen at `dir/name`.
    fn add_blob(&mut self, id: Oid, dir: &str, name: &str) {
        self.set_path(dir, name);
        let kind = FileKind::of(&self.path_buf);
        self.record_blob(id, kind);
    }

    fn set_path(&mut self, dir: &str, name: &str) {
        self.path_buf.clear();
        if !dir.is_empty() {
            self.path_buf.push_str(dir);
            self.path_buf.push('/');
        }
        self.path_buf.push_str(name);
    }

    /// Record a blob seen as `kind` at `self.path_buf`.
    fn record_blob(&mut self, id: Oid, kind: FileKind) {
        if self.damaged.contains(id) {
            return;
        }
        match self.blob_index.entry(IdKey::of(id)) {
            MapEntry::Occupied(mut slot) => {
                let (index, kinds) = slot.get_mut();
                let index = *index as usize;
                *kinds |= kind_bit(kind);
                let blob = &mut self.plan.blobs[index];
                if !blob.seen_as.iter().any(|(k, _)| *k == kind) {
                    blob.seen_as.push((kind, self.path_buf.clone()));
                    if index < self.sent {
                        self.regained.push(index);
                    }
                }
            }
            MapEntry::Vacant(slot) => {
                let index = self.plan.blobs.len();
                slot.insert((index as u32, kind_bit(kind)));
                self.plan.blobs.push(BlobToScan {
                    id,
                    seen_as: vec![(kind, self.path_buf.clone())],
                    again: false,
                    root: self.current_root,
                });
            }
        }
    }

    /// `A..B`: only the blobs each commit of the range adds or changes
    /// compared with its parents (for a merge, with every parent).
    fn sweep_range(&mut self, spec: &str) -> Result<(), String> {
        if !spec.contains("..") || spec.contains("...") {
            return Err(format!("--range wants A..B, got {spec:?}"));
        }
        if !self.damaged.is_empty() {
            // The range is walked by libgit2, which cannot be kept away
            // from the damaged objects.
            return Err(
                "the repository has damaged loose objects (`git fsck` lists them): a --range scan \
                 cannot walk around them; sweep it without --range, or repair it"
                    .into(),
            );
        }
        let mut walk = self
            .repo
            .revwalk()
            .map_err(|e| format!("cannot walk history: {}", e.message()))?;
        walk.set_sorting(git2::Sort::TIME)
            .map_err(|e| e.message().to_string())?;
        walk.push_range(spec)
            .map_err(|e| format!("cannot resolve range {spec:?}: {}", e.message()))?;
        let mut added = HashSet::new();
        for id in walk {
            let id = id.map_err(|e| format!("cannot walk range {spec:?}: {}", e.message()))?;
            self.sweep_changes(id, Some(&mut added));
        }
        self.plan.added = Some(added);
        Ok(())
    }

    /// The blobs one commit adds or changes compared with its parents (for
    /// a merge, with every parent), noted in `added` when given.
    fn sweep_changes(&mut self, id: Oid, added: Option<&mut HashSet<(Oid, String)>>) {
        let Some(commit) = self.commit_to_sweep(id) else {
            return;
        };
        self.plan.commits.push(id);
        // A missing parent (shallow boundary) is compared with nothing,
        // so the whole tree counts as added.
        let parents = commit
            .parent_ids()
            .filter_map(|p| self.repo.find_commit(p).ok())
            .map(|p| p.tree_id())
            .collect();
        self.current_root = Some(commit.tree_id());
        let changed = self.changed_blobs(commit.tree_id(), parents);
        for (path, blob) in &changed {
            let (dir, name) = match path.rsplit_once('/') {
                Some((d, n)) => (d, n),
                None => ("", path.as_str()),
            };
            self.add_blob(*blob, dir, name);
        }
        if let Some(added) = added {
            added.extend(changed.into_iter().map(|(path, blob)| (blob, path)));
        }
        self.flush(false);
    }

    /// Blobs in `tree` that differ from the same path in every parent tree.
    fn changed_blobs(&mut self, tree: Oid, parents: Vec<Oid>) -> Vec<(String, Oid)> {
        let mut out = Vec::new();
        let mut stack = vec![(tree, parents, String::new())];
        while let Some((id, parent_ids, dir)) = stack.pop() {
            let Some(entries) = self.tree_entries(id, &dir) else {
                continue;
            };
            let parent_entries: Vec<HashMap<Vec<u8>, (Oid, EntryKind)>> = parent_ids
                .iter()
                .filter_map(|p| self.tree_entries(*p, &dir))
                .map(|list| list.into_iter().map(|(n, i, k)| (n, (i, k))).collect())
                .collect();
            for (name, entry_id, kind) in entries {
                let olds: Vec<Option<&(Oid, EntryKind)>> =
                    parent_entries.iter().map(|m| m.get(&name)).collect();
                if olds.iter().any(|o| o.is_some_and(|(i, _)| *i == entry_id)) {
                    continue;
                }
                match kind {
                    EntryKind::Tree => {
                        let sub_parents = olds
                            .iter()
                            .flatten()
                            .filter(|(_, k)| *k == EntryKind::Tree)
                            .map(|(i, _)| *i)
                            .collect();
                        stack.push((entry_id, sub_parents, tree::join(&dir, &name)));
                    }
                    EntryKind::Blob => out.push((tree::join(&dir, &name), entry_id)),
                    EntryKind::Submodule => {}
                }
            }
        }
        out
    }

    fn tree_entries(&mut self, id: Oid, dir: &str) -> Option<Vec<(Vec<u8>, Oid, EntryKind)>> {
        if self.damaged.contains(id) {
            return None;
        }
        let object = match self.read_tree(id) {
            Ok(o) => o,
            Err(e) => {
                self.warn(format!(
                    "tree {id} ({dir}): {e}; the files under it were not swept"
                ));
                return None;
            }
        };
        let mut out = Vec::new();
        for entry in tree::entries(id, object.data()) {
            match entry {
                Ok(e) => out.push((e.name.to_vec(), e.id, e.kind)),
                Err(problem) => {
                    self.warn(format!(
                        "tree {id} ({dir}): malformed {problem}; rest of the tree skipped"
                    ));
                    break;
                }
            }
        }
        Some(out)
    }

    /// `--all-objects`: everything in the object database that the refs did
    /// not reach. Unreachable commits are walked like refs (their blobs get
    /// paths and provenance); trees and blobs no commit names come last.
    fn sweep_unreachable(&mut self) {
        let mut all = Vec::new();
        let format = ObjectFormat::of(self.repo);
        if format == ObjectFormat::Sha1 {
            if let Err(e) = self.odb.foreach(|id| {
                all.push(object_format::canonical(*id));
                true
            }) {
                self.plan.stats.warnings.push(format!(
                    "cannot list every object in the object database: {}",
                    e.message()
                ));
            }
        } else {
            // libgit2 mislists SHA-256 packs: read the object directories.
            for objects in object_directories(&self.repo.commondir().join("objects")) {
                all.extend(crate::history::pack::Packs::ids(&objects, format));
                all.extend(crate::history::loose::ids(&objects, format));
            }
            all.sort_unstable();
            all.dedup();
        }
        let (mut commits, mut trees, mut blobs) = (Vec::new(), Vec::new(), Vec::new());
        for id in all {
            if self.seen_commits.contains(&id)
                || self.tree_ids.contains(&IdKey::of(id))
                || self.blob_index.contains_key(&IdKey::of(id))
                || self.damaged.contains(id)
            {
                continue;
            }
            match self.odb.read_header(id) {
                Ok((_, ObjectType::Commit)) => commits.push(id),
                Ok((_, ObjectType::Tree)) => trees.push(id),
                Ok((_, ObjectType::Blob)) => blobs.push(id),
                Ok(_) => {}
                Err(e) => self.warn(format!(
                    "object {id}: {}; not swept",
                    tree::describe_error(&e)
                )),
            }
        }
        let found = (commits.len(), trees.len(), blobs.len());
        self.walk_commits(commits);
        for id in trees {
            if !self.tree_ids.contains(&IdKey::of(id)) {
                self.walk_tree(id);
            }
        }
        self.current_root = None;
        for id in blobs {
            if !self.blob_index.contains_key(&IdKey::of(id)) {
                self.add_blob(id, "", UNREACHABLE_PATH);
            }
        }
        self.plan.stats.notes.push(format!(
            "--all-objects: also swept {} unreachable commit(s), {} tree(s) and {} blob(s) that no ref reaches",
            found.0, found.1, found.2
        ));
    }
}

/// Read blobs on `threads` threads while `produce` (the planner, on the
/// calling thread) hands them over in batches, and call `visit` with each
/// blob's index, description and bytes. Each thread owns a `Repository`
/// (libgit2 handles are not shared between threads); batches are taken in
/// the order they were made, so the readers move through the pack together.
/// Only one blob per thread is in memory at a time, and the queue of batches
/// is bounded, so a fast walk cannot run ahead of the readers without limit.
/// Reader threads for `-j N` (0: one per core).
pub fn reader_threads(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
}

pub fn read_while<T, Q, F, P>(
    git_dir: &Path,
    threads: usize,
    max_size: u64,
    produce: Q,
    progress: P,
    visit: F,
) -> Result<(T, SourceStats), String>
where
    Q: FnOnce(&mut dyn FnMut(Batch)) -> T,
    F: Fn(usize, &BlobToScan, &[u8], &Odb) + Sync,
    P: Fn(u64) + Sync,
{
    let threads = reader_threads(threads);
    let mut repos = Vec::with_capacity(threads);
    for _ in 0..threads {
        repos.push(
            Repository::open(git_dir)
                .map_err(|e| format!("cannot open {}: {}", git_dir.display(), e.message()))?,
        );
    }
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Batch>(threads * 16);
    let receiver = Mutex::new(receiver);
    let items = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let problems = Mutex::new(Vec::new());
    let produced = std::thread::scope(|scope| {
        for repo in repos {
            let (receiver, items, bytes, problems) = (&receiver, &items, &bytes, &problems);
            let (visit, progress) = (&visit, &progress);
            scope.spawn(move || {
                let problem = |p: String| problems.lock().expect("problems lock").push(p);
                let odb = match repo.odb() {
                    Ok(o) => Some(o),
                    Err(e) => {
                        problem(format!(
                            "a reader thread cannot open the object database: {}",
                            e.message()
                        ));
                        None
                    }
                };
                loop {
                    // The lock is held only to take the next batch.
                    let next = receiver.lock().expect("receiver lock").recv();
                    let Ok(batch) = next else {
                        break; // planning is over and every batch is taken
                    };
                    let Some(odb) = &odb else {
                        // Keep draining so the planner never blocks forever.
                        for (_, blob) in &batch {
                            problem(format!("blob {}: not read (no object database)", blob.id));
                        }
                        continue;
                    };
                    for (index, blob) in &batch {
                        // The header gives the size without inflating the
                        // object: a huge blob (or a zlib bomb) is never read.
                        if let Ok((size, _)) = odb.read_header(blob.id)
                            && size as u64 > max_size
                        {
                            problem(format!(
                                "blob {} ({}): skipped: {size} bytes is over --max-file-size {max_size}",
                                blob.id,
                                blob.first_path(),
                            ));
                            progress(0);
                            continue;
                        }
                        match odb.read(blob.id) {
                            Ok(object) if object.kind() == ObjectType::Blob => {
                                if !blob.again {
                                    items.fetch_add(1, Ordering::Relaxed);
                                    bytes.fetch_add(object.len() as u64, Ordering::Relaxed);
                                }
                                visit(*index, blob, object.data(), odb);
                                progress(object.len() as u64);
                            }
                            Ok(object) => {
                                problem(format!(
                                    "blob {} ({}): the object is a {}, not a blob; not swept",
                                    blob.id,
                                    blob.first_path(),
                                    object.kind()
                                ));
                                progress(0);
                            }
                            Err(e) => {
                                problem(format!(
                                    "blob {} ({}): {}; not swept",
                                    blob.id,
                                    blob.first_path(),
                                    tree::describe_error(&e)
                                ));
                                progress(0);
                            }
                        }
                    }
                }
            });
        }
        let mut send = |batch: Batch| {
            // Fails only if every reader is gone, which cannot happen
            // while this scope holds them; nothing to do then anyway.
            let _ = sender.send(batch);
        };
        let produced = produce(&mut send);
        drop(sender);
        produced
    });
    let warnings = problems.into_inner().expect("problems lock");
    Ok((
        produced,
        SourceStats {
            items: items.into_inner(),
            bytes: bytes.into_inner(),
            skipped: warnings.len() as u64,
            warnings,
            notes: Vec::new(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    fn git(dir: &Path, args: &[&str], input: Option<&[u8]>) -> String {
        let mut child = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run git");
        let mut stdin = child.stdin.take().unwrap();
        if let Some(input) = input {
            stdin.write_all(input).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A history whose halves meet the same blobs and trees in other
    /// places: a file that is a plain file in new commits and an `.npmrc`
    /// in old ones, a `workflows` directory copied out of `.github`, a
    /// directory moved, files deleted and restored, two branches.
    fn history(commits: usize) -> String {
        let mut s = String::new();
        let mut mark = 0;
        for n in 0..commits {
            mark += 1;
            let when = 1_700_000_000 + n * 60;
            let message = format!("c{n}");
            s += &format!(
                "commit refs/heads/main\nmark :{mark}\ncommitter A <a@b> {when} +0000\ndata {}\n{message}\n",
                message.len()
            );
            if n > 0 {
                s += &format!("from :{}\n", mark - 1);
            }
            s += "deleteall\n";
            let mut file = |path: &str, text: String| {
                s += &format!("M 644 inline {path}\ndata {}\n{text}\n", text.len());
            };
            for d in 0..6 {
                file(
                    &format!("pkg/d{d}/src/a.ts"),
                    format!("const a = {};", n / (d + 1)),
                );
                file(&format!("pkg/d{d}/b.txt"), format!("b {}", n / 7));
            }
            // The same bytes as `.npmrc` early, as a plain file late.
            let shared = "registry=https://example.invalid/".to_string();
            if n < commits / 3 {
                file("conf/.npmrc", shared);
            } else {
                file("conf/npm.txt", shared);
            }
            let workflow = format!("on: push\njobs: {{}}\n# {}", n / 10);
            file(".github/workflows/ci.yml", workflow.clone());
            if n % 3 == 0 {
                // The same tree as `.github/workflows`, elsewhere.
                file("vendor/.github/workflows/ci.yml", workflow.clone());
                file("copy/workflows/ci.yml", workflow);
            }
            if n % 5 != 0 {
                file(
                    &format!("moving/at{}/x.sh", n / 20),
                    format!("echo {}", n / 40),
                );
            }
        }
        s
    }

    /// A bare repository holding [`history`] of `commits` commits.
    fn imported(commits: usize) -> tempfile::TempDir {
        let dir = tempfile::TempDir::new().unwrap();
        git(dir.path(), &["init", "-q", "--bare"], None);
        git(
            dir.path(),
            &["fast-import", "--quiet"],
            Some(history(commits).as_bytes()),
        );
        dir
    }

    fn plan_of(repo: &Repository, packs: Option<&Packs>, threads: usize) -> Plan {
        let mut sink = |_: Batch| {};
        plan_in_runs(
            repo,
            &Selection::AllRefs,
            false,
            &Damaged::default(),
            packs,
            threads,
            8,
            &mut sink,
        )
        .unwrap()
    }

    /// Runs walked on several threads give exactly the plan of one walk in
    /// order: the same blobs in the same order, each with the same kinds,
    /// first paths and root; and so does a walk that never compares a tree
    /// with its previous version.
    #[test]
    fn walking_in_runs_gives_the_plan_of_one_walk() {
        let dir = imported(90);
        let path = dir.path();
        git(path, &["branch", "side", "main~50"], None);
        git(path, &["repack", "-adq", "--depth=20"], None);
        let repo = Repository::open(path).unwrap();
        let packs = Packs::open(&path.join("objects"), ObjectFormat::Sha1);
        let one = plan_of(&repo, Some(&packs), 1);
        assert!(one.blobs.len() > 100, "{}", one.blobs.len());
        assert!(
            one.blobs
                .iter()
                .any(|b| b.kinds() == [FileKind::Other, FileKind::Npmrc]),
            "a blob seen as a plain file, then as an .npmrc"
        );
        assert!(
            one.blobs
                .iter()
                .any(|b| b.kinds().contains(&FileKind::CopiedWorkflow)),
            "a copied workflow"
        );
        // Read through libgit2, trees are not compared with their previous
        // versions: the shortcut skips nothing that matters.
        let plain = plan_of(&repo, None, 1);
        assert_eq!(plain.blobs, one.blobs);
        for threads in [2, 3, 5] {
            let runs = plan_of(&repo, Some(&packs), threads);
            assert_eq!(runs.blobs, one.blobs, "{threads} threads");
            assert_eq!(runs.commits, one.commits);
            assert!(runs.stats.warnings.is_empty());
        }
    }

    /// Entry names holding `/` (git refuses them; a crafted tree can hold
    /// them) are classified as the paths they spell, as the reported path
    /// reads: a `.github/workflows` entry holds workflows, and so does a
    /// `workflows/ci.yml` blob entry inside `.github`.
    #[test]
    fn names_spelling_paths_are_classified_as_those_paths() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path();
        git(path, &["init", "-q", "--bare"], None);
        let blob = git(path, &["hash-object", "-w", "--stdin"], Some(b"on: push\n"));
        let tree = |entries: &[(&str, &str, &str)]| {
            let mut raw = Vec::new();
            for (mode, name, id) in entries {
                raw.extend(format!("{mode} {name}\0").bytes());
                raw.extend(ObjectFormat::Sha1.id_from_hex(id).unwrap().as_bytes());
            }
            git(
                path,
                &["hash-object", "-t", "tree", "--literally", "-w", "--stdin"],
                Some(&raw),
            )
        };
        let workflows = tree(&[("100644", "ci.yml", &blob)]);
        let github = tree(&[("100644", "workflows/release.yml", &blob)]);
        let root = tree(&[
            ("40000", ".github/workflows", &workflows),
            ("40000", "vendor/.github", &github),
        ]);
        let commit = git(
            path,
            &[
                "-c",
                "user.name=a",
                "-c",
                "user.email=a@b",
                "commit-tree",
                &root,
                "-m",
                "x",
            ],
            None,
        );
        git(path, &["update-ref", "refs/heads/main", &commit], None);
        let repo = Repository::open(path).unwrap();
        let plan = plan_of(&repo, None, 1);
        assert_eq!(plan.blobs.len(), 1);
        assert_eq!(
            plan.blobs[0].seen_as,
            [
                (
                    FileKind::CopiedWorkflow,
                    "vendor/.github/workflows/release.yml".to_string()
                ),
                (FileKind::Workflow, ".github/workflows/ci.yml".to_string()),
            ]
        );
    }

    /// A run that meets damage (here a malformed tree in an old commit) is
    /// walked again in order: warnings are those of one walk, given once.
    #[test]
    fn a_damaged_run_is_walked_again_in_order() {
        let dir = imported(60);
        let path = dir.path();
        git(path, &["repack", "-adq"], None);
        // Loose, after packing: a tree cut in the middle of an entry, in a
        // commit dated before every other, on a branch of its own.
        let bad = git(
            path,
            &["hash-object", "-t", "tree", "--literally", "-w", "--stdin"],
            Some(b"100644 a.txt\0short"),
        );
        let commit = git(
            path,
            &["hash-object", "-t", "commit", "--literally", "-w", "--stdin"],
            Some(
                format!(
                    "tree {bad}\nauthor A <a@b> 1600000000 +0000\ncommitter A <a@b> 1600000000 +0000\n\nold\n"
                )
                .as_bytes(),
            ),
        );
        git(path, &["update-ref", "refs/heads/old", &commit], None);
        let repo = Repository::open(path).unwrap();
        let packs = Packs::open(&path.join("objects"), ObjectFormat::Sha1);
        let one = plan_of(&repo, Some(&packs), 1);
        assert_eq!(one.stats.warnings.len(), 1, "{:?}", one.stats.warnings);
        let runs = plan_of(&repo, Some(&packs), 2);
        assert_eq!(runs.blobs, one.blobs);
        assert_eq!(runs.stats.warnings, one.stats.warnings);
        assert_eq!(runs.stats.skipped, one.stats.skipped);
    }
}
