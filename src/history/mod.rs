//! `npmsweep history`: sweep every unique blob of a repository's history
//! with the same detectors as `scan`, then tell where each finding came from.
//!
//! Three passes, each doing only what it must:
//! 1. plan ([`crate::source::history::plan`]): walk commits and trees once,
//!    collect unique blob ids with the kinds of path they appear under;
//! 2. sweep: read every blob once, in parallel, and note which have findings;
//! 3. attribute ([`provenance`]): for those few blobs only, find every path
//!    and commit holding them, run the detectors again per path (so each
//!    finding has the right path, kind and fingerprint) and attach
//!    provenance.

pub mod cache;
pub mod head;
pub mod incremental;
pub mod loose;
pub mod object_format;
pub mod pack;
pub mod progress;
pub mod provenance;
pub mod purge;
pub mod refs;
pub mod report;
pub mod tree;

use crate::cli::{self, HistoryArgs};
use crate::detect::tree::{Recording, TreeView};
use crate::detect::{self, DetectOptions, FileKind, Item};
use crate::finding::{BlobLocation, Finding, InputText, Origin, Provenance, sort_findings};
use crate::redact::scrub;
use crate::scan::{self, Report};
use crate::source::SourceStats;
use crate::source::history::{self as source, Batch, BlobToScan, Plan, Selection};
use crate::source::tree::GitTree;
use git2::{Oid, Repository};
use object_format::ObjectFormat;
use progress::Progress;
use provenance::CommitInfo;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Instant;

/// What to sweep and how.
#[derive(Clone, Debug)]
pub struct HistoryOptions {
    pub repo: PathBuf,
    pub selection: Selection,
    pub all_objects: bool,
    /// Reader threads (0: one per core).
    pub threads: usize,
    /// Show a progress bar on standard error.
    pub progress: bool,
    /// Larger objects are not inflated or swept (size from the header).
    pub max_file_size: u64,
    /// `--cache FILE`: skip blobs swept clean before, remember new ones.
    pub cache: Option<PathBuf>,
}

/// Run the `history` command: sweep, apply filters, write the purge plan if
/// asked, report.
pub fn command(args: &mut HistoryArgs) -> Result<i32, String> {
    let report = build_report(args)?;
    cli::emit(&report, &args.output)
}

/// Everything `history` does before writing: sweep, filters, purge plan,
/// liveness. Also run once per repository by `--repos` (`crate::org::run`).
pub fn build_report(args: &mut HistoryArgs) -> Result<Report, String> {
    let repo = open(&args.repo)?;
    let root = repo.workdir().unwrap_or(repo.path()).to_path_buf();
    // A pull-request sweep takes its settings from the base by default: the
    // change under review cannot loosen its own gate.
    let range = args
        .range
        .clone()
        .or_else(|| args.since_commit.as_ref().map(|r| format!("{r}..HEAD")));
    let commit_of = |spec: &str| {
        repo.revparse_single(spec)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
    };
    let f = &mut args.filter;
    if f.config_from.is_none() && f.config.is_none() && !f.no_config {
        // Only when the base resolves: a bad range is the sweep's error.
        f.config_from = range
            .as_deref()
            .and_then(crate::filter::config_from::range_base)
            .filter(|base| commit_of(base).is_ok())
            .map(str::to_string);
    }
    let audit_head = match &args.filter.config_from {
        Some(_) => range
            .as_deref()
            .and_then(crate::filter::config_from::range_head)
            .or(Some("HEAD"))
            .and_then(|head| commit_of(head).ok()),
        None => None,
    };
    let filters = crate::filter::Filters::load(&args.filter, Some(&root))?;
    filters.apply_defaults(&mut args.output);
    let detect = filters.detect_options(cli::detect_options(&args.output));
    let selection = if let Some(range) = &args.range {
        Selection::Range(range.clone())
    } else if let Some(rev) = &args.since_commit {
        Selection::Range(format!("{rev}..HEAD"))
    } else if !args.branch.is_empty() {
        Selection::Revisions(args.branch.clone())
    } else {
        Selection::AllRefs
    };
    let options = HistoryOptions {
        repo: args.repo.clone(),
        selection,
        all_objects: args.all_objects,
        threads: args.threads,
        max_file_size: args.max_file_size,
        cache: args.cache.clone(),
        // Like colour: only for a person at a terminal without NO_COLOR.
        progress: !args.output.quiet
            && cli::color_choice(cli::ColorChoice::Auto, &std::io::stderr())
                != anstream::ColorChoice::Never,
    };
    let mut report = sweep_repository(&repo, &options, &detect)?;
    // A sweep that could read nothing at all but met damage (every ref
    // unresolvable, a truncated pack) must not pass a CI gate as "clean".
    if report.stats.items == 0 && report.stats.skipped > 0 {
        for w in &report.stats.warnings {
            eprintln!("npmsweep: warning: {}", crate::report::terminal::escape(w));
        }
        return Err(format!(
            "nothing in {} could be swept: {} object(s) or ref(s) were unreadable (see the warnings above)",
            args.repo.display(),
            report.stats.skipped
        ));
    }
    filters.audit_change(&mut report, audit_head)?;
    // A range sees only what its commits change: unmatched baseline entries
    // are not stale, just elsewhere.
    if matches!(options.selection, Selection::Range(_)) {
        filters.apply_partial(&mut report);
    } else {
        filters.apply(&mut report);
    }
    if let Some(path) = &args.purge_plan {
        write_purge_plan(path, &repo, &report, args.output.quiet)?;
    }
    cli::settle_liveness(&mut report, &args.output)?;
    report.repository = Some(crate::source::repository::RepositoryInfo::of(
        &repo, &args.repo,
    ));
    Ok(report)
}

fn write_purge_plan(
    path: &Path,
    repo: &Repository,
    report: &Report,
    quiet: bool,
) -> Result<(), String> {
    if purge::secrets(&report.findings).is_empty() {
        if !quiet {
            eprintln!("npmsweep: no secret found in history: no purge plan written");
        }
        return Ok(());
    }
    // Rewrite a fresh clone of where the history is published, when known.
    let origin = repo
        .find_remote("origin")
        .ok()
        .and_then(|r| r.url().ok().map(str::to_string));
    let from_remote = origin.is_some();
    let source = origin.unwrap_or_else(|| {
        let local = repo.workdir().unwrap_or(repo.path());
        std::path::absolute(local)
            .unwrap_or_else(|_| local.to_path_buf())
            .display()
            .to_string()
    });
    let written = purge::write(path, &source, from_remote, &report.findings)?;
    // Said even with --quiet: the user must know this file is sensitive.
    eprintln!(
        "npmsweep: warning: {} holds {} secret(s) in full (created with mode 0600): keep it private, \
         never commit it, delete it when done. Revoke the secrets first; the steps are in {}",
        written.expressions.display(),
        written.secrets,
        written.instructions.display()
    );
    Ok(())
}

/// Open a repository (working tree or bare) at or above `path`.
pub fn open(path: &Path) -> Result<Repository, String> {
    if !path.exists() {
        return Err(format!("{}: no such file or directory", path.display()));
    }
    Repository::open_ext(
        path,
        git2::RepositoryOpenFlags::empty(),
        std::iter::empty::<&str>(),
    )
    .map_err(|e| {
        if e.code() == git2::ErrorCode::NotFound {
            format!(
                "{} is not in a git repository (nor is any parent directory); \
                     `npmsweep scan` scans plain directories",
                path.display()
            )
        } else {
            format!(
                "cannot open the git repository at {}: {}",
                path.display(),
                e.message()
            )
        }
    })
}

/// Sweep with options (opens the repository itself).
pub fn sweep(options: &HistoryOptions, detect: &DetectOptions) -> Result<Report, String> {
    let repo = open(&options.repo)?;
    sweep_repository(&repo, options, detect)
}

