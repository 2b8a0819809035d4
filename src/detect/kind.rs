//! What kind of file a path names. The kind decides which detectors run.

/// The kinds of file npmsweep understands beyond "any text or bytes".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// `.npmrc` or `npmrc` at any depth.
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

impl FileKind {
    /// Classify a path (forward slashes, relative or absolute).
    pub fn of(path: &str) -> FileKind {
        let name = path.rsplit('/').next().unwrap_or(path);
        let lower = name.to_ascii_lowercase();
        let parent = path
            .rsplit('/')
            .nth(1)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let grandparent = path
            .rsplit('/')
            .nth(2)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
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
        if yaml && parent == "workflows" && grandparent == ".github" {
            return if path.trim_start_matches("./").matches('/').count() == 2 {
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
        if (parent == ".circleci" && yaml)
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

    /// Files where `NPM_TOKEN=<value>`-style assignments appear (including
    /// `package.json`, whose `scripts` are shell commands:
    /// `"release": "NPM_TOKEN=… npm publish"`).
    pub fn has_env_assignments(self) -> bool {
        matches!(
            self,
            FileKind::EnvFile
                | FileKind::PackageConfig
                | FileKind::Script
                | FileKind::Dockerfile
                | FileKind::Compose
                | FileKind::Workflow
                | FileKind::CopiedWorkflow
                | FileKind::Action
        )
    }

    /// Kinds parsed as configuration (malformed content is a warning).
    pub fn is_parsed_config(self) -> bool {
        !matches!(self, FileKind::Other)
    }
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
        ];
        for (path, kind) in cases {
            assert_eq!(FileKind::of(path), kind, "{path}");
        }
    }
}
