//! `npmsweep plan`: assign each repository of a list to exactly one shard,
//! deterministically, balanced by size when sizes are known.
//!
//! The list is one repository per line (a clone URL or a path), optionally
//! followed by whitespace and its size (any unit: KiB from `gh api` works);
//! blank lines and `#` comments are skipped. Assignment is the
//! longest-processing-time greedy: largest first, each to the least-loaded
//! shard (ties: the lowest shard index; equal sizes: name order), so it
//! depends only on the set of lines, not on their order.

use serde::Serialize;
use std::path::Path;

/// One repository of the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub repository: String,
    /// The size given in the list; a repository without one counts as the
    /// mean of the known sizes (1 when none is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// `I/N`: shard I (0-based, as a Kubernetes completion index) of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for ShardSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--shard {s:?}: expected I/N with 0 <= I < N (e.g. 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(ShardSpec { index, count })
    }
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parse a repository list. Errors name the file and line.
pub fn parse(text: &str, file: &Path) -> Result<Vec<Entry>, String> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut first_line = std::collections::HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let repository = words.next().unwrap_or_default().to_string();
        let size = match words.next() {
            None => None,
            Some(w) => Some(w.parse::<u64>().map_err(|_| {
                format!(
                    "{}:{}: the size {:?} is not a whole number",
                    file.display(),
                    n + 1,
                    w
                )
            })?),
        };
        if words.next().is_some() {
            return Err(format!(
                "{}:{}: expected a repository and an optional size",
                file.display(),
                n + 1
            ));
        }
        if let Some(first) = first_line.insert(repository.clone(), n + 1) {
            return Err(format!(
                "{}:{}: {} is listed twice (first on line {first})",
                file.display(),
                n + 1,
                crate::redact::redact_url_passwords(&repository)
            ));
        }
        entries.push(Entry { repository, size });
    }
    Ok(entries)
}

/// Read and parse a repository list file.
pub fn read(file: &Path) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{}: cannot read the repository list: {e}", file.display()))?;
    parse(&text, file)
}

/// One shard of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shard {
    pub index: usize,
    /// Sum of the (effective) sizes of its repositories.
    pub load: u64,
    /// In name order.
    pub repositories: Vec<Entry>,
}

/// Assign every entry to exactly one of `count` shards (see the module).
pub fn assign(entries: &[Entry], count: usize) -> Vec<Shard> {
    let count = count.max(1);
    let known: Vec<u64> = entries.iter().filter_map(|e| e.size).collect();
    let default_size = if known.is_empty() {
        1
    } else {
        (known.iter().map(|&s| u128::from(s)).sum::<u128>() / known.len() as u128).max(1) as u64
    };
    let effective = |e: &Entry| e.size.unwrap_or(default_size);
    let mut order: Vec<&Entry> = entries.iter().collect();
    order.sort_by(|a, b| {
        effective(b)
            .cmp(&effective(a))
            .then_with(|| a.repository.cmp(&b.repository))
    });
    let mut shards: Vec<Shard> = (0..count)
        .map(|index| Shard {
            index,
            load: 0,
            repositories: Vec::new(),
        })
        .collect();
    for entry in order {
        // Least loaded, then fewest repositories, then lowest index.
        let target = shards
            .iter_mut()
            .min_by_key(|s| (s.load, s.repositories.len(), s.index))
            .expect("at least one shard");
        target.load = target.load.saturating_add(effective(entry));
        target.repositories.push(entry.clone());
    }
    for shard in &mut shards {
        shard
            .repositories
            .sort_by(|a, b| a.repository.cmp(&b.repository));
    }
    shards
}

/// The plan as JSON (`npmsweep plan --format json`).
#[derive(Serialize)]
pub struct PlanDocument<'a> {
    pub schema_version: u32,
    pub kind: &'static str,
    pub shard_count: usize,
    pub repository_count: usize,
    pub shards: &'a [Shard],
}

pub const PLAN_SCHEMA_VERSION: u32 = 1;

pub fn to_json(shards: &[Shard]) -> String {
    let doc = PlanDocument {
        schema_version: PLAN_SCHEMA_VERSION,
        kind: "npmsweep-plan",
        shard_count: shards.len(),
        repository_count: shards.iter().map(|s| s.repositories.len()).sum(),
        shards,
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("a plan serialises");
    text.push('\n');
    text
}

/// `shard<TAB>repository` per line, by shard then name.
pub fn to_listing(shards: &[Shard]) -> String {
    let mut out = String::new();
    for shard in shards {
        for e in &shard.repositories {
            out.push_str(&format!("{}\t{}\n", shard.index, e.repository));
        }
    }
    out
}

/// How many shards a plan file (JSON from `npmsweep plan`) declares.
pub fn shard_count_of_plan(file: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{}: cannot read the plan: {e}", file.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a plan written by `npmsweep plan --format json`: {e}",
            file.display()
        )
    })?;
    value
        .get("shard_count")
        .and_then(serde_json::Value::as_u64)
        .filter(|_| value.get("kind").and_then(|k| k.as_str()) == Some("npmsweep-plan"))
        .map(|n| n as usize)
        .ok_or_else(|| {
            format!(
                "{}: not a plan written by `npmsweep plan --format json`",
                file.display()
            )
        })
}

/// Run `npmsweep plan`.
pub fn command(args: &crate::cli::PlanArgs) -> Result<i32, String> {
    let entries = read(&args.repos)?;
    let shards = assign(&entries, args.shards as usize);
    let text = match args.shard {
        Some(i) if i >= shards.len() => {
            return Err(format!(
                "--shard {i}: there are {} shard(s), numbered from 0",
                shards.len()
            ));
        }
        Some(i) => shards[i]
            .repositories
            .iter()
            .map(|e| format!("{}\n", e.repository))
            .collect(),
        None => match args.format {
            crate::cli::PlanFormat::Json => to_json(&shards),
            crate::cli::PlanFormat::List => to_listing(&shards),
        },
    };
    match &args.output {
        Some(path) => {
            crate::outfile::write(path, text.as_bytes(), crate::outfile::Access::Default)?
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .map_err(|e| format!("cannot write to standard output: {e}"))?;
        }
    }
    Ok(crate::cli::EXIT_CLEAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, size: Option<u64>) -> Entry {
        Entry {
            repository: name.into(),
            size,
        }
    }

    #[test]
    fn longest_first_balances() {
        let entries = [
            entry("a", Some(7)),
            entry("b", Some(5)),
            entry("c", Some(4)),
            entry("d", Some(3)),
            entry("e", Some(1)),
        ];
        let shards = assign(&entries, 2);
        assert_eq!(shards[0].load, 10); // a, d
        assert_eq!(shards[1].load, 10); // b, c, e
    }

    #[test]
    fn shard_spec_is_checked() {
        assert_eq!("1/3".parse::<ShardSpec>().unwrap().index, 1);
        assert!("3/3".parse::<ShardSpec>().is_err());
        assert!("0/0".parse::<ShardSpec>().is_err());
        assert!("x".parse::<ShardSpec>().is_err());
    }

    #[test]
    fn list_errors_name_the_line() {
        let e = parse("a 1\nb x\n", Path::new("r.txt")).unwrap_err();
        assert!(e.contains("r.txt:2"), "{e}");
        let e = parse("a\n# c\na\n", Path::new("r.txt")).unwrap_err();
        assert!(e.contains("r.txt:3") && e.contains("line 1"), "{e}");
    }
}
