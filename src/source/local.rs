//! Local files and folders: a named file is read whatever its name; a folder is walked recursively,
//! skipping hidden entries (names starting with `.`), in sorted order so runs are reproducible.
//!
//! Each file is read once however it is reached (overlapping `--path`s, links), and a linked folder
//! already walked is not walked again, so a link loop ends. An entry inside a folder that cannot be
//! read is reported with the scan's problems; only a path named on the command line that does not
//! exist stops the run.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::{KeyInfo, Listing, ObjectRef, Selection, SourceError};

/// Lists the local objects of `selection.paths`, pruned by the selection.
pub fn list_local(selection: &Selection) -> Result<Listing, SourceError> {
    let mut walk = Walk::default();
    for path in &selection.paths {
        let path = Path::new(path);
        fs::metadata(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => SourceError::NotFound { path: path.display().to_string() },
            _ => SourceError::Io { path: path.display().to_string(), source },
        })?;
        walk.visit(path);
    }
    let mut listing = Listing { unreadable: walk.unreadable, ..Listing::default() };
    for (file, absolute, size, modified) in walk.files {
        let name = file.to_string_lossy().into_owned();
        let key = KeyInfo::parse(&absolute.to_string_lossy());
        let location = match object_store::path::Path::from_absolute_path(&absolute) {
            Ok(location) => location.to_string(),
            Err(err) => {
                listing.unreadable.push((name, err.to_string()));
                continue;
            }
        };
        if selection.may_hold(&key) {
            listing.objects.push(ObjectRef { name, location, size, key, etag: None, modified });
        } else {
            listing.pruned += 1;
        }
    }
    Ok(listing)
}

#[derive(Default)]
struct Walk {
    /// (as reached, canonical, size, modified)
    files: Vec<(PathBuf, PathBuf, u64, Option<i64>)>,
    seen: HashSet<PathBuf>,
    unreadable: Vec<(String, String)>,
}

impl Walk {
    /// Visits a path named on the command line, or a link met in a folder: resolved in full.
    fn visit(&mut self, path: &Path) {
        match fs::canonicalize(path).and_then(|c| fs::metadata(&c).map(|m| (c, m))) {
            Ok((canonical, meta)) => self.add(path, canonical, &meta),
            Err(err) => self.unreadable.push((path.display().to_string(), err.to_string())),
        }
    }

    /// Adds the file or walks the folder at `path`, whose canonical path is `canonical`.
    fn add(&mut self, path: &Path, canonical: PathBuf, meta: &fs::Metadata) {
        if !self.seen.insert(canonical.clone()) {
            return;
        }
        if meta.is_file() {
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_secs()).ok());
            self.files.push((path.to_path_buf(), canonical, meta.len(), modified));
            return;
        }
        let entries = fs::read_dir(path).and_then(|dir| dir.collect::<Result<Vec<_>, _>>());
        let mut entries = match entries {
            Ok(entries) => entries,
            Err(err) => return self.unreadable.push((path.display().to_string(), err.to_string())),
        };
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let (name, path) = (entry.file_name(), entry.path());
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            // Only a link needs resolving: any other entry of a canonical folder is canonical as it
            // is named (resolving every file cost a system call per part of its path).
            let found = entry
                .file_type()
                .and_then(|kind| if kind.is_symlink() { Ok(None) } else { entry.metadata().map(Some) });
            match found {
                Ok(Some(meta)) => self.add(&path, canonical.join(&name), &meta),
                Ok(None) => self.visit(&path),
                Err(err) => self.unreadable.push((path.display().to_string(), err.to_string())),
            }
        }
    }
}
