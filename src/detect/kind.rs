//! What kind of file a path names. The kind decides which detectors run.

/// The kinds of file npmsweep understands beyond "any text or bytes".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// `.npmrc` or `npmrc` at any depth, and their variants (`.npmrc.bak`,
    /// `ci.npmrc`, `npmrc.txt`, `.npmrc.example`).
    Npmrc,
    /// Yarn Berry `.yarnrc.yml`.
    YarnrcYml,
    /// Yarn classic `.yarnrc`.
    YarnrcClassic,
    /// Bun `bunfig.toml`.
    Bunfig,
    /// `package-lock.json`, `npm-shrinkwrap.json`, `yarn.lock`, `pnpm-lock.yaml`, `bun.lock`.
    Lockfile,
    /// `package.json`, `pnpm-workspace.yaml`.
    PackageConfig,
    /// `.github/workflows/*.yml|yaml` directly under the root of the tree
    /// (the repository): the workflows GitHub runs.
    Workflow,
    /// `.github/workflows/*.yml|yaml` deeper down (`node_modules/`, vendored
    /// projects, imported subtrees): GitHub never runs them, so they are
    /// searched for literal credentials like any YAML file, not analysed as
    /// workflows.
    CopiedWorkflow,
    /// Composite action definition `action.yml|yaml`.
    Action,
    /// `Dockerfile`, `Containerfile`, `*.Dockerfile`, `Dockerfile.*`.
    Dockerfile,
    /// `docker-compose*.yml|yaml`, `compose.yml|yaml`.
    Compose,
    /// `.env*` (`.env`, `.env.local`, `.envrc`, …), `*.env`.
    EnvFile,
    /// Shell scripts and CI configs that assign variables (`*.sh`, `Makefile`,
    /// `Jenkinsfile`, `.gitlab-ci.yml`, …).
    Script,
    /// Anything else: only the token matcher runs.
    Other,
}

/// What a file's directories contribute to its kind. The kind of
/// `dir/name` is a function of `name` and of the context of `dir` alone, and
/// a directory's context follows from its parent's and its own name: a
/// history sweep classifies each (context, name) once, and never walks a
/// tree twice in one context, however many paths it appears under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DirContext {
    /// The top of the tree (the repository root).
    Root,
    /// Any directory that changes nothing.
    Plain,
    /// A directory named `.github`, directly at the root or deeper.
    Github { at_root: bool },
    /// `workflows` inside a `.github` (at the root: the workflows GitHub runs).
    Workflows { at_root: bool },
    /// A directory named `.circleci`.
    Circleci,
}

impl DirContext {
    /// Number of distinct contexts (for tables indexed by [`Self::index`]).
    pub const COUNT: usize = 7;

    /// The context of subdirectory `name` of a directory in this context.
    /// A name holding `/` (git refuses one, a crafted tree can hold it) is
    /// taken as the path it spells, as [`FileKind::of`] takes the joined
    /// path: `.github/workflows` as one entry is still the workflows
    /// directory.
    pub fn child(self, name: &[u8]) -> DirContext {
        name.split(|&b| b == b'/')
            .fold(self, DirContext::child_named)
    }

    fn child_named(self, name: &[u8]) -> DirContext {
        if name.eq_ignore_ascii_case(b".github") {
            DirContext::Github {
                at_root: self == DirContext::Root,
            }
        } else if name.eq_ignore_ascii_case(b"workflows")
            && let DirContext::Github { at_root } = self
        {
            DirContext::Workflows { at_root }
        } else if name.eq_ignore_ascii_case(b".circleci") {
            DirContext::Circleci
        } else {
            DirContext::Plain
        }
    }

    /// A dense index in `0..COUNT`.
    pub fn index(self) -> usize {
        match self {
            DirContext::Root => 0,
            DirContext::Plain => 1,
            DirContext::Github { at_root: false } => 2,
            DirContext::Github { at_root: true } => 3,
            DirContext::Workflows { at_root: false } => 4,
            DirContext::Workflows { at_root: true } => 5,
            DirContext::Circleci => 6,
        }
    }
}

