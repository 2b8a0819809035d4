//! Provenance of found blobs: in which commits and at which paths each one
//! sits, which commit introduced it, which refs reach that commit, and
//! whether it is still in HEAD.
//!
//! Only blobs with findings are looked for, so this runs after the sweep:
//! each tree is read once more and remembers which found blobs lie under it
//! (almost always none), which makes every commit's lookup a memo hit.

use crate::history::loose::Damaged;
use crate::history::object_format::canonical;
use crate::history::tree::{self, EntryKind};
use crate::source::history::RefTip;
use git2::{Odb, Oid, Repository};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::rc::Rc;

/// Where the found blobs are.
#[derive(Debug, Default)]
pub struct Located {
    /// For each found blob: path → commits whose tree holds it there, as
    /// indices into the `commits` given to [`locate`] (a blob that stays in
    /// a long history is in most commits: ids would cost five times more).
    pub placements: HashMap<Oid, BTreeMap<String, Vec<u32>>>,
    /// Found blobs present in HEAD's tree (any path).
    pub in_head: HashSet<Oid>,
    /// (found blob, path) pairs of HEAD's tree: findings there are reported
    /// at HEAD's location.
    pub head_paths: HashSet<(Oid, String)>,
}

/// Deeper trees are not followed: no real project nests directories this
/// deep, and the recursion must stay bounded on hostile repositories.
const MAX_DEPTH: usize = 512;

/// Find every (path, commit) holding one of the `found` blobs among
/// `commits`, plus which of them HEAD holds.
pub fn locate(
    repo: &Repository,
    odb: &Odb,
    commits: &[Oid],
    found: &HashSet<Oid>,
    damaged: &Damaged,
) -> Located {
    let mut index = TreeIndex {
        odb,
        found,
        damaged,
        memo: HashMap::new(),
        empty: Rc::new(Vec::new()),
    };
    let mut located = Located::default();
    let mut path = String::new();
    for (n, &commit_id) in commits.iter().enumerate() {
        let Ok(commit) = repo.find_commit(commit_id) else {
            continue; // already warned about while planning
        };
        index.each_in_root(commit.tree_id(), |blob, dir, rest| {
            path.clear();
            path.push_str(dir);
            if let Some(rest) = rest {
                path.push('/');
                path.push_str(rest);
            }
            let paths = located.placements.entry(blob).or_default();
            // Most (blob, path) pairs recur in many commits: allocate the
            // key only the first time.
            match paths.get_mut(path.as_str()) {
                Some(list) => list.push(n as u32),
                None => {
                    paths.insert(path.clone(), vec![n as u32]);
                }
            }
        });
    }
    index.fill_head(repo, &mut located);
    located
}

/// Where the `found` blobs are, from placements an earlier walk recorded
/// (an unchanged repository): only HEAD's tree is read.
pub fn located_from(
    repo: &Repository,
    odb: &Odb,
    placements: HashMap<Oid, BTreeMap<String, Vec<u32>>>,
    found: &HashSet<Oid>,
    damaged: &Damaged,
) -> Located {
    let mut index = TreeIndex {
        odb,
        found,
        damaged,
        memo: HashMap::new(),
        empty: Rc::new(Vec::new()),
    };
    let mut located = Located {
        placements,
        ..Located::default()
    };
    index.fill_head(repo, &mut located);
    located
}

struct TreeIndex<'a, 'r> {
    odb: &'a Odb<'r>,
    found: &'a HashSet<Oid>,
    damaged: &'a Damaged,
    /// Tree id → found blobs under it, with their paths relative to it.
    memo: HashMap<Oid, Rc<Vec<(Oid, String)>>>,
    empty: Rc<Vec<(Oid, String)>>,
}

impl TreeIndex<'_, '_> {
    /// Which found blobs HEAD's tree holds, and at which paths.
    fn fill_head(&mut self, repo: &Repository, located: &mut Located) {
        let head_tree = repo
            .head()
            .ok()
            .and_then(|h| h.target())
            .filter(|id| !self.damaged.contains(*id))
            .and_then(|id| repo.find_commit(id).ok())
            .map(|c| c.tree_id());
        if let Some(tree) = head_tree {
            let contents = self.contents(tree, 0);
            located.in_head = contents.iter().map(|(blob, _)| *blob).collect();
            located.head_paths = contents.iter().cloned().collect();
        }
    }