fn sweep_repository(
    repo: &Repository,
    options: &HistoryOptions,
    detect: &DetectOptions,
) -> Result<Report, String> {
    let start = Instant::now();
    tune_libgit2();
    let format = ObjectFormat::of(repo);
    let (damaged, loose_warnings) = loose::check(
        &repo.commondir().join("objects"),
        options.max_file_size,
        format,
    );
    let progress = Progress::new(options.progress);
    let cache_key = cache::key(detect);
    let mut cache_problems = (Vec::new(), Vec::new());
    let mut sweep_cache = match &options.cache {
        None => cache::SweepCache::default(),
        Some(path) => match cache::load(path, &cache_key) {
            cache::Loaded::Ready(c) => c,
            cache::Loaded::Stale(c) => {
                cache_problems.1.push(format!(
                    "cache {}: written for other rules, detector options or npmsweep version; every blob is read again",
                    path.display()
                ));
                c
            }
            cache::Loaded::Unusable(why) => {
                cache_problems.0.push(format!(
                    "cache {}: {why}; ignored, every blob is read again (it is rewritten after the sweep)",
                    path.display()
                ));
                cache::SweepCache::default()
            }
        },
    };
    // An unchanged repository: the last walk is replayed, not done again.
    let recordable = options.cache.is_some()
        && matches!(options.selection, Selection::AllRefs)
        && !options.all_objects
        && damaged.is_empty();
    if sweep_cache.older_walk
        && let Some(path) = &options.cache
    {
        cache_problems.1.push(format!(
            "cache {}: its walk record is of an older format; history is walked in full and recorded anew",
            path.display()
        ));
    }
    let mut replay = match sweep_cache.walk.take() {
        Some(record) if recordable => {
            replay_walk(repo, options, &damaged, record, &mut cache_problems)
        }
        _ => None,
    };
    let cached = AtomicU64::new(replay.as_ref().map_or(0, |r| r.clean));
    let newly_clean = Mutex::new(Vec::new());
    // Blobs a replay knows to have findings are attributed without being
    // swept again (same bytes, same rules: same findings).
    let found = Mutex::new(
        replay
            .as_ref()
            .map_or(Vec::new(), |r| r.known_found.clone()),
    );
    // Found blobs whose analysis warned: a replay reads them again.
    let warned = Mutex::new(HashSet::new());
    let warnings = Mutex::new(Vec::new());
    // Blobs of the new commits that the record already lists.
    let duplicates = Mutex::new(HashSet::new());
    let visit = |index: usize, blob: &BlobToScan, bytes: &[u8], odb: &git2::Odb| {
        let files = blob.root.map(|root| GitTree {
            odb,
            root,
            damaged: &damaged,
        });
        let recording = files.as_ref().map(|f| Recording::new(f));
        let d = detect_blob(blob, bytes, recording.as_ref(), detect);
        // An analysis that read sibling files may differ in other commits
        // holding the blob: attribution re-runs it per commit group, so it
        // is a candidate even without findings here (and never cached as
        // clean: its answer depends on other files).
        let consulted = recording.is_some_and(|r| !r.into_paths().is_empty());
        if !d.findings.is_empty() || consulted {
            found.lock().expect("found lock").push(index);
        } else if options.cache.is_some() {
            newly_clean
                .lock()
                .expect("clean lock")
                .push((blob.id, cache::kinds_mask(&blob.kinds())));
        }
        if !d.warnings.is_empty() {
            warned.lock().expect("warned lock").insert(index);
            // Name the version: one path has many blobs in history.
            let short = &blob.id.to_string()[..12];
            warnings.lock().expect("warnings lock").extend(
                d.warnings
                    .into_iter()
                    .map(|w| format!("{w} (blob {short})")),
            );
        }
    };
    // Shared by libgit2's readers and pack traversal.
    let visit = &visit;
    let threads = source::reader_threads(options.threads);
    let packed_items = AtomicU64::new(0);
    let packed_bytes = AtomicU64::new(0);
    let objects_dir = repo.commondir().join("objects");
    let git_dir = repo.path().to_path_buf();
    // Worth parsing every pack's index and headers only for big histories.
    // A replay reads a few blobs: not worth reading the packs' indexes.
    let mut packs = (!matches!(options.selection, Selection::Range(_))
        && replay.is_none()
        && pack::Packs::count(&objects_dir) >= PACK_TRAVERSAL_MIN_OBJECTS)
        .then(|| pack::Packs::open(&objects_dir, format));
    let replayed_plan = replay.as_mut().map(|r| std::mem::take(&mut r.plan));
    let (plan, read) = match replayed_plan {
        Some(mut plan) => source::read_while(
            repo.path(),
            threads,
            options.max_file_size,
            |sink| {
                let replay = replay
                    .as_ref()
                    .expect("a replayed plan comes from a replay");
                let known: HashSet<usize> = replay.known_found.iter().copied().collect();
                let again: Batch = plan
                    .blobs
                    .iter()
                    .cloned()
                    .enumerate()
                    .filter(|(i, _)| !known.contains(i))
                    .collect();
                progress.planned(again.len() as u64);
                for chunk in again.chunks(64) {
                    sink(chunk.to_vec());
                }
                if let Some(grown) = &replay.grown {
                    // Only what the new commits add or change: not swept
                    // clean before, not already known from the record.
                    let offset = plan.blobs.len();
                    let recorded: HashSet<Oid> = plan.blobs.iter().map(|b| b.id).collect();
                    let new =
                        source::plan_changes(repo, &grown.new, &damaged, &mut |mut batch| {
                            let mut clean = 0;
                            batch.retain(|(_, b)| {
                                let skip = sweep_cache.is_clean(b.id, &b.kinds());
                                clean += u64::from(skip);
                                !skip && !recorded.contains(&b.id)
                            });
                            cached.fetch_add(clean, AtomicOrdering::Relaxed);
                            if batch.is_empty() {
                                return;
                            }
                            progress.planned(batch.len() as u64);
                            sink(batch.into_iter().map(|(i, b)| (i + offset, b)).collect());
                        })?;
                    *duplicates.lock().expect("duplicates lock") =
                        incremental_merge(&mut plan, new);
                }
                Ok(plan)
            },
            |bytes| progress.advance(bytes),
            visit,
        )?,
        None => source::read_while(
            repo.path(),
            threads,
            options.max_file_size,
            |sink| {
                // The newest blobs go straight to libgit2's readers while the
                // walk goes on; past PACK_TRAVERSAL_MIN_BLOBS the rest wait for
                // the walk to end and are read by resolving each pack's deltas
                // once (see `pack`): cheaper than libgit2 once there are many.
                // A history big enough for pack traversal from the start
                // withholds them all: its walk keeps every core busy.
                let mut forwarded = if packs.is_some() {
                    PACK_TRAVERSAL_MIN_BLOBS
                } else {
                    0
                };
                // Withheld blobs as (index in the plan, how many kinds of
                // path it had been seen under when handed over, handed over
                // again): the plan holds the rest, so pnpm's 200,000 blobs
                // are not held twice with their paths.
                let mut withheld: Vec<(usize, usize, bool)> = Vec::new();
                let plan = source::plan(
                    repo,
                    &options.selection,
                    options.all_objects,
                    &damaged,
                    packs.as_ref(),
                    threads,
                    &mut |mut batch| {
                        if !sweep_cache.is_empty() {
                            let before = batch.len();
                            batch.retain(|(_, b)| !sweep_cache.is_clean(b.id, &b.kinds()));
                            cached
                                .fetch_add((before - batch.len()) as u64, AtomicOrdering::Relaxed);
                            if batch.is_empty() {
                                return;
                            }
                        }
                        progress.planned(batch.len() as u64);
                        if forwarded < PACK_TRAVERSAL_MIN_BLOBS {
                            forwarded += batch.len();
                            sink(batch);
                        } else {
                            withheld
                                .extend(batch.iter().map(|(i, b)| (*i, b.seen_as.len(), b.again)));
                        }
                    },
                );
                // The walk's sets and tree cache were freed on this thread;
                // pack traversal allocates on its own threads.
                release_free_memory();
                let planned = match &plan {
                    Ok(planned) if !withheld.is_empty() => planned,
                    _ => return plan,
                };
                // A blob as it was handed over: kinds of path it gained
                // later are read when it is handed over again.
                let as_handed = |&(index, kinds, again): &(usize, usize, bool)| {
                    let blob = &planned.blobs[index];
                    if again || kinds < blob.seen_as.len() {
                        let mut copy = blob.clone();
                        copy.seen_as.truncate(kinds);
                        copy.again = again;
                        Cow::Owned(copy)
                    } else {
                        Cow::Borrowed(blob)
                    }
                };
                let ids: Vec<Oid> = withheld
                    .iter()
                    .map(|&(index, ..)| planned.blobs[index].id)
                    .collect();
                let read = packs
                    .get_or_insert_with(|| pack::Packs::open(&objects_dir, format))
                    .read_wanted(&ids, threads, &|w, bytes| {
                        let index = withheld[w].0;
                        let blob = as_handed(&withheld[w]);
                        if !blob.again {
                            packed_items.fetch_add(1, AtomicOrdering::Relaxed);
                            packed_bytes.fetch_add(bytes.len() as u64, AtomicOrdering::Relaxed);
                        }
                        // Sibling files (a workflow's package.json) are read
                        // through this thread's own handle on the repository.
                        with_thread_odb(&git_dir, format, |odb| visit(index, &blob, bytes, odb));
                        progress.advance(bytes.len() as u64);
                    });
                // Loose, damaged or otherwise unresolved ones: libgit2 reads
                // them and warns about what it cannot read.
                let rest: Batch = withheld
                    .iter()
                    .zip(read)
                    .filter(|(_, read)| !read)
                    .map(|(w, _)| (w.0, as_handed(w).into_owned()))
                    .collect();
                for chunk in rest.chunks(64) {
                    sink(chunk.to_vec());
                }
                plan
            },
            |bytes| progress.advance(bytes),
            visit,
        )?,
    };
    progress.finish();
    // Attribution reads through libgit2 alone: the packs' entry tables and
    // the readers' freed buffers would only add to its peak.
    drop(packs);
    release_free_memory();
    let mut plan = plan?;
    // Only a walk that met no damaged commit or tree is recorded (a replay
    // could not say what it skipped); blobs that could not be read are
    // recorded and tried again on every replay.
    let walk_complete = plan.stats.warnings.is_empty() && plan.stats.skipped == 0;
    let walk_notes = plan.stats.notes.clone();
    let duplicates = duplicates.into_inner().expect("duplicates lock");
    let warned = warned.into_inner().expect("warned lock");

    let mut found = found.into_inner().expect("found lock");
    found.sort_unstable();
    found.dedup();
    let mut stats = merge_stats(std::mem::take(&mut plan.stats), read);
    stats.items += packed_items.into_inner();
    stats.bytes += packed_bytes.into_inner();
    stats
        .warnings
        .extend(warnings.into_inner().expect("warnings lock"));
    stats.skipped += loose_warnings.len() as u64;
    stats.warnings.extend(loose_warnings);
    stats.warnings.extend(cache_problems.0);
    stats.notes.extend(cache_problems.1);
    let grown = replay.as_ref().is_some_and(|r| r.grown.is_some());
    let keep_placements = recordable && (replay.is_none() || grown) && walk_complete;
    let replayed_walk = replay.is_some();
    // The commit graph of every ref, from the walk or its record: the ref
    // graph need not read every commit again.
    let (parents, times) = match replay.as_mut() {
        Some(r) => (
            Some(std::mem::take(&mut r.parents)),
            std::mem::take(&mut r.times),
        ),
        None if matches!(options.selection, Selection::AllRefs) && !options.all_objects => (
            parent_indexes(&plan),
            plan.commit_links.iter().map(|(t, _)| *t).collect(),
        ),
        None => (None, Vec::new()),
    };
    let mut replayed_placements = replay.as_mut().map(|r| std::mem::take(&mut r.placements));
    let mut attributed = found.clone();
    let mut set_aside = Placements::new();
    let mut recorded_groups = replay.as_mut().map(|r| std::mem::take(&mut r.groups));
    if let Some(r) = replay.as_ref()
        && let Some(grown) = &r.grown
        && let Some(placements) = replayed_placements.as_mut()
        && let Some(groups) = recorded_groups.as_mut()
    {
        attributed = place_in_new_commits(
            repo,
            &plan,
            &found,
            &damaged,
            r,
            grown,
            placements,
            groups,
            &mut set_aside,
            &sweep_cache,
        );
    }
    // Known to have findings: attributed (read once more) without being
    // swept again.
    if let Some(r) = &replay {
        let known: HashSet<usize> = r.known_found.iter().copied().collect();
        stats.items += attributed.iter().filter(|i| known.contains(i)).count() as u64;
    }
    let Attributed {
        findings,
        mut placements,
        groups,
        fruitful,
    } = attribute(
        repo,
        &plan,
        &attributed,
        &damaged,
        detect,
        replayed_placements,
        recorded_groups.as_ref(),
        keep_placements,
        parents.as_deref(),
        &mut stats,
    );
    placements.extend(set_aside);
    if let Some(path) = &options.cache {
        let newly = record_clean(&mut sweep_cache, &plan, &found, newly_clean);
        // A replay that read nothing new leaves the file as it is.
        let unchanged = replay.as_ref().is_some_and(|r| r.grown.is_none()) && newly == 0;
        // After new commits, an approximation: a blob the recorded walk met
        // at one path and a new commit adds at another counts twice (the
        // record does not list clean blobs); only a note shows the count.
        let met = match &replay {
            Some(r) => r.met_before + (plan.blobs.len() - r.listed - duplicates.len()) as u64,
            None => plan.blobs.len() as u64,
        };
        let new_commits = replay
            .as_ref()
            .and_then(|r| r.grown.as_ref())
            .map(|g| g.new.len());
        sweep_cache.walk = match (replay, parents) {
            (Some(replay), _) if replay.record.is_some() => replay.record,
            (_, Some(parents)) if keep_placements => Some(record_walk(
                repo,
                options,
                &plan,
                Walked {
                    found: &found,
                    placements,
                    groups,
                    fruitful: &fruitful,
                    notes: walk_notes,
                    parents,
                    times,
                    warned: &warned,
                    duplicates: &duplicates,
                    met,
                },
                &sweep_cache,
            )),
            _ => None,
        };
        if !unchanged && let Err(e) = sweep_cache.save(path, &cache_key) {
            stats
                .warnings
                .push(format!("{e}; the next sweep will read every blob again"));
        }
        if let Some(n) = new_commits {
            stats.notes.push(format!(
                "refs changed since the sweep recorded in the cache {}: only the new commit(s) were walked ({n})",
                path.display()
            ));
        } else if replayed_walk {
            stats.notes.push(format!(
                "no ref changed since the sweep recorded in the cache {}: its walk over commits and trees was reused",
                path.display()
            ));
        }
        let cached = cached.into_inner();
        if cached > 0 {
            stats.notes.push(format!(
                "{cached} blob(s) already swept clean with the same rules (cache {}) were not read again",
                path.display()
            ));
        }
    }
    stats.settle();
    Ok(Report {
        command: "history".into(),
        findings,
        readiness: head::readiness(repo, &damaged, detect),
        stats,
        repository: None,
        elapsed: start.elapsed(),
    })
}