impl FileKind {
    /// Classify a path (forward slashes, relative or absolute).
    pub fn of(path: &str) -> FileKind {
        // A leading `./` names the root itself.
        let path = path.trim_start_matches("./");
        let (dirs, name) = match path.rsplit_once('/') {
            Some((dirs, name)) => (Some(dirs), name),
            None => (None, path),
        };
        let context = dirs.map_or(DirContext::Root, |dirs| {
            dirs.split('/')
                .fold(DirContext::Root, |c, dir| c.child(dir.as_bytes()))
        });
        FileKind::in_dir(context, name)
    }

    /// Classify file `name` in a directory of context `context`.
    pub fn in_dir(context: DirContext, name: &str) -> FileKind {
        let lower = name.to_ascii_lowercase();
        let yaml = lower.ends_with(".yml") || lower.ends_with(".yaml");
        match lower.as_str() {
            ".npmrc" | "npmrc" => return FileKind::Npmrc,
            ".yarnrc.yml" | ".yarnrc.yaml" => return FileKind::YarnrcYml,
            ".yarnrc" => return FileKind::YarnrcClassic,
            "bunfig.toml" => return FileKind::Bunfig,
            "package-lock.json"
            | "npm-shrinkwrap.json"
            | "yarn.lock"
            | "pnpm-lock.yaml"
            | "bun.lock" => return FileKind::Lockfile,
            "package.json" | "pnpm-workspace.yaml" => return FileKind::PackageConfig,
            "action.yml" | "action.yaml" => return FileKind::Action,
            "dockerfile" | "containerfile" => return FileKind::Dockerfile,
            "makefile"
            | "justfile"
            | "jenkinsfile"
            | ".gitlab-ci.yml"
            | ".travis.yml"
            | "bitbucket-pipelines.yml"
            | "azure-pipelines.yml"
            | ".bashrc"
            | ".zshrc"
            | ".profile"
            | ".bash_profile" => return FileKind::Script,
            _ => {}
        }
        if is_npmrc_variant(&lower) {
            return FileKind::Npmrc;
        }
        if yaml && let DirContext::Workflows { at_root } = context {
            return if at_root {
                FileKind::Workflow
            } else {
                FileKind::CopiedWorkflow
            };
        }
        if lower.starts_with("dockerfile.")
            || lower.ends_with(".dockerfile")
            || lower.starts_with("containerfile.")
        {
            return FileKind::Dockerfile;
        }
        if yaml && (lower.starts_with("docker-compose") || lower.starts_with("compose.")) {
            return FileKind::Compose;
        }
        // `.env*` as the README says: `.env.local`, `.env-staging`, direnv's `.envrc`.
        if lower.starts_with(".env") || lower.ends_with(".env") {
            return FileKind::EnvFile;
        }
        if (context == DirContext::Circleci && yaml)
            || [
                ".sh", ".bash", ".zsh", ".ksh", ".mk", ".ps1", ".bat", ".cmd",
            ]
            .iter()
            .any(|ext| lower.ends_with(ext))
        {
            return FileKind::Script;
        }
        FileKind::Other
    }

    /// Files in which registry URLs (and credentials embedded in them) live.
    pub fn may_hold_registry_urls(self) -> bool {
        matches!(
            self,
            FileKind::Npmrc
                | FileKind::YarnrcYml
                | FileKind::YarnrcClassic
                | FileKind::Bunfig
                | FileKind::Lockfile
                | FileKind::PackageConfig
        )
    }

    /// Files where `NPM_TOKEN=<value>`-style assignments may appear: every
    /// file but the package-manager configs (their own analysers read them)
    /// and lockfiles. Source code, JSON/YAML/TOML settings, CI configs of
    /// every system, debug logs and environment dumps all hold assignments;
    /// the detector's name prefilter makes files without a credential name
    /// cost one Aho-Corasick pass.
    pub fn has_env_assignments(self) -> bool {
        !matches!(
            self,
            FileKind::Npmrc
                | FileKind::YarnrcYml
                | FileKind::YarnrcClassic
                | FileKind::Bunfig
                | FileKind::Lockfile
        )
    }

    /// Kinds parsed as configuration (malformed content is a warning).
    pub fn is_parsed_config(self) -> bool {
        !matches!(self, FileKind::Other)
    }
}

