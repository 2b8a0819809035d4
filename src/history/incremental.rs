//! `history --cache` after new commits: the recorded walk grows by the
//! commits not in it instead of walking every commit and tree again.
//!
//! The record ([`super::cache::WalkRecord`]) keeps every commit of the last
//! walk with its committer time and parents. A new sweep reads only the
//! commits reachable from today's refs that the record lacks (stopping at
//! recorded ones), orders the whole graph as a full walk would (newest
//! committer time first, parents once their child is taken: the same heap
//! as the planner's), and compares each new commit's tree with its parents'
//! ([`crate::source::history::plan_changes`], the same comparison as
//! `--range`), so only blobs the new commits add or change are new to the
//! sweep. A recorded commit that today's refs no longer reach (a deleted
//! branch, a force-push) or a ref that names a tree or a blob means the
//! record cannot be grown: the caller walks in full, with a note.

use super::loose::Damaged;
use super::object_format::canonical;
use crate::source::history::RefTip;
use git2::{Oid, Repository};
use std::collections::{BinaryHeap, HashMap};

/// The recorded walk grown by the new commits.
#[derive(Debug)]
pub struct Grown {
    /// Every commit, in the order a full walk takes them.
    pub commits: Vec<Oid>,
    /// Committer time of each of `commits`.
    pub times: Vec<i64>,
    /// Parents of each of `commits`, as indexes into it.
    pub parents: Vec<Vec<u32>>,
    /// Index in the record → index in `commits`.
    pub remap: Vec<u32>,
    /// The commits the record lacked, in walk order.
    pub new: Vec<Oid>,
}

/// Grow the recorded walk (`recorded`, with `times` and `parents` as
/// indexes) to what `refs` reach now; `Err` says why it cannot be grown.
pub fn grow(
    repo: &Repository,
    damaged: &Damaged,
    recorded: &[Oid],
    times: &[i64],
    parents: &[Vec<u32>],
    refs: &[RefTip],
) -> Result<Grown, String> {
    let mut node_of: HashMap<Oid, usize> = recorded
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let mut ids = recorded.to_vec();
    let mut node_times = times.to_vec();
    let mut new_parents: Vec<Vec<Oid>> = Vec::new();
    let shallow = repo.is_shallow();
    // Commits the record lacks: from each ref down to recorded commits.
    let mut stack: Vec<(Oid, bool)> = refs.iter().map(|t| (t.target, true)).collect();
    while let Some((id, tip)) = stack.pop() {
        if node_of.contains_key(&id) {
            continue;
        }
        if damaged.contains(id) {
            return Err(format!("commit {id} is damaged"));
        }
        let commit = match repo.find_commit(id) {
            Ok(c) => c,
            // Behind a shallow boundary parents are absent by design (the
            // full walk leaves them out too).
            Err(_) if shallow && !tip => continue,
            Err(_) if tip => return Err(format!("a ref names {id}, which is not a commit")),
            Err(_) => return Err(format!("commit {id} cannot be read")),
        };
        node_of.insert(id, ids.len());
        ids.push(id);
        node_times.push(commit.time().seconds());
        let list: Vec<Oid> = commit.parent_ids().map(canonical).collect();
        stack.extend(list.iter().map(|p| (*p, false)));
        new_parents.push(list);
    }
    let mut node_parents: Vec<Vec<usize>> = parents
        .iter()
        .map(|l| l.iter().map(|&p| p as usize).collect())
        .collect();
    for list in new_parents {
        node_parents.push(
            list.iter()
                .filter_map(|p| node_of.get(p).copied())
                .collect(),
        );
    }
    // The planner's order: a heap of (committer time, id), parents pushed
    // when their child is taken.
    let mut seen = vec![false; ids.len()];
    let mut heap = BinaryHeap::new();
    for tip in refs {
        if let Some(&n) = node_of.get(&tip.target)
            && !seen[n]
        {
            seen[n] = true;
            heap.push((node_times[n], ids[n], n));
        }
    }
    let mut order = Vec::with_capacity(ids.len());
    while let Some((_, _, n)) = heap.pop() {
        order.push(n);
        for &p in &node_parents[n] {
            if !seen[p] {
                seen[p] = true;
                heap.push((node_times[p], ids[p], p));
            }
        }
    }
    if let Some(lost) = (0..recorded.len()).find(|&n| !seen[n]) {
        return Err(format!(
            "recorded commit {} is no longer reachable from any ref (a deleted branch or a force-push)",
            ids[lost]
        ));
    }
    let mut position = vec![0u32; ids.len()];
    for (i, &n) in order.iter().enumerate() {
        position[n] = i as u32;
    }
    Ok(Grown {
        commits: order.iter().map(|&n| ids[n]).collect(),
        times: order.iter().map(|&n| node_times[n]).collect(),
        parents: order
            .iter()
            .map(|&n| node_parents[n].iter().map(|&p| position[p]).collect())
            .collect(),
        remap: position[..recorded.len()].to_vec(),
        new: order
            .iter()
            .filter(|&&n| n >= recorded.len())
            .map(|&n| ids[n])
            .collect(),
    })
}