/// Remember the blobs this sweep found clean, forget any with findings.
fn record_clean(
    sweep_cache: &mut cache::SweepCache,
    plan: &Plan,
    found: &[usize],
    newly_clean: Mutex<Vec<(Oid, u32)>>,
) -> usize {
    let newly_clean = newly_clean.into_inner().expect("clean lock");
    for &(id, mask) in &newly_clean {
        sweep_cache.record_clean(id, mask);
    }
    for &index in found {
        sweep_cache.forget(plan.blobs[index].id);
    }
    newly_clean.len()
}

/// Run `f` with an object database of this thread's own (libgit2 handles
/// are not shared across threads): pack traversal's workers read a
/// workflow's sibling files through it.
fn with_thread_odb(git_dir: &Path, format: ObjectFormat, f: impl FnOnce(&git2::Odb)) {
    thread_local! {
        static REPO: std::cell::RefCell<Option<(PathBuf, Repository)>> =
            const { std::cell::RefCell::new(None) };
    }
    REPO.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(dir, _)| dir != git_dir)
            && let Ok(repo) = Repository::open(git_dir)
        {
            *cell = Some((git_dir.to_path_buf(), repo));
        }
        match cell.as_ref().and_then(|(_, repo)| repo.odb().ok()) {
            Some(odb) => f(&odb),
            // Cannot happen for a repository already open; without an
            // object database the blob is still read, without its tree.
            None => {
                if let Ok(odb) = git2::Odb::new_ext(format.to_git2()) {
                    f(&odb)
                }
            }
        }
    });
}

