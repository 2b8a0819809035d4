//! `exclude` patterns from `npmsweep.toml`, with the semantics of a
//! `.gitignore` file (the `ignore` crate's own matcher, not a translation to
//! globs): `*.snap` at any depth, `fixtures` a file or directory and all
//! below it, `fixtures/` a directory only, `/.env` only at the root,
//! `docs/**/x` across directories, and `!pattern` re-including what an
//! earlier pattern excluded — except below an excluded directory, exactly as
//! git: an excluded directory is not walked at all.

use ignore::gitignore::{Gitignore, GitignoreBuilder};

#[derive(Clone, Debug)]
pub struct Exclude {
    matcher: Gitignore,
    /// Where the scan root is relative to the configuration file's
    /// directory (`packages/api` when `scan packages/api` found the
    /// repository root's `npmsweep.toml` by walking up); empty when they are
    /// the same directory.
    base: String,
}

impl Exclude {
    /// Compile patterns in order (later ones win, as in `.gitignore`).
    pub fn new(patterns: &[String]) -> Result<Exclude, String> {
        let mut builder = GitignoreBuilder::new("");
        // `a[` is a typo far more often than a file name: an error, not a
        // pattern that silently matches nothing.
        builder.allow_unclosed_class(false);
        for p in patterns {
            builder
                .add_line(None, &normalize(p))
                .map_err(|e| describe(p, &e))?;
        }
        let matcher = builder.build().map_err(|e| e.to_string())?;
        Ok(Exclude {
            matcher,
            base: String::new(),
        })
    }

    /// Patterns are relative to the configuration's directory; paths
    /// asked about are relative to a scan root `base` below it.
    pub fn with_base(mut self, base: &str) -> Exclude {
        self.base = base.trim_matches('/').to_string();
        self
    }

    /// Is `path` (relative to the scan root, `/`-separated) excluded, by a
    /// pattern on it or on one of its parent directories? `is_dir` says
    /// whether `path` itself is a directory (for `dir/` patterns).
    pub fn excludes(&self, path: &str, is_dir: bool) -> bool {
        let path = path.trim_start_matches("./").trim_start_matches('/');
        if path.is_empty() || path == "." {
            return false;
        }
        let joined;
        let path = if self.base.is_empty() {
            path
        } else {
            joined = format!("{}/{path}", self.base);
            joined.as_str()
        };
        // As git: a directory that is excluded is never entered, so nothing
        // below it can be re-included; otherwise the last pattern matching
        // the path itself decides.
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            end += i;
            if self.matcher.matched(&path[..end], true).is_ignore() {
                return true;
            }
            end += 1;
        }
        self.matcher.matched(path, is_dir).is_ignore()
    }
}

/// `./x` means `x` (people write it; `.gitignore` has no such form).
fn normalize(pattern: &str) -> String {
    let p = pattern.trim();
    let (bang, rest) = match p.strip_prefix('!') {
        Some(rest) => ("!", rest),
        None => ("", p),
    };
    match rest.strip_prefix("./") {
        Some(rest) => format!("{bang}/{rest}"),
        None => p.to_string(),
    }
}

fn describe(pattern: &str, e: &ignore::Error) -> String {
    match e {
        ignore::Error::Glob { err, .. } => format!("invalid glob {pattern:?}: {err}"),
        other => format!("invalid pattern {pattern:?}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(patterns: &[&str]) -> Exclude {
        Exclude::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn gitignore_semantics() {
        let e = ex(&[
            "tests/fixtures",
            "*.snap",
            "docs/examples/**/*.env",
            "/.env",
        ]);
        assert!(e.excludes("tests/fixtures", true));
        assert!(e.excludes("tests/fixtures/a/.npmrc", false));
        assert!(!e.excludes("tests/other/.npmrc", false));
        assert!(
            !e.excludes("src/tests/fixtures/x", false),
            "a pattern with '/' is anchored"
        );
        assert!(e.excludes("deep/dir/x.snap", false));
        assert!(e.excludes("docs/examples/a/b/c.env", false));
        assert!(e.excludes(".env", false) && !e.excludes("sub/.env", false));
        assert!(!e.excludes("src/fixtures.rs", false));
    }

    #[test]
    fn negation_re_includes_a_file() {
        let e = ex(&["fixtures/*", "!fixtures/keep.js"]);
        assert!(e.excludes("fixtures/drop.js", false));
        assert!(!e.excludes("fixtures/keep.js", false));
        assert!(!e.excludes("fixtures", true));
        // As in git: nothing below an excluded directory comes back.
        let e = ex(&["vendor/", "!vendor/keep.js"]);
        assert!(e.excludes("vendor/keep.js", false));
        assert!(e.excludes("vendor", true));
        assert!(e.excludes("vendor/a/b.js", false));
    }

    #[test]
    fn directory_patterns_match_directories_only() {
        let e = ex(&["build/"]);
        assert!(e.excludes("build", true));
        assert!(e.excludes("build/out.js", false));
        assert!(!e.excludes("build", false), "a file named build is kept");
    }

    #[test]
    fn patterns_are_relative_to_the_configuration() {
        let e = ex(&["packages/api/fixtures", "/top.env"]).with_base("packages/api");
        assert!(e.excludes("fixtures/a.js", false));
        assert!(
            !e.excludes("top.env", false),
            "anchored at the config's directory"
        );
        assert!(
            !ex(&["/top.env"])
                .with_base("")
                .excludes("sub/top.env", false)
        );
    }

    #[test]
    fn dot_slash_and_bad_globs() {
        let e = ex(&["./local.env"]);
        assert!(e.excludes("local.env", false) && !e.excludes("sub/local.env", false));
        let err = Exclude::new(&["a[".to_string()]).unwrap_err();
        assert!(err.starts_with("invalid glob \"a[\""), "{err}");
    }
}