/// An npm debug log: `npm-debug.log` (npm < 5), `_logs/<date>-debug-0.log`
/// (npm >= 5, under the npm cache), or a copy of one committed by mistake.
/// Old npm versions logged the whole command line, `--//host/:_authToken=…`
/// included.
pub fn is_npm_debug_log(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    name.starts_with("npm-debug.log")
        || (name.ends_with(".log") && name.contains("-debug"))
        || (lower.contains("_logs/") && name.ends_with(".log"))
}

/// Extensions of files that mention npmrc but are code or documentation
/// (`npmrc.js`, `npmrc.md`), not npm configuration.
const NOT_CONFIG_EXTENSIONS: &[&str] = &[
    "js", "mjs", "cjs", "ts", "mts", "cts", "jsx", "tsx", "py", "rb", "go", "rs", "java", "kt",
    "sh", "bash", "ps1", "md", "markdown", "rst", "html", "json", "yml", "yaml", "toml", "lock",
    "snap",
];

/// Copies and variants of an `.npmrc`: `.npmrc.bak`, `.npmrc.local`,
/// `.npmrc.example`, `ci.npmrc`, `npmrc.txt`, `npmrc-ci`. npm reads them
/// when pointed at them (`--userconfig`, `NPM_CONFIG_USERCONFIG`), and a
/// backup holds the same credentials as the original.
fn is_npmrc_variant(lower: &str) -> bool {
    let named = lower.ends_with(".npmrc")
        || lower.starts_with(".npmrc")
        || lower.starts_with("npmrc.")
        || lower.starts_with("npmrc-")
        || lower.starts_with("npmrc_");
    let ext = lower.rsplit('.').next().unwrap_or("");
    named && (lower.ends_with("npmrc") || !NOT_CONFIG_EXTENSIONS.contains(&ext))
}

#[cfg(test)]
mod tests {
    use super::FileKind::{self, *};

    #[test]
    fn classifies_paths() {
        let cases = [
            (".npmrc", Npmrc),
            ("packages/a/.npmrc", Npmrc),
            ("etc/npmrc", Npmrc),
            (".yarnrc.yml", YarnrcYml),
            (".yarnrc", YarnrcClassic),
            ("bunfig.toml", Bunfig),
            ("package-lock.json", Lockfile),
            ("web/yarn.lock", Lockfile),
            ("package.json", PackageConfig),
            (".github/workflows/release.yml", Workflow),
            ("ci/.github/workflows/x.yaml", CopiedWorkflow),
            (
                "node_modules/pkg/.github/workflows/release.yml",
                CopiedWorkflow,
            ),
            (".github/workflows/sub/x.yml", Other),
            ("./.github/workflows/release.yml", Workflow),
            ("/.github/workflows/release.yml", CopiedWorkflow),
            (".GitHub/WORKFLOWS/release.YML", Workflow),
            (".circleci/config.yml", Script),
            ("tools/.circleci/config.yml", Script),
            (".github/.circleci/config.yml", Script),
            (".circleci/workflows/x.yml", Other),
            ("workflows/x.yml", Other),
            ("actions/setup/action.yml", Action),
            ("Dockerfile", Dockerfile),
            ("docker/api.Dockerfile", Dockerfile),
            ("Dockerfile.prod", Dockerfile),
            ("docker-compose.override.yml", Compose),
            ("compose.yaml", Compose),
            (".env", EnvFile),
            (".env.local", EnvFile),
            (".envrc", EnvFile),
            (".env-staging", EnvFile),
            ("prod.env", EnvFile),
            ("scripts/publish.sh", Script),
            ("Makefile", Script),
            ("src/main.rs", Other),
            ("README.md", Other),
            (".npmrc.bak", Npmrc),
            ("config/.npmrc.local", Npmrc),
            (".npmrc.example", Npmrc),
            ("ci.npmrc", Npmrc),
            ("npmrc.txt", Npmrc),
            ("src/npmrc.js", Other),
            ("docs/npmrc.md", Other),
        ];
        for (path, kind) in cases {
            assert_eq!(FileKind::of(path), kind, "{path}");
        }
        // One crafted tree entry spelling two directories is both.
        assert_eq!(
            super::DirContext::Root.child(b".github/workflows"),
            super::DirContext::Workflows { at_root: true }
        );
    }
}