/// Blobs read through libgit2 while the walk goes on before the rest wait
/// for pack traversal: small sweeps (a pull request's range) never pay for
/// reading a pack's index, large ones pay it once.
const PACK_TRAVERSAL_MIN_BLOBS: usize = 2048;

/// Packed objects from which trees, too, are read by pack traversal.
const PACK_TRAVERSAL_MIN_OBJECTS: u64 = 20_000;

/// libgit2 settings for reading every object once. Hash verification is
/// off because hashing every blob again would cost as much as matching
/// it (git's own `cat-file` does not verify either); the sweep reads content,
/// it does not vouch for the repository's integrity.
///
/// Memory: libgit2 keeps parsed commits and trees in a cache of up to
/// 256 MiB and maps pack windows up to 8 GiB; the sweep reads each object
/// about once, so both mostly hold what will not be asked again. On pnpm's
/// history they were most of a peak RSS over 800 MB. The mapped limit only
/// bounds anything with windows smaller than the pack: libgit2 maps 1 GiB
/// windows on 64-bit and cannot unmap the one in use, so a pack under 1 GiB
/// was mapped whole (pnpm's 246 MB pack all resident while provenance read
/// its trees). Trees are not cached at all: the walk reads each tree once
/// per directory context (from the packs, in large repositories) and
/// provenance reads each once more and remembers what it needs, so cached
/// trees only evicted the commits that attribution asks for again (on pnpm's
/// history they filled the cache from 33 to 96 MiB while provenance read
/// them). Set once per process (they are global to libgit2).
fn tune_libgit2() {
    git2::opts::strict_hash_verification(false);
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: plain stores into libgit2's global settings, made once
        // before this process's sweeps read objects; libgit2 reads them
        // under its own locks.
        unsafe {
            let _ = git2::opts::set_cache_max_size(LIBGIT2_CACHE_BYTES);
            let _ = git2::opts::set_cache_object_limit(git2::ObjectType::Tree, 0);
            let _ = git2::opts::set_mwindow_size(LIBGIT2_WINDOW_BYTES);
            let _ = git2::opts::set_mwindow_mapped_limit(LIBGIT2_MAPPED_BYTES);
        }
    });
}

/// Give freed heap memory back to the system between phases. glibc keeps
/// what a phase freed for later allocations, in the arena of the thread that
/// freed it; the next phase allocates on other threads or in other sizes, so
/// on pnpm's history 80 MB freed by the walk and the readers stayed resident
/// through attribution. Other allocators return memory by themselves.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of glibc's heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// libgit2's cache of parsed objects (its default: 256 MiB).
const LIBGIT2_CACHE_BYTES: isize = 96 << 20;

/// Pack windows libgit2 keeps mapped (its default on 64-bit: 8 GiB).
const LIBGIT2_MAPPED_BYTES: usize = 128 << 20;

/// One pack window libgit2 maps (its default on 64-bit: 1 GiB).
const LIBGIT2_WINDOW_BYTES: usize = 32 << 20;

/// Pass 2 detection: every analyser the blob's kinds of path ask for, once.
/// Binary content gets the token matcher only, as in `scan`.
fn detect_blob(
    blob: &BlobToScan,
    bytes: &[u8],
    files: Option<&Recording>,
    opts: &DetectOptions,
) -> detect::Detected {
    let utf16 = scan::utf16_text(bytes);
    let bytes = utf16.as_deref().map_or(bytes, str::as_bytes);
    let mut kinds = blob.kinds();
    if kinds.iter().any(|k| *k != FileKind::Other) && scan::looks_binary(bytes) {
        kinds = vec![FileKind::Other];
    }
    let item = Item {
        path: blob.first_path(),
        bytes,
        origin: Origin::Blob {
            blob_id: blob.id.to_string(),
        },
        tree: files.map(|files| TreeView {
            files: files as &dyn detect::tree::Tree,
            path: blob.first_path(),
        }),
    };
    detect::detect(&item, &kinds, opts)
}

fn merge_stats(mut plan: SourceStats, read: SourceStats) -> SourceStats {
    plan.items += read.items;
    plan.bytes += read.bytes;
    plan.skipped += read.skipped;
    plan.warnings.extend(read.warnings);
    plan.notes.extend(read.notes);
    plan
}

/// A finding from pass 3 with what merging needs.
struct Candidate {
    finding: Finding,
    blob: Oid,
    /// Indices into [`Plan::commits`].
    commits: Vec<u32>,
    /// Sort key of the introducing commit (earliest first).
    intro: Option<(i64, i64, Oid)>,
    /// HEAD holds the blob with this analysis (for a workflow judged with
    /// its commit's package.json: HEAD is among `commits`).
    holds_head: bool,
    /// Its group's index in the answers of
    /// [`provenance::RefGraph::refs_reaching_each`], if refs are asked for
    /// it: the refs' names are summarised only once versions are merged
    /// (as names per candidate, thousands of refs reaching each of a
    /// thousand candidates took about 100 MB on pnpm's history).
    reach: Option<usize>,
    /// Its (blob, path) is in HEAD's tree.
    at_head: bool,
    /// A branch or tag (not only a pull-request ref) reaches a commit
    /// holding it.
    on_branch: bool,
}

/// A found blob at one path: (blob index, path, commits holding it there,
/// introducing commit, whether a branch or tag reaches one of them).
type Place = (usize, String, Vec<u32>, Option<CommitInfo>, bool);

/// Commits' root trees and the blob ids at paths below trees, remembered:
/// grouping commits by the files an analysis read asks the same questions
/// of every commit, for every workflow version, and subtrees repeat. The
/// last tree read is kept parsed: one commit's paths are asked together.
struct TreeLookups {
    roots: Vec<Option<Option<Oid>>>,
    /// (tree, path) → file, as indices into `paths` and `files` (or
    /// [`NO_FILE`]): the paths are the few that analyses read and the files
    /// their few versions, while the trees are every commit's root. Keyed by
    /// the strings and ids themselves, the 310,000 answers of pnpm's history
    /// took 58 MB (twice that while the table grew).
    ids: HashMap<(Oid, u32), u32>,
    paths: HashMap<String, u32>,
    files: Vec<Oid>,
    file_index: HashMap<Oid, u32>,
    last: Option<(Oid, Vec<OwnedEntry>)>,
}

/// No regular file at that path, in [`TreeLookups::ids`].
const NO_FILE: u32 = u32::MAX;

/// A tree entry copied out of its object: name, id, kind, mode.
type OwnedEntry = (Vec<u8>, Oid, tree::EntryKind, u32);

impl TreeLookups {
    fn new(commits: usize) -> TreeLookups {
        TreeLookups {
            roots: vec![None; commits],
            ids: HashMap::new(),
            paths: HashMap::new(),
            files: Vec::new(),
            file_index: HashMap::new(),
            last: None,
        }
    }

    fn root(&mut self, repo: &Repository, plan: &Plan, c: u32) -> Option<Oid> {
        *self.roots[c as usize].get_or_insert_with(|| {
            repo.find_commit(plan.commits[c as usize])
                .ok()
                .map(|c| c.tree_id())
        })
    }