    /// Call `visit(blob, first component, rest of the path)` for each found
    /// blob under a commit's root tree. Root trees are not remembered (each
    /// commit has its own and it lists every found blob), and paths are
    /// handed out in pieces so the caller builds each one in a reused buffer.
    fn each_in_root(&mut self, root: Oid, mut visit: impl FnMut(Oid, &str, Option<&str>)) {
        if self.damaged.contains(root) {
            return;
        }
        let odb = self.odb;
        let Ok(object) = tree::read(odb, root) else {
            return;
        };
        for entry in tree::entries(root, object.data()).map_while(Result::ok) {
            match entry.kind {
                EntryKind::Blob if self.found.contains(&entry.id) => {
                    visit(
                        entry.id,
                        &crate::source::pathtext::path_text(entry.name),
                        None,
                    );
                }
                EntryKind::Tree => {
                    let below = self.contents(entry.id, 1);
                    if !below.is_empty() {
                        let dir = crate::source::pathtext::path_text(entry.name);
                        for (blob, rest) in below.iter() {
                            visit(*blob, &dir, Some(rest));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn contents(&mut self, id: Oid, depth: usize) -> Rc<Vec<(Oid, String)>> {
        if let Some(known) = self.memo.get(&id) {
            return known.clone();
        }
        let odb = self.odb;
        let mut out = Vec::new();
        if depth < MAX_DEPTH
            && !self.damaged.contains(id)
            && let Ok(object) = tree::read(odb, id)
        {
            for entry in tree::entries(id, object.data()).map_while(Result::ok) {
                match entry.kind {
                    EntryKind::Blob if self.found.contains(&entry.id) => {
                        out.push((entry.id, tree::join("", entry.name)));
                    }
                    EntryKind::Tree => {
                        let dir = tree::join("", entry.name);
                        for (blob, path) in self.contents(entry.id, depth + 1).iter() {
                            out.push((*blob, format!("{dir}/{path}")));
                        }
                    }
                    _ => {}
                }
            }
        }
        let result = if out.is_empty() {
            self.empty.clone()
        } else {
            Rc::new(out)
        };
        self.memo.insert(id, result.clone());
        result
    }
}

/// What a provenance line says about one commit.
#[derive(Clone, Debug)]
pub struct CommitInfo {
    pub id: Oid,
    pub author: String,
    pub author_time: i64,
    pub commit_time: i64,
    pub summary: String,
}

pub fn commit_info(repo: &Repository, id: Oid) -> Option<CommitInfo> {
    let commit = repo.find_commit(id).ok()?;
    let author = commit.author();
    Some(CommitInfo {
        id,
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        author_time: author.when().seconds(),
        commit_time: commit.time().seconds(),
        summary: commit
            .summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
    })
}

/// The commit that introduced a blob at a path, from (author time,
/// committer time, id) of each commit holding it: earliest author date, ties
/// broken by committer date and then id so the answer never varies.
pub fn introducing(keys: impl IntoIterator<Item = (i64, i64, Oid)>) -> Option<Oid> {
    keys.into_iter().min().map(|(_, _, id)| id)
}

/// (author time, committer time, id) and parents of commits, read once each.
pub struct CommitTimes<'a> {
    repo: &'a Repository,
    commits: &'a [Oid],
    known: Vec<Option<(i64, i64, Oid)>>,
    /// Parents of each commit read so far, as indices into `commits`
    /// (parents outside it, e.g. before a range, are left out).
    parents: Vec<Box<[u32]>>,
    index: HashMap<Oid, u32>,
    /// Scratch marks for [`CommitTimes::introducing`], always left all false.
    held: Vec<bool>,
}

impl<'a> CommitTimes<'a> {
    pub fn new(repo: &'a Repository, commits: &'a [Oid]) -> CommitTimes<'a> {
        CommitTimes {
            repo,
            commits,
            known: vec![None; commits.len()],
            parents: vec![Box::default(); commits.len()],
            index: HashMap::new(),
            held: vec![false; commits.len()],
        }
    }

    pub fn key(&mut self, index: u32) -> Option<(i64, i64, Oid)> {
        let i = index as usize;
        if self.known[i].is_none() {
            let id = self.commits[i];
            let c = self.repo.find_commit(id).ok()?;
            self.known[i] = Some((c.author().when().seconds(), c.time().seconds(), id));
            if self.index.is_empty() {
                self.index = (0u32..)
                    .zip(self.commits.iter().copied())
                    .map(|(n, id)| (id, n))
                    .collect();
            }
            self.parents[i] = c
                .parent_ids()
                .filter_map(|p| self.index.get(&canonical(p)).copied())
                .collect();
        }
        self.known[i]
    }

    /// The commit that introduced a blob at a path, among the commits that
    /// hold it there: one that holds it while none of its parents does (a
    /// commit inheriting it from a parent, such as the merge of the branch
    /// that added it, only carries it on), earliest by [`introducing`] when
    /// several did; all of them if none qualifies.
    pub fn introducing(&mut self, holding: &[u32]) -> Option<Oid> {
        let keys: Vec<(u32, (i64, i64, Oid))> = holding
            .iter()
            .filter_map(|&c| self.key(c).map(|k| (c, k)))
            .collect();
        for &(c, _) in &keys {
            self.held[c as usize] = true;
        }
        let held = &self.held;
        let parents = &self.parents;
        let first = introducing(
            keys.iter()
                .filter(|(c, _)| !parents[*c as usize].iter().any(|&p| held[p as usize]))
                .map(|&(_, k)| k),
        );
        for &(c, _) in &keys {
            self.held[c as usize] = false;
        }
        first.or_else(|| introducing(keys.iter().map(|&(_, k)| k)))
    }
}

/// The commit graph of every ref, for "reachable from". Loaded once per
/// sweep with findings; each question is then one walk over descendants.
pub struct RefGraph<'a> {
    index: HashMap<Oid, usize>,
    children: Vec<Vec<usize>>,
    parents: Vec<Vec<usize>>,
    tips: Vec<(usize, &'a str)>,
}

impl<'a> RefGraph<'a> {
    pub fn load(repo: &Repository, refs: &'a [RefTip], damaged: &Damaged) -> RefGraph<'a> {
        let mut graph = RefGraph {
            index: HashMap::new(),
            children: Vec::new(),
            parents: Vec::new(),
            tips: Vec::new(),
        };
        let mut queue = VecDeque::new();
        for tip in refs {
            if damaged.contains(tip.target) || repo.find_commit(tip.target).is_err() {
                continue; // a ref to a tree or blob reaches no commit
            }
            let (i, new) = graph.intern(tip.target);
            graph.tips.push((i, &tip.name));
            if new {
                queue.push_back(tip.target);
            }
        }
        while let Some(id) = queue.pop_front() {
            if damaged.contains(id) {
                continue;
            }
            let Ok(commit) = repo.find_commit(id) else {
                continue; // missing or behind a shallow boundary
            };
            let child = graph.index[&id];
            for parent in commit.parent_ids().map(canonical) {
                let (p, new) = graph.intern(parent);
                graph.children[p].push(child);
                graph.parents[child].push(p);
                if new {
                    queue.push_back(parent);
                }
            }
        }
        graph
    }

    /// The same graph from a walk that already read every commit of every
    /// ref: `parents[i]` are the parents of `commits[i]`, as indexes into
    /// `commits` (a walk of all refs, or its record, so no commit is read
    /// again). A ref whose target is not among `commits` names a tree or a
    /// blob and reaches no commit, as in [`RefGraph::load`].
    pub fn from_parents(commits: &[Oid], parents: &[Vec<u32>], refs: &'a [RefTip]) -> RefGraph<'a> {
        let index: HashMap<Oid, usize> = commits.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        let mut children = vec![Vec::new(); commits.len()];
        let parents: Vec<Vec<usize>> = parents
            .iter()
            .map(|list| list.iter().map(|&p| p as usize).collect())
            .collect();
        for (child, list) in parents.iter().enumerate() {
            for &p in list {
                children[p].push(child);
            }
        }
        let tips = refs
            .iter()
            .filter_map(|tip| Some((*index.get(&tip.target)?, tip.name.as_str())))
            .collect();
        RefGraph {
            index,
            children,
            parents,
            tips,
        }
    }

    fn intern(&mut self, id: Oid) -> (usize, bool) {
        if let Some(&i) = self.index.get(&id) {
            return (i, false);
        }
        self.children.push(Vec::new());
        self.parents.push(Vec::new());
        let i = self.children.len() - 1;
        self.index.insert(id, i);
        (i, true)
    }

    /// Commits reachable from the refs whose names `wanted` accepts (e.g.
    /// branches and tags but not pull-request refs).
    pub fn reachable_from(&self, wanted: impl Fn(&str) -> bool) -> HashSet<Oid> {
        let mut mark = vec![false; self.children.len()];
        let mut stack: Vec<usize> = Vec::new();
        for &(i, name) in &self.tips {
            if wanted(name) && !mark[i] {
                mark[i] = true;
                stack.push(i);
            }
        }
        while let Some(n) = stack.pop() {
            for &p in &self.parents[n] {
                if !mark[p] {
                    mark[p] = true;
                    stack.push(p);
                }
            }
        }
        self.index
            .iter()
            .filter(|(_, i)| mark[**i])
            .map(|(id, _)| *id)
            .collect()
    }

    /// For each group of commits, the names of the refs from which any of
    /// them is reachable, sorted: what one walk from each group's commits
    /// would give, in one pass over the graph per 64 groups instead of
    /// one per group (a repository with thousands of refs and many finding
    /// groups spent most of a cached re-sweep in the per-group walks).
    /// Groups are indices into `commits`.
    /// Refs are given as indices for [`RefGraph::tip_name`]: with
    /// thousands of refs reaching each of many groups, names here would
    /// add to the peak what the findings keep.
    pub fn refs_reaching_each(&self, commits: &[Oid], groups: &[&[u32]]) -> Vec<Vec<u32>> {
        const CHUNK: usize = 64;
        let n = self.children.len();
        let mut out = vec![Vec::new(); groups.len()];
        // Parents before children (Kahn's order); duplicate edges count
        // twice on both sides, so the in-degrees still reach zero.
        let mut order = Vec::with_capacity(n);
        let mut pending: Vec<usize> = self.parents.iter().map(Vec::len).collect();
        let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        while let Some(u) = ready.pop() {
            order.push(u);
            for &c in &self.children[u] {
                pending[c] -= 1;
                if pending[c] == 0 {
                    ready.push(c);
                }
            }
        }
        for (chunk_index, chunk) in groups.chunks(CHUNK).enumerate() {
            let words = chunk.len().div_ceil(64);
            // Bit g of a commit: it descends from (or is) a commit of group g.
            let mut bits = vec![0u64; n * words];
            for (g, group) in chunk.iter().enumerate() {
                for &c in group.iter() {
                    if let Some(&i) = commits.get(c as usize).and_then(|c| self.index.get(c)) {
                        bits[i * words + g / 64] |= 1 << (g % 64);
                    }
                }
            }
            for &u in &order {
                for &c in &self.children[u] {
                    for w in 0..words {
                        let from = bits[u * words + w];
                        bits[c * words + w] |= from;
                    }
                }
            }
            for (tip, &(i, _)) in self.tips.iter().enumerate() {
                for w in 0..words {
                    let mut word = bits[i * words + w];
                    while word != 0 {
                        let g = w * 64 + word.trailing_zeros() as usize;
                        word &= word - 1;
                        out[chunk_index * CHUNK + g].push(tip as u32);
                    }
                }
            }
        }
        for tips in &mut out {
            tips.sort_by_key(|&t| self.tip_name(t));
            tips.dedup_by_key(|t| self.tip_name(*t));
        }
        out
    }

    /// How many refs [`RefGraph::tip_name`] names.
    pub fn tip_count(&self) -> usize {
        self.tips.len()
    }

    /// The name of the ref at `tip` in [`RefGraph::refs_reaching_each`]'s
    /// answers.
    pub fn tip_name(&self, tip: u32) -> &'a str {
        self.tips[tip as usize].1
    }

    /// Names of the refs from which any of `commits` is reachable, sorted:
    /// one walk per call, kept as the tests' reference for
    /// [`RefGraph::refs_reaching_each`].
    #[cfg(test)]
    pub fn refs_reaching(&self, commits: impl IntoIterator<Item = Oid>) -> Vec<String> {
        let mut mark = vec![false; self.children.len()];
        let mut stack: Vec<usize> = commits
            .into_iter()
            .filter_map(|c| self.index.get(&c).copied())
            .collect();
        for &s in &stack {
            mark[s] = true;
        }
        while let Some(n) = stack.pop() {
            for &c in &self.children[n] {
                if !mark[c] {
                    mark[c] = true;
                    stack.push(c);
                }
            }
        }
        let mut names: Vec<String> = self
            .tips
            .iter()
            .filter(|(i, _)| mark[*i])
            .map(|(_, name)| name.to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Seconds since the epoch as RFC 3339 in UTC (`2024-03-01T10:00:00Z`).
pub fn rfc3339_utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rem = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (the well-known
/// era-based conversion: 400-year eras of 146,097 days, March-based years).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_in_utc() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_709_287_200), "2024-03-01T10:00:00Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn earliest_author_date_wins_and_ties_are_stable() {
        let id = |b: u8| Oid::from_bytes(&[b; 20]).unwrap();
        let list = [
            (20, 5, id(3)),
            (10, 9, id(2)),
            (10, 9, id(1)),
            (10, 8, id(4)),
        ];
        assert_eq!(introducing(list), Some(id(4)));
        assert_eq!(introducing(list[..3].to_vec()), Some(id(1)));
        assert_eq!(introducing([]), None);
    }

    /// The one-pass answer equals the per-group walk on a generated graph
    /// with merges, duplicate parent edges, unknown commits, empty groups
    /// and more groups than one chunk (700 > 64).
    #[test]
    fn refs_reaching_each_matches_one_walk_per_group() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let id = |i: usize| {
            let mut bytes = [0u8; 20];
            bytes[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            Oid::from_bytes(&bytes).unwrap()
        };
        let n = 300;
        let names: Vec<String> = (0..40).map(|t| format!("refs/heads/b{t}")).collect();
        let mut graph = RefGraph {
            index: HashMap::new(),
            children: vec![Vec::new(); n],
            parents: vec![Vec::new(); n],
            tips: Vec::new(),
        };
        for i in 0..n {
            graph.index.insert(id(i), i);
            if i > 0 {
                let mut parents = vec![next(i)];
                if next(4) == 0 {
                    parents.push(next(i)); // a merge, sometimes of one parent twice
                }
                for p in parents {
                    graph.parents[i].push(p);
                    graph.children[p].push(i);
                }
            }
        }
        for name in &names {
            graph.tips.push((next(n), name.as_str()));
        }
        // The sweep's commit table: the graph's commits and a few unknown.
        let commits: Vec<Oid> = (0..n + 5).map(id).collect();
        let groups: Vec<Vec<u32>> = (0..700)
            .map(|g| {
                if g % 97 == 0 {
                    return Vec::new();
                }
                (0..1 + next(4)).map(|_| next(n + 5) as u32).collect()
            })
            .collect();
        let slices: Vec<&[u32]> = groups.iter().map(Vec::as_slice).collect();
        let each = graph.refs_reaching_each(&commits, &slices);
        assert_eq!(each.len(), groups.len());
        let mut reached = 0;
        for (group, names) in groups.iter().zip(&each) {
            let ids = group.iter().map(|&c| commits[c as usize]);
            let names: Vec<&str> = names.iter().map(|&t| graph.tip_name(t)).collect();
            assert_eq!(names.as_slice(), graph.refs_reaching(ids).as_slice());
            reached += usize::from(!names.is_empty());
        }
        assert!(reached > 100, "the graph must make the test meaningful");
    }
}
