# Sourced by the corpus's scripts: small helpers over plain git, used the way a person works.
# Environment: ROOT (the case's scratch directory), CASE (the case's folder), REPO_<name> (bare repos).

# clone NAME [BRANCH]: a fresh work clone of repository NAME, checked out at BRANCH (default main); cd into it.
clone() {
  local var="REPO_${1//-/_}"
  local dir
  dir="$(mktemp -d "$ROOT/work-$1-XXXXXX")"
  git clone -q "${!var}" "$dir"
  cd "$dir"
  if [ -n "${2:-}" ]; then git checkout -q -B "$2" "origin/$2"; fi
}

# place FOLDER PKG: make package PKG of the work clone the case's FOLDER, or the corpus's
# _packages/FOLDER (modes and symlinks kept).
place() {
  local from="$CASE/$1"
  [ -d "$from" ] || from="$CORPUS/_packages/$1"
  rm -rf "$2"
  mkdir -p "$2"
  cp -a "$from/." "$2/"
}

# publish PKG REV: commit everything on main, tag PKG/vREV, push both (a person's approval).
publish() {
  git add -A
  git commit -qm "publish $1 v$2"
  git tag "$1/v$2"
  git push -q origin HEAD:main "$1/v$2"
}

# commit_push MESSAGE BRANCH: commit everything and push it to BRANCH.
commit_push() {
  git add -A
  git commit -qm "$1"
  git push -q origin "HEAD:refs/heads/$2"
}

# same_ref REPO A B: A and B name the same commit in repository REPO.
same_ref() {
  local var="REPO_${1//-/_}"
  [ "$(git --git-dir="${!var}" rev-parse "$2^{commit}")" = "$(git --git-dir="${!var}" rev-parse "$3^{commit}")" ]
}

# entry REPO REF PATH: "<mode> <type> <id>" of one entry, as git holds it.
entry() {
  local var="REPO_${1//-/_}"
  git --git-dir="${!var}" ls-tree --full-tree "$2" -- "$3" | cut -f1
}