    fn entry(
        &mut self,
        odb: &git2::Odb,
        damaged: &loose::Damaged,
        tree_id: Oid,
        name: &str,
    ) -> Option<(Oid, tree::EntryKind, u32)> {
        if self.last.as_ref().is_none_or(|(id, _)| *id != tree_id) {
            if damaged.contains(tree_id) {
                return None;
            }
            let object = tree::read(odb, tree_id).ok()?;
            let entries = tree::entries(tree_id, object.data())
                .map_while(Result::ok)
                .map(|e| (e.name.to_vec(), e.id, e.kind, e.mode))
                .collect();
            self.last = Some((tree_id, entries));
        }
        let (_, entries) = self.last.as_ref()?;
        entries
            .iter()
            .find(|(n, ..)| n == name.as_bytes())
            .map(|(_, id, kind, mode)| (*id, *kind, *mode))
    }

    /// The regular file at `path` under the tree `tree_id` (as
    /// [`GitTree`] reads it: no symbolic link, no damaged object).
    fn file_id(
        &mut self,
        odb: &git2::Odb,
        damaged: &loose::Damaged,
        tree_id: Oid,
        path: &str,
    ) -> Option<Oid> {
        let path_index = match self.paths.get(path) {
            Some(&i) => i,
            None => {
                let i = self.paths.len() as u32;
                self.paths.insert(path.to_string(), i);
                i
            }
        };
        if let Some(&known) = self.ids.get(&(tree_id, path_index)) {
            return self.files.get(known as usize).copied();
        }
        let found = match path.split_once('/') {
            // One level at a time, so shared subtrees are looked up once.
            Some((dir, rest)) => match self.entry(odb, damaged, tree_id, dir) {
                Some((sub, tree::EntryKind::Tree, _)) => self.file_id(odb, damaged, sub, rest),
                _ => None,
            },
            None => match self.entry(odb, damaged, tree_id, path) {
                Some((id, tree::EntryKind::Blob, 0o100644 | 0o100755)) if !damaged.contains(id) => {
                    Some(id)
                }
                _ => None,
            },
        };
        let file = match found {
            None => NO_FILE,
            Some(id) => *self.file_index.entry(id).or_insert_with(|| {
                self.files.push(id);
                self.files.len() as u32 - 1
            }),
        };
        self.ids.insert((tree_id, path_index), file);
        found
    }
}

/// Analyses of one workflow blob at one path against different versions of
/// the files it reads: past this many, the remaining commits share the
/// last one.
const MAX_TREE_GROUPS: usize = 16;

/// Pass 3: provenance for the found blobs, and their findings per path.
#[allow(clippy::too_many_arguments)]
fn attribute(
    repo: &Repository,
    plan: &Plan,
    found: &[usize],
    damaged: &loose::Damaged,
    detect: &DetectOptions,
    replayed: Option<Placements>,
    recorded_groups: Option<&Groups>,
    keep_placements: bool,
    parents: Option<&[Vec<u32>]>,
    stats: &mut SourceStats,
) -> Attributed {
    let mut kept = Placements::new();
    let mut kept_groups = Groups::new();
    if found.is_empty() {
        return Attributed::default();
    }
    let odb = match repo.odb() {
        Ok(o) => o,
        Err(e) => {
            stats.warnings.push(format!(
                "cannot reopen the object database: {}",
                e.message()
            ));
            return Attributed::default();
        }
    };
    let found_ids: HashSet<Oid> = found.iter().map(|&i| plan.blobs[i].id).collect();
    let mut located = match replayed {
        // A blob found now that the walk did not record as found (one that
        // could not be read then) needs the full search.
        Some(placements) if found_ids.iter().all(|id| placements.contains_key(id)) => {
            provenance::located_from(repo, &odb, placements, &found_ids, damaged)
        }
        _ => provenance::locate(repo, &odb, &plan.commits, &found_ids, damaged),
    };
    let mut times = provenance::CommitTimes::new(repo, &plan.commits);

    let mut infos: HashMap<Oid, CommitInfo> = HashMap::new();
    let mut info = |id: Oid| -> Option<CommitInfo> {
        if let Some(i) = infos.get(&id) {
            return Some(i.clone());
        }
        let i = provenance::commit_info(repo, id)?;
        infos.insert(id, i.clone());
        Some(i)
    };

    let graph = match parents {
        Some(parents) => provenance::RefGraph::from_parents(&plan.commits, parents, &plan.refs),
        None => provenance::RefGraph::load(repo, &plan.refs, damaged),
    };
    // "Introduced in" prefers what branches and tags reach: a commit reachable
    // only from a pull-request ref may never have been merged (or was
    // rewritten before merging), and names nothing a maintainer can fix.
    let on_branches = graph.reachable_from(|name| refs::kind(name) != refs::RefKind::PullRequest);

    // Where each found blob is, restricted in range scans to what the range added.
    let mut places: Vec<Place> = Vec::new();
    for &index in found {
        let blob = &plan.blobs[index];
        let mut any = false;
        if let Some(paths) = located.placements.remove(&blob.id) {
            if keep_placements {
                kept.insert(blob.id, paths.clone());
            }
            for (path, commits) in paths {
                if let Some(added) = &plan.added
                    && !added.contains(&(blob.id, path.clone()))
                {
                    continue;
                }
                any = true;
                // A replay knows that no analysis at this path found anything.
                let idle = recorded_groups
                    .and_then(|g| g.get(&blob.id))
                    .and_then(|paths| paths.get(&path))
                    .is_some_and(Vec::is_empty);
                if idle {
                    if keep_placements {
                        kept_groups
                            .entry(blob.id)
                            .or_default()
                            .insert(path, Vec::new());
                    }
                    continue;
                }
                let branch_commits: Vec<u32> = commits
                    .iter()
                    .copied()
                    .filter(|&c| on_branches.contains(&plan.commits[c as usize]))
                    .collect();
                let intro = if branch_commits.is_empty() {
                    times.introducing(&commits)
                } else {
                    times.introducing(&branch_commits)
                }
                .and_then(&mut info);
                let on_branch = !branch_commits.is_empty();
                places.push((index, path, commits, intro, on_branch));
            }
        }
        if !any {
            // No commit names it here (an unreachable blob, or a ref that
            // points at a tree or blob): report it under the paths seen.
            let paths: BTreeSet<&str> = blob.seen_as.iter().map(|(_, p)| p.as_str()).collect();
            for path in paths {
                places.push((index, path.to_string(), Vec::new(), None, false));
            }
        }
    }
    let head = repo
        .head()
        .ok()
        .and_then(|h| h.target())
        .filter(|id| !damaged.contains(*id));

    let mut candidates = Vec::new();
    let mut reach_groups: Vec<usize> = Vec::new();
    let mut lookups = TreeLookups::new(plan.commits.len());
    let mut current: Option<(usize, git2::OdbObject)> = None;
    for (index, path, commits, intro, on_branch) in places {
        let blob = &plan.blobs[index];
        if current.as_ref().is_none_or(|(i, _)| *i != index) {
            current = match odb.read(blob.id) {
                Ok(object) => Some((index, object)),
                Err(e) => {
                    stats.warnings.push(format!(
                        "blob {}: {} on second read; its findings are not reported",
                        blob.id,
                        tree::describe_error(&e)
                    ));
                    None
                }
            };
        }
        let Some((_, object)) = &current else {
            continue;
        };
        // Sibling files come from the tree of a commit holding the blob at
        // this path: the newest first, then, when the analysis read files
        // that differ in older commits, once per group of commits agreeing
        // on every file it read (the same reads give the same result).
        let mut remaining = commits.clone();
        let mut groups = 0;
        // A replay knows the groups with findings (the others gave none).
        let mut known: Option<std::collections::VecDeque<Vec<u32>>> = recorded_groups
            .and_then(|g| g.get(&blob.id))
            .and_then(|paths| paths.get(&path))
            .map(|list| list.iter().cloned().collect());
        let mut fruitful_groups = Vec::new();
        let mut capped = false;
        loop {
            let forced = match known.as_mut() {
                Some(queue) => match queue.pop_front() {
                    // Empty: the path's only group, all its commits.
                    Some(g) if g.is_empty() => Some((commits.clone(), false)),
                    Some(g) => Some((g, true)),
                    None => break,
                },
                None => None,
            };
            let first = match &forced {
                Some((group, _)) => group.first(),
                None => remaining.first(),
            };
            let root = match first {
                Some(&c) => lookups.root(repo, plan, c),
                None => blob.root,
            };
            let files = root.map(|root| GitTree {
                odb: &odb,
                root,
                damaged,
            });
            let recording = files.as_ref().map(|f| Recording::new(f));
            let item = Item {
                path: &path,
                bytes: object.data(),
                origin: Origin::Blob {
                    blob_id: blob.id.to_string(),
                },
                tree: recording.as_ref().map(|files| TreeView {
                    files: files as &dyn detect::tree::Tree,
                    path: &path,
                }),
            };
            let detected = scan::detect_item(&item, detect).findings;
            let consulted = recording.map(Recording::into_paths).unwrap_or_default();
            groups += 1;
            let computed = forced.is_none();
            let group: Vec<u32> = match (&files, consulted.is_empty()) {
                _ if !computed => Vec::new(),
                (Some(_), false) if groups >= MAX_TREE_GROUPS => {
                    // The rest share this analysis: which commits they are
                    // depends on the order met, so not recorded.
                    capped = true;
                    std::mem::take(&mut remaining)
                }
                (Some(files), false) => {
                    let key = |lookups: &mut TreeLookups, root: Oid| -> Vec<Option<Oid>> {
                        consulted
                            .iter()
                            .map(|p| lookups.file_id(&odb, damaged, root, p))
                            .collect()
                    };
                    let wanted = key(&mut lookups, files.root);
                    let (mut same, mut rest) = (Vec::new(), Vec::new());
                    for &c in &remaining {
                        let root = lookups.root(repo, plan, c);
                        if root.is_some_and(|r| key(&mut lookups, r) == wanted) {
                            same.push(c);
                        } else {
                            rest.push(c);
                        }
                    }
                    remaining = rest;
                    same
                }
                _ => std::mem::take(&mut remaining),
            };
            // The whole path's introduction when nothing was split off;
            // a group's own otherwise (preferring what branches reach).
            let (group, split) = match forced {
                Some(known) => known,
                None => (group, !(groups == 1 && remaining.is_empty())),
            };
            if keep_placements && !detected.is_empty() {
                fruitful_groups.push(if split { group.clone() } else { Vec::new() });
            }
            let (intro, on_branch) = if split {
                let branch_commits: Vec<u32> = group
                    .iter()
                    .copied()
                    .filter(|&c| on_branches.contains(&plan.commits[c as usize]))
                    .collect();
                let from = if branch_commits.is_empty() {
                    &group
                } else {
                    &branch_commits
                };
                (
                    times.introducing(from).and_then(&mut info),
                    !branch_commits.is_empty(),
                )
            } else {
                (intro.clone(), on_branch)
            };
            // Which refs reach the group: asked for every group at once
            // after this loop.
            let reach = match (&intro, detected.is_empty()) {
                (Some(_), false) => {
                    // Its candidates hold the group's commits: name the first.
                    reach_groups.push(candidates.len());
                    Some(reach_groups.len() - 1)
                }
                _ => None,
            };
            let holds_head = if split {
                head.is_some_and(|h| group.iter().any(|&c| plan.commits[c as usize] == h))
            } else {
                located.in_head.contains(&blob.id)
            };
            // HEAD's file at this path is this blob, with this analysis.
            let at_head =
                located.head_paths.contains(&(blob.id, path.clone())) && (!split || holds_head);
            for mut finding in detected {
                finding.provenance = intro.as_ref().map(|c| Provenance {
                    commit: c.id.to_string(),
                    author: InputText::new(&c.author),
                    date: provenance::rfc3339_utc(c.author_time),
                    summary: InputText::new(&c.summary),
                    commits: group.len(),
                    ..Default::default()
                });
                candidates.push(Candidate {
                    finding,
                    blob: blob.id,
                    commits: group.clone(),
                    intro: intro.as_ref().map(|c| (c.author_time, c.commit_time, c.id)),
                    holds_head,
                    reach,
                    at_head,
                    on_branch,
                });
            }
            if computed && remaining.is_empty() {
                break;
            }
        }
        if keep_placements && !capped {
            kept_groups
                .entry(blob.id)
                .or_default()
                .insert(path, fruitful_groups);
        }
    }
    let groups: Vec<&[u32]> = reach_groups
        .iter()
        .map(|&c| candidates[c].commits.as_slice())
        .collect();
    let reached = graph.refs_reaching_each(&plan.commits, &groups);
    // Ref names are input too: a branch can be named anything. Tip indexes
    // until versions are merged: thousands of refs reach many candidates.
    let ref_names: Vec<String> = (0..graph.tip_count() as u32)
        .map(|t| scrub(graph.tip_name(t)).into_owned())
        .collect();
    let fruitful = candidates.iter().map(|c| c.blob).collect();
    let mut findings = merge_versions(candidates, &located.in_head, &reached, &ref_names);
    sort_findings(&mut findings);
    Attributed {
        findings,
        placements: kept,
        groups: kept_groups,
        fruitful,
    }
}

