//! Case selection: `--only`/`--skip` patterns. A pattern selects a case when it is a substring
//! of the case name, equals the case's family, or — if it contains `*` or `?` — glob-matches
//! the whole name or the whole family.

/// True if `pattern` selects a case with this name and family.
pub fn matches(pattern: &str, name: &str, family: &str) -> bool {
    if pattern.contains('*') || pattern.contains('?') {
        glob(pattern.as_bytes(), name.as_bytes()) || glob(pattern.as_bytes(), family.as_bytes())
    } else {
        name.contains(pattern) || family == pattern
    }
}

/// True if the case is selected: matched by some `only` pattern (or `only` is empty) and by
/// no `skip` pattern.
pub fn selected(only: &[String], skip: &[String], name: &str, family: &str) -> bool {
    (only.is_empty() || only.iter().any(|p| matches(p, name, family)))
        && !skip.iter().any(|p| matches(p, name, family))
}

/// Whole-string glob with `*` (any run) and `?` (any one byte).
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_family_and_glob() {
        assert!(matches("excl", "open_excl_existing_eexist", "open"));
        assert!(matches("open", "tmpfile_create", "open"));
        assert!(!matches("xyz", "a", "b"));
        assert!(matches("rename", "x_y", "rename"));
        assert!(!matches("renam", "x_y", "rename"));
        assert!(matches(
            "open_*_eexist",
            "open_excl_existing_eexist",
            "open"
        ));
        assert!(!matches(
            "open_*_enoent",
            "open_excl_existing_eexist",
            "open"
        ));
        assert!(matches("ren*", "x", "rename"));
        assert!(matches("?pen*", "open_a", "open"));
        assert!(!matches("*b", "ba", "f"));
    }

    #[test]
    fn only_and_skip_combine() {
        let only = vec!["open".to_string()];
        let skip = vec!["*eexist".to_string()];
        assert!(selected(&only, &skip, "open_missing_enoent", "open"));
        assert!(!selected(&only, &skip, "open_excl_existing_eexist", "open"));
        assert!(!selected(&only, &[], "link_dir_eperm", "link"));
        assert!(selected(&[], &[], "anything", "any"));
    }
}