/// Found blob → path → indices into [`Plan::commits`] of commits holding it there.
type Placements = HashMap<Oid, std::collections::BTreeMap<String, Vec<u32>>>;

/// Found blob → path → the groups of commits whose analysis found something
/// there (see [`cache::FoundBlob::groups`]).
type Groups = HashMap<Oid, std::collections::BTreeMap<String, Vec<Vec<u32>>>>;

/// What attribution gives: findings, and for the record where the found
/// blobs are, which groups gave findings, which blobs gave any.
#[derive(Default)]
struct Attributed {
    findings: Vec<Finding>,
    placements: Placements,
    groups: Groups,
    fruitful: HashSet<Oid>,
}

/// The last walk, ready to be replayed (unchanged repository) or grown by
/// new commits.
struct Replay {
    plan: Plan,
    placements: Placements,
    /// Groups with findings of each found blob's paths.
    groups: Groups,
    /// Blobs the walk met that are not read again (swept clean before).
    clean: u64,
    /// Kept as it is for the next sweep (`None` when grown: recorded anew).
    record: Option<cache::WalkRecord>,
    /// Indexes in `plan.blobs` of blobs known to have findings: attributed,
    /// not swept again.
    known_found: Vec<usize>,
    /// Parents of each of `plan.commits`, as indexes.
    parents: Vec<Vec<u32>>,
    /// Committer time of each of `plan.commits` (only when grown).
    times: Vec<i64>,
    /// After new commits: the grown walk.
    grown: Option<incremental::Grown>,
    /// Found blobs whose attribution found nothing (only listed when grown).
    barren: HashSet<Oid>,
    /// `plan.blobs[..listed]` come from the record.
    listed: usize,
    /// Unique blobs the recorded walk met.
    met_before: u64,
}

/// The recorded walk, if nothing it depends on changed since (same refs at
/// the same targets, HEAD, shallow boundary, grafts, size limit), or grown
/// by the commits added since when only refs moved forward. A record that
/// does not parse is a warning and a full walk; one that cannot be grown
/// (a recorded commit no ref reaches any more) a note and a full walk.
fn replay_walk(
    repo: &Repository,
    options: &HistoryOptions,
    damaged: &loose::Damaged,
    record: cache::WalkRecord,
    problems: &mut (Vec<String>, Vec<String>),
) -> Option<Replay> {
    let (refs, ref_stats) = source::ref_tips(repo, damaged).ok()?;
    if !ref_stats.warnings.is_empty() {
        return None;
    }
    let unchanged = record.walk_key == walk_key(repo, &refs, options);
    if !unchanged && (record.base_key != base_key(repo, options) || record.other_tips) {
        return None;
    }
    let path = options.cache.as_deref().unwrap_or(Path::new(""));
    let parsed = (|| {
        let commits = record
            .commits
            .iter()
            .map(|c| cache::parse_id(c))
            .collect::<Option<Vec<Oid>>>()?;
        let sound = record.parents.len() == commits.len()
            && record.times.len() == commits.len()
            && record
                .parents
                .iter()
                .flatten()
                .all(|&p| (p as usize) < commits.len());
        if !sound {
            return None;
        }
        let mut blobs = Vec::new();
        let mut placements = Placements::new();
        let mut known_found = Vec::new();
        let mut barren = HashSet::new();
        let mut groups = Groups::new();
        // Barren ones (an analysis that read other files and found nothing
        // in any commit) give nothing again from the same objects; after
        // new commits they may (see `place_in_new_commits`).
        for found in record.found.iter().filter(|f| !unchanged || !f.barren) {
            let blob = found.to_blob()?;
            let in_range = found
                .placements
                .values()
                .chain(found.groups.values().flatten())
                .flatten()
                .all(|&c| (c as usize) < commits.len());
            if !in_range {
                return None;
            }
            if found.barren {
                barren.insert(blob.id);
            }
            if !found.warned {
                known_found.push(blobs.len());
            }
            placements.insert(blob.id, found.placements.clone());
            groups.insert(blob.id, found.groups.clone());
            blobs.push(blob);
        }
        for unread in &record.unread {
            blobs.push(unread.to_blob()?);
        }
        Some((commits, blobs, placements, known_found, barren, groups))
    })();
    let Some((commits, blobs, mut placements, known_found, barren, mut groups)) = parsed else {
        problems.0.push(format!(
            "cache {}: damaged walk record; ignored, history is walked again",
            path.display()
        ));
        return None;
    };
    let notes = record.notes.clone();
    let met_before = record.blobs;
    let (commits, parents, times, grown, record) = if unchanged {
        (
            commits,
            record.parents.clone(),
            Vec::new(),
            None,
            Some(record),
        )
    } else {
        let mut grown = match incremental::grow(
            repo,
            damaged,
            &commits,
            &record.times,
            &record.parents,
            &refs,
        ) {
            Ok(g) => g,
            Err(why) => {
                problems.1.push(format!(
                    "cache {}: {why}; history is walked in full",
                    path.display()
                ));
                return None;
            }
        };
        let lists = placements
            .values_mut()
            .flat_map(|paths| paths.values_mut())
            .chain(
                groups
                    .values_mut()
                    .flat_map(|paths| paths.values_mut().flatten()),
            );
        for list in lists {
            for c in list.iter_mut() {
                *c = grown.remap[*c as usize];
            }
            list.sort_unstable();
        }
        (
            std::mem::take(&mut grown.commits),
            std::mem::take(&mut grown.parents),
            std::mem::take(&mut grown.times),
            Some(grown),
            None,
        )
    };
    // What is neither found nor unread was swept clean.
    let clean = if unchanged {
        met_before.saturating_sub(blobs.len() as u64)
    } else {
        0
    };
    let listed = blobs.len();
    Some(Replay {
        plan: Plan {
            blobs,
            commits,
            refs,
            stats: SourceStats {
                notes,
                ..SourceStats::default()
            },
            ..Plan::default()
        },
        placements,
        groups,
        clean,
        record,
        known_found,
        parents,
        times,
        grown,
        barren,
        listed,
        met_before,
    })
}

/// Blobs of the new commits after the recorded ones: a blob the record
/// already lists only gains the kinds of path it is seen under now. The
/// indexes (in `plan.blobs`) of those duplicates, left in place so the
/// indexes handed to the readers stay valid.
fn incremental_merge(plan: &mut Plan, mut new: Plan) -> HashSet<usize> {
    let listed: HashMap<Oid, usize> = plan
        .blobs
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id, i))
        .collect();
    let offset = plan.blobs.len();
    let mut duplicates = HashSet::new();
    for (i, blob) in new.blobs.iter().enumerate() {
        if let Some(&at) = listed.get(&blob.id) {
            duplicates.insert(offset + i);
            let known = &mut plan.blobs[at].seen_as;
            for (kind, path) in &blob.seen_as {
                if !known.iter().any(|(k, _)| k == kind) {
                    known.push((*kind, path.clone()));
                }
            }
        }
    }
    plan.blobs.append(&mut new.blobs);
    let stats = std::mem::take(&mut new.stats);
    plan.stats.warnings.extend(stats.warnings);
    plan.stats.skipped += stats.skipped;
    duplicates
}

/// After new commits: where the found blobs sit in them, merged into the
/// recorded placements. Returns the found blobs to attribute: a blob found
/// before whose attribution found nothing (barren) and that no new commit
/// holds is left out (its placements go to `set_aside`, for the record); a
/// blob found now that was swept clean before as another kind of path may
/// sit in old commits too, so its placements are left for the full search.
#[allow(clippy::too_many_arguments)]
fn place_in_new_commits(
    repo: &Repository,
    plan: &Plan,
    found: &[usize],
    damaged: &loose::Damaged,
    replay: &Replay,
    grown: &incremental::Grown,
    placements: &mut Placements,
    groups: &mut Groups,
    set_aside: &mut Placements,
    sweep_cache: &cache::SweepCache,
) -> Vec<usize> {
    let Ok(odb) = repo.odb() else {
        // attribute() warns; without placements it searches every commit.
        placements.clear();
        groups.clear();
        return found.to_vec();
    };
    let found_ids: HashSet<Oid> = found.iter().map(|&i| plan.blobs[i].id).collect();
    let located = provenance::locate(repo, &odb, &grown.new, &found_ids, damaged);
    let new: HashSet<Oid> = grown.new.iter().copied().collect();
    let position: Vec<u32> = plan
        .commits
        .iter()
        .enumerate()
        .filter(|(_, c)| new.contains(c))
        .map(|(i, _)| i as u32)
        .collect();
    let mut touched = HashSet::new();
    for (blob, paths) in located.placements {
        touched.insert(blob);
        // New commits hold it: its groups are formed again.
        groups.remove(&blob);
        let known = placements.entry(blob).or_default();
        for (path, commits) in paths {
            let list = known.entry(path).or_default();
            list.extend(commits.iter().map(|&n| position[n as usize]));
            list.sort_unstable();
        }
    }
    let recorded: HashSet<Oid> = plan.blobs[..replay.listed].iter().map(|b| b.id).collect();
    for &i in found {
        let id = plan.blobs[i].id;
        if !recorded.contains(&id) && sweep_cache.was_seen(id) {
            placements.remove(&id);
        }
        if !recorded.contains(&id) {
            groups.remove(&id);
        }
    }
    found
        .iter()
        .copied()
        .filter(|&i| {
            let id = plan.blobs[i].id;
            let idle = replay.barren.contains(&id) && !touched.contains(&id);
            if idle && let Some(paths) = placements.remove(&id) {
                set_aside.insert(id, paths);
            }
            !idle
        })
        .collect()
}

/// Parents of each walked commit as indexes into [`Plan::commits`] (those
/// not walked, behind a shallow boundary, left out); `None` when the plan
/// did not walk every one of its commits (a range).
fn parent_indexes(plan: &Plan) -> Option<Vec<Vec<u32>>> {
    if plan.commit_links.len() != plan.commits.len() {
        return None;
    }
    let index: HashMap<Oid, u32> = (0u32..)
        .zip(plan.commits.iter().copied())
        .map(|(i, c)| (c, i))
        .collect();
    Some(
        plan.commit_links
            .iter()
            .map(|(_, parents)| {
                parents
                    .iter()
                    .filter_map(|p| index.get(p).copied())
                    .collect()
            })
            .collect(),
    )
}

/// What the walk of every ref depends on besides the rules (which the
/// cache's own key covers): every ref and its target, HEAD, the shallow
/// boundary, grafts and the size limit. Objects never change under an id,
/// so the same refs reach the same commits, trees and blobs.
fn walk_key(repo: &Repository, refs: &[source::RefTip], options: &HistoryOptions) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(b"npmsweep walk v1\0");
    hash.update(base_key(repo, options).as_bytes());
    for tip in refs {
        hash.update(tip.name.as_bytes());
        hash.update([0]);
        hash.update(tip.target.as_bytes());
    }
    hash.update([1]);
    if let Ok(head) = repo.head() {
        hash.update(head.name_bytes());
        hash.update([0]);
        if let Some(id) = head.target() {
            hash.update(id.as_bytes());
        }
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What the walk depends on besides the rules and the refs: the shallow
/// boundary, grafts and the size limit. With the same one, a walk after
/// new commits can grow the recorded one.
fn base_key(repo: &Repository, options: &HistoryOptions) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(b"npmsweep walk base v1\0");
    hash.update(options.max_file_size.to_le_bytes());
    for file in ["shallow", "info/grafts"] {
        hash.update([2]);
        if let Ok(bytes) = std::fs::read(repo.commondir().join(file)) {
            hash.update(bytes);
        }
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What a complete walk of every ref (full or grown) leaves for its record.
struct Walked<'a> {
    /// Indexes in the plan of blobs with findings (or a consulting analysis).
    found: &'a [usize],
    placements: Placements,
    groups: Groups,
    /// Found blobs whose attribution gave findings.
    fruitful: &'a HashSet<Oid>,
    notes: Vec<String>,
    /// Parents and committer time of each of the plan's commits.
    parents: Vec<Vec<u32>>,
    times: Vec<i64>,
    /// Found blobs whose analysis warned.
    warned: &'a HashSet<usize>,
    /// Blobs listed twice in a grown plan (the second listing).
    duplicates: &'a HashSet<usize>,
    /// Unique blobs met.
    met: u64,
}

/// The record of a complete walk of every ref, for the next sweep.
fn record_walk(
    repo: &Repository,
    options: &HistoryOptions,
    plan: &Plan,
    mut walked: Walked,
    clean: &cache::SweepCache,
) -> cache::WalkRecord {
    let found_set: HashSet<usize> = walked.found.iter().copied().collect();
    // Neither found nor clean: not read (missing, too large). A replay
    // tries them again, as a full sweep would.
    let unread = plan
        .blobs
        .iter()
        .enumerate()
        .filter(|(i, b)| {
            !found_set.contains(i)
                && !walked.duplicates.contains(i)
                && !clean.is_clean(b.id, &b.kinds())
        })
        .map(|(_, b)| cache::FoundBlob::new(b, Default::default()))
        .collect();
    let commit_set: HashSet<Oid> = plan.commits.iter().copied().collect();
    cache::WalkRecord {
        walk_key: walk_key(repo, &plan.refs, options),
        base_key: base_key(repo, options),
        commits: plan.commits.iter().map(Oid::to_string).collect(),
        times: walked.times,
        parents: walked.parents,
        other_tips: plan.refs.iter().any(|t| !commit_set.contains(&t.target)),
        blobs: walked.met,
        found: walked
            .found
            .iter()
            .map(|&i| {
                let blob = &plan.blobs[i];
                let mut f = cache::FoundBlob::new(
                    blob,
                    walked.placements.remove(&blob.id).unwrap_or_default(),
                );
                f.barren = !walked.fruitful.contains(&blob.id);
                f.groups = walked.groups.remove(&blob.id).unwrap_or_default();
                f.warned = walked.warned.contains(&i);
                f
            })
            .collect(),
        unread,
        notes: walked.notes,
    }
}

/// Versions of a file listed in `earlier_locations`.
const MAX_EARLIER_LOCATIONS: usize = 10;

/// One finding per fingerprint (rule, path, secret): several versions of a
/// file holding the same secret become one finding introduced by the
/// earliest (preferring versions that branches or tags reach over those only
/// pull-request refs reach), counted over every commit, reachable from every
/// ref of any. It is reported at HEAD's location when HEAD's file still holds
/// it (what a maintainer must edit), else at the introducing version's, and
/// lists where other versions held it. Then each secret learns in how many
/// commits it appears anywhere and whether HEAD still holds it.
/// `reached[group]` are the tips (indexes into `ref_names`) reaching a
/// candidate's reach group.
fn merge_versions(
    candidates: Vec<Candidate>,
    head_blobs: &HashSet<Oid>,
    reached: &[Vec<u32>],
    ref_names: &[String],
) -> Vec<Finding> {
    let mut secret_commits: HashMap<String, HashSet<u32>> = HashMap::new();
    let mut secrets_in_head: HashSet<String> = HashSet::new();
    for c in &candidates {
        if let Some(id) = c.finding.secret_id() {
            secret_commits
                .entry(id.clone())
                .or_default()
                .extend(c.commits.iter().copied());
            if head_blobs.contains(&c.blob) {
                secrets_in_head.insert(id);
            }
        }
    }
    let mut groups: HashMap<String, Vec<Candidate>> = HashMap::new();
    for c in candidates {
        groups
            .entry(c.finding.fingerprint.clone())
            .or_default()
            .push(c);
    }
    let mut out = Vec::with_capacity(groups.len());
    for (_, mut group) in groups {
        // Earliest introduction on a branch first; unattributed (None) last.
        group.sort_by(|a, b| match (a.intro, b.intro) {
            (Some(x), Some(y)) => (!a.on_branch, x).cmp(&(!b.on_branch, y)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.blob.cmp(&b.blob),
        });
        // Sorted and deduplicated rather than hashed: versions of a file
        // kept for years share thousands of commits and refs.
        let mut commits: Vec<u32> = group
            .iter()
            .flat_map(|c| c.commits.iter().copied())
            .collect();
        commits.sort_unstable();
        commits.dedup();
        let mut tips: Vec<u32> = group
            .iter()
            .filter_map(|c| c.reach)
            .flat_map(|g| reached[g].iter().copied())
            .collect();
        tips.sort_unstable();
        tips.dedup();
        let reach: BTreeSet<&str> = tips
            .iter()
            .map(|&t| ref_names[t as usize].as_str())
            .collect();
        let summary = refs::summarise(reach.iter().map(|name| name.as_ref()));
        let on_branch = group.iter().any(|c| c.on_branch);
        let in_head = group.iter().any(|c| c.holds_head);
        let introduced = group[0].finding.provenance.clone();
        let shown_at = group.iter().position(|c| c.at_head).unwrap_or(0);
        let shown = group.remove(shown_at);
        let earlier = earlier_locations(&shown.finding, &group);
        let mut first = shown.finding;
        let secret = first.secret_id();
        first.provenance = introduced;
        if let Some(p) = first.provenance.as_mut() {
            p.commits = commits.len();
            p.refs = summary.listed;
            p.more_refs = summary.more;
            p.pull_request_refs = summary.pull_requests;
            p.bot_refs = summary.bots;
            p.introduced_only_in_pull_request = !on_branch && summary.pull_requests > 0;
            p.at_head = shown.at_head;
            p.earlier_locations = earlier;
            match &secret {
                Some(id) => {
                    p.in_head = secrets_in_head.contains(id);
                    p.secret_commits = secret_commits.get(id).map_or(0, HashSet::len);
                }
                None => {
                    p.in_head = in_head;
                    p.secret_commits = p.commits;
                }
            }
        }
        out.push(first);
    }
    out
}

/// Where the other versions of a file held the secret, when not where the
/// reported one does: most recently introduced first, one entry per
/// (line, column).
fn earlier_locations(shown: &Finding, others: &[Candidate]) -> Vec<BlobLocation> {
    let mut others: Vec<&Candidate> = others.iter().filter(|c| c.intro.is_some()).collect();
    others.sort_by_key(|c| std::cmp::Reverse(c.intro));
    let mut seen = HashSet::from([(shown.span.start_line, shown.span.start_column)]);
    let mut out = Vec::new();
    for c in others {
        let span = &c.finding.span;
        if !seen.insert((span.start_line, span.start_column)) {
            continue;
        }
        if out.len() == MAX_EARLIER_LOCATIONS {
            break;
        }
        out.push(BlobLocation {
            blob_id: c.blob.to_string(),
            start_line: span.start_line,
            start_column: span.start_column,
            commit: c.intro.map(|(_, _, id)| id.to_string()).unwrap_or_default(),
        });
    }
    out
}
